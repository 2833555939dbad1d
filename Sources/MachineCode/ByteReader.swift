/// Bounds-checked little-endian reads over a byte buffer.
///
/// Every parser in this module reads untrusted bytes (a file given to the CLI, or a mapped image whose
/// tables could be corrupt), so every read is checked and a short read is an error, never a trap.
public struct ByteReader {
    public let bytes: UnsafeRawBufferPointer
    public var offset: Int

    public init(_ bytes: UnsafeRawBufferPointer, offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    public var remaining: Int { max(0, bytes.count - offset) }

    @inline(__always)
    func check(_ count: Int) throws(MachineCodeError) {
        guard offset >= 0, count >= 0, count <= bytes.count, offset <= bytes.count - count else {
            throw .truncated(at: offset, wanted: count)
        }
    }

    public mutating func u8() throws(MachineCodeError) -> UInt8 {
        try check(1)
        defer { offset += 1 }
        return bytes[offset]
    }

    public mutating func u16() throws(MachineCodeError) -> UInt16 {
        try check(2)
        defer { offset += 2 }
        return bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self).littleEndian
    }

    public mutating func u32() throws(MachineCodeError) -> UInt32 {
        try check(4)
        defer { offset += 4 }
        return bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self).littleEndian
    }

    public mutating func u64() throws(MachineCodeError) -> UInt64 {
        try check(8)
        defer { offset += 8 }
        return bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self).littleEndian
    }

    public mutating func uleb128() throws(MachineCodeError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try u8()
            if shift < 64 { result |= UInt64(byte & 0x7f) << shift }
            shift += 7
            if byte & 0x80 == 0 { return result }
            if shift > 70 { throw .malformed("LEB128 value longer than 10 bytes at \(offset)") }
        }
    }

    public mutating func sleb128() throws(MachineCodeError) -> Int64 {
        var result: Int64 = 0
        var shift: Int64 = 0
        var byte: UInt8
        repeat {
            byte = try u8()
            if shift < 64 { result |= Int64(byte & 0x7f) << shift }
            shift += 7
            if shift > 70 { throw .malformed("LEB128 value longer than 10 bytes at \(offset)") }
        } while byte & 0x80 != 0
        if shift < 64, byte & 0x40 != 0 { result |= -(Int64(1) << shift) }
        return result
    }

    /// A NUL-terminated string starting at the current offset.
    public mutating func cString(limit: Int = 4096) throws(MachineCodeError) -> String {
        let start = offset
        var end = start
        while true {
            guard end < bytes.count else { throw .truncated(at: start, wanted: end - start + 1) }
            if bytes[end] == 0 { break }
            end += 1
            if end - start > limit { throw .malformed("string longer than \(limit) bytes at \(start)") }
        }
        offset = end + 1
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
    }
}

/// Errors from the parsers in this module. Each is a fact about the input, worded for a one-line report.
public enum MachineCodeError: Error, Equatable, CustomStringConvertible {
    case truncated(at: Int, wanted: Int)
    case malformed(String)
    case unsupported(String)

    public var description: String {
        switch self {
        case let .truncated(at, wanted): return "truncated: needed \(wanted) bytes at offset \(at)"
        case let .malformed(what): return "malformed: \(what)"
        case let .unsupported(what): return "unsupported: \(what)"
        }
    }
}
