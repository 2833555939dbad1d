/// An address space made of segments: virtual address → bytes.
///
/// The same parsers run on a file (segments point at the file's bytes) and on an image mapped in the
/// running process (segments point at live memory, address = the object's own virtual address).
public struct ImageView {
    public struct Segment {
        public var address: UInt64
        public var bytes: UnsafeRawBufferPointer
        public var isExecutable: Bool

        public init(address: UInt64, bytes: UnsafeRawBufferPointer, isExecutable: Bool) {
            self.address = address
            self.bytes = bytes
            self.isExecutable = isExecutable
        }

        public var end: UInt64 { address &+ UInt64(bytes.count) }
        public func contains(_ address: UInt64) -> Bool { address >= self.address && address < end }
    }

    public let segments: [Segment]

    public init(segments: [Segment]) {
        self.segments = segments.sorted { $0.address < $1.address }
    }

    public func segment(containing address: UInt64) -> Segment? {
        segments.first { $0.contains(address) }
    }

    /// The bytes from `address` to the end of its segment, or nil if it is not mapped.
    public func bytes(from address: UInt64) -> UnsafeRawBufferPointer? {
        guard let s = segment(containing: address) else { return nil }
        let start = Int(address - s.address)
        return UnsafeRawBufferPointer(rebasing: s.bytes[start...])
    }

    /// The bytes of `range`, or nil if they are not all inside one segment (a corrupt unwind table can
    /// claim any range, so the size is checked before it becomes an `Int`).
    public func bytes(of range: FunctionRange) -> UnsafeRawBufferPointer? {
        guard range.end >= range.start, let rest = bytes(from: range.start), range.end - range.start <= UInt64(rest.count) else { return nil }
        return UnsafeRawBufferPointer(rebasing: rest[0..<Int(range.end - range.start)])
    }

    /// Exactly `count` bytes at `address`, or nil if they are not all inside one segment.
    public func bytes(at address: UInt64, count: Int) -> UnsafeRawBufferPointer? {
        guard let rest = bytes(from: address), count >= 0, rest.count >= count else { return nil }
        return UnsafeRawBufferPointer(rebasing: rest[0..<count])
    }
}
