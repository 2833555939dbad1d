/// Parsers for the procfs files the runtime reads about its own process. Pure: text in, facts out
/// (the runtime reads the files; see `proc(5)`).

/// One line of `/proc/<pid>/maps`: a mapping, its protection, and the file behind it.
public struct MappedRegion: Equatable, Sendable {
    public var start: UInt64
    public var end: UInt64
    public var readable: Bool
    public var writable: Bool
    public var executable: Bool
    public var isPrivate: Bool
    /// Offset in the file of `start`.
    public var offset: UInt64
    public var deviceMajor: UInt32
    public var deviceMinor: UInt32
    public var inode: UInt64
    /// The file's path, a pseudo-name such as `[stack]`, or empty for anonymous memory.
    public var path: String

    public init(start: UInt64, end: UInt64, readable: Bool, writable: Bool, executable: Bool, isPrivate: Bool,
                offset: UInt64, deviceMajor: UInt32, deviceMinor: UInt32, inode: UInt64, path: String) {
        self.start = start
        self.end = end
        self.readable = readable
        self.writable = writable
        self.executable = executable
        self.isPrivate = isPrivate
        self.offset = offset
        self.deviceMajor = deviceMajor
        self.deviceMinor = deviceMinor
        self.inode = inode
        self.path = path
    }

    public func contains(_ address: UInt64) -> Bool { address >= start && address < end }

    /// Parses one line, e.g. `7f2a1c000000-7f2a1c021000 r-xp 00001000 fe:00 1234 /usr/lib/libx.so`;
    /// nil if the line is not of that form.
    public init?(line: Substring) {
        var fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true).makeIterator()
        guard let range = fields.next(), let perms = fields.next(), let offset = fields.next(),
              let device = fields.next(), let inode = fields.next() else { return nil }
        let bounds = range.split(separator: "-")
        let dev = device.split(separator: ":")
        let p = Array(perms.utf8)
        guard bounds.count == 2, let start = UInt64(bounds[0], radix: 16), let end = UInt64(bounds[1], radix: 16), start <= end,
              p.count == 4, let off = UInt64(offset, radix: 16), dev.count == 2,
              let major = UInt32(dev[0], radix: 16), let minor = UInt32(dev[1], radix: 16), let ino = UInt64(inode) else { return nil }
        let path = fields.next().map { String($0.drop { $0 == " " }) } ?? ""
        self.init(start: start, end: end, readable: p[0] == UInt8(ascii: "r"), writable: p[1] == UInt8(ascii: "w"),
                  executable: p[2] == UInt8(ascii: "x"), isPrivate: p[3] == UInt8(ascii: "p"), offset: off,
                  deviceMajor: major, deviceMinor: minor, inode: ino, path: path)
    }

    /// Every well-formed line of a maps file.
    public static func parse(_ text: String) -> [MappedRegion] {
        text.split(separator: "\n").compactMap { MappedRegion(line: $0) }
    }
}

/// The fields of `/proc/<pid>/status` (or `/proc/<pid>/task/<tid>/status`) the runtime needs.
public struct ProcessStatus: Equatable, Sendable {
    /// The pid of the process tracing this one (a debugger, strace), or 0.
    public var tracerPid: Int?
    /// Signals this thread blocks (`SigBlk`): bit `n - 1` for signal `n`.
    public var blockedSignals: UInt64?

    public init(tracerPid: Int? = nil, blockedSignals: UInt64? = nil) {
        self.tracerPid = tracerPid
        self.blockedSignals = blockedSignals
    }

    public init(text: String) {
        self.init()
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let value = line[line.index(after: colon)...].drop { $0 == " " || $0 == "\t" }
            switch line[..<colon] {
            case "TracerPid": tracerPid = Int(value)
            case "SigBlk": blockedSignals = UInt64(value, radix: 16)
            default: continue
            }
        }
    }

    /// Whether the thread blocks `signal` (1...64); false when the field is missing.
    public func blocks(_ signal: Int32) -> Bool {
        guard let mask = blockedSignals, signal >= 1, signal <= 64 else { return false }
        return mask & (1 << UInt64(signal - 1)) != 0
    }
}
