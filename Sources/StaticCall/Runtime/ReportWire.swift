internal import MachineCode

/// A report in bytes, to cross from the copy of StaticCall that serves the process to another copy
/// (ProcessRuntime). Both sides share the runtime ABI version, so the layout needs no tags: fixed-width
/// little-endian integers and length-prefixed UTF-8, in field order.
enum ReportWire {
    static func encode(_ report: StaticCallReport) -> [UInt8] {
        var w = Writer()
        w.string(report.mode.rawValue)
        w.optional(report.reason)
        w.optional(report.writer)
        w.int(report.emulatedTraps)
        w.int(report.lateTraps)
        w.int(report.keys.count)
        for k in report.keys {
            w.string(k.name)
            w.string(k.target)
            w.string(k.mode.rawValue)
            w.int(k.sitesFound)
            w.int(k.sitesPatched)
            w.int(k.patchedSites.count)
            for a in k.patchedSites { w.int(Int(bitPattern: a)) }
            w.int(k.unpatched.count)
            for u in k.unpatched {
                w.int(Int(bitPattern: u.address))
                w.string(u.reason)
            }
            w.int(k.updates)
            w.int(k.slowPathCalls)
            w.optional(k.problem)
            w.int(k.notes.count)
            for n in k.notes { w.string(n) }
        }
        return w.bytes
    }

    /// Nil if the bytes are not a whole report (never expected between copies of one ABI).
    static func decode(_ bytes: UnsafeRawBufferPointer) -> StaticCallReport? {
        var r = Reader(bytes: bytes)
        guard let mode = r.string().flatMap(StaticCallMode.init(rawValue:)), let reason = r.optional(),
              let writer = r.optional(), let emulated = r.int(), let late = r.int(), let count = r.count() else { return nil }
        var keys: [StaticCallReport.Key] = []
        for _ in 0..<count {
            guard let name = r.string(), let target = r.string(), let keyMode = r.string().flatMap(StaticCallMode.init(rawValue:)),
                  let found = r.int(), let patched = r.int(), let patchedCount = r.count() else { return nil }
            var patchedSites: [UInt] = []
            for _ in 0..<patchedCount {
                guard let a = r.int() else { return nil }
                patchedSites.append(UInt(bitPattern: a))
            }
            guard let unpatchedCount = r.count() else { return nil }
            var unpatched: [(address: UInt, reason: String)] = []
            for _ in 0..<unpatchedCount {
                guard let a = r.int(), let why = r.string() else { return nil }
                unpatched.append((UInt(bitPattern: a), why))
            }
            guard let updates = r.int(), let slow = r.int(), let problem = r.optional(), let noteCount = r.count() else { return nil }
            var notes: [String] = []
            for _ in 0..<noteCount {
                guard let n = r.string() else { return nil }
                notes.append(n)
            }
            keys.append(StaticCallReport.Key(name: name, target: target, mode: keyMode, sitesFound: found, sitesPatched: patched,
                                             patchedSites: patchedSites, unpatched: unpatched, updates: updates,
                                             slowPathCalls: slow, problem: problem, notes: notes))
        }
        guard r.atEnd else { return nil }
        return StaticCallReport(keys: keys, mode: mode, reason: reason, writer: writer, emulatedTraps: emulated, lateTraps: late)
    }

    private struct Writer {
        var bytes: [UInt8] = []
        mutating func int(_ v: Int) { withUnsafeBytes(of: UInt64(bitPattern: Int64(v)).littleEndian) { bytes += $0 } }
        mutating func string(_ s: String) {
            let utf8 = Array(s.utf8)
            int(utf8.count)
            bytes += utf8
        }
        mutating func optional(_ s: String?) {
            bytes.append(s == nil ? 0 : 1)
            if let s { string(s) }
        }
    }

    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        var offset = 0
        var atEnd: Bool { offset == bytes.count }
        mutating func int() -> Int? {
            guard offset + 8 <= bytes.count else { return nil }
            let v = bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            offset += 8
            return Int(Int64(bitPattern: UInt64(littleEndian: v)))
        }
        mutating func count() -> Int? {
            guard let n = int(), n >= 0, n <= bytes.count else { return nil }
            return n
        }
        mutating func string() -> String? {
            guard let n = count(), offset + n <= bytes.count else { return nil }
            defer { offset += n }
            return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)]), as: UTF8.self)
        }
        /// `.some(nil)` for an absent string, nil for bytes that are not an optional string.
        mutating func optional() -> String?? {
            guard offset < bytes.count else { return nil }
            offset += 1
            if bytes[offset - 1] == 0 { return .some(nil) }
            guard let s = string() else { return nil }
            return .some(s)
        }
    }
}
