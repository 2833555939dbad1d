/// A function's address range, as its frame description entry (FDE) gives it: `[start, end)`.
public struct FunctionRange: Equatable, Hashable, Sendable, Comparable {
    public var start: UInt64
    public var end: UInt64
    public init(start: UInt64, end: UInt64) { self.start = start; self.end = end }
    public func contains(_ address: UInt64) -> Bool { address >= start && address < end }
    public static func < (a: Self, b: Self) -> Bool { a.start < b.start }
}

/// The `.eh_frame_hdr` binary-search table (the one `PT_GNU_EH_FRAME` points at) and the FDEs it indexes.
///
/// This is how the runtime knows where a function starts: the unwinder's own table, present in every
/// Swift binary on Linux (Swift needs it for unwinding), and mapped in memory with the image.
public struct EHFrameIndex {
    public let image: ImageView
    public let headerAddress: UInt64
    public let count: Int
    let tableAddress: UInt64
    let table: UnsafeRawBufferPointer
    let entrySize: Int
    let tableEncoding: UInt8

    /// Parses the header at `headerAddress` (an address in `image`).
    public init(image: ImageView, headerAddress: UInt64) throws(MachineCodeError) {
        self.image = image
        self.headerAddress = headerAddress
        guard let headerBytes = image.bytes(from: headerAddress) else {
            throw .malformed(".eh_frame_hdr at 0x\(String(headerAddress, radix: 16)) is not mapped")
        }
        var r = ByteReader(headerBytes)
        let version = try r.u8()
        guard version == 1 else { throw .unsupported(".eh_frame_hdr version \(version)") }
        let framePointerEncoding = try r.u8()
        let countEncoding = try r.u8()
        let tableEncoding = try r.u8()
        _ = try Self.readEncoded(&r, framePointerEncoding, base: headerAddress, dataBase: headerAddress)
        guard countEncoding != 0xff, tableEncoding != 0xff,
              let rawCount = try Self.readEncoded(&r, countEncoding, base: headerAddress, dataBase: headerAddress)
        else { throw .unsupported(".eh_frame_hdr without a search table") }
        let entrySize: Int
        switch tableEncoding & 0x0f {
        case 0x03, 0x0b: entrySize = 8   // udata4 / sdata4
        case 0x04, 0x0c: entrySize = 16  // udata8 / sdata8
        default: throw .unsupported(".eh_frame_hdr table encoding 0x\(String(tableEncoding, radix: 16))")
        }
        let tableAddress = headerAddress + UInt64(r.offset)
        let available = headerBytes.count - r.offset
        guard rawCount <= UInt64(available / entrySize) else {
            throw .malformed(".eh_frame_hdr claims \(rawCount) entries but only \(available / entrySize) fit")
        }
        self.count = Int(rawCount)
        self.tableAddress = tableAddress
        self.table = UnsafeRawBufferPointer(rebasing: headerBytes[r.offset..<(r.offset + Int(rawCount) * entrySize)])
        self.entrySize = entrySize
        self.tableEncoding = tableEncoding
    }

    /// Table entry `i`: the function start it sorts by, and the address of its FDE.
    public func entry(_ i: Int) -> (location: UInt64, fde: UInt64) {
        let off = i * entrySize
        let base = tableEncoding & 0x70 == 0x30 ? headerAddress : (tableEncoding & 0x70 == 0x10 ? tableAddress + UInt64(off) : 0)
        let a: UInt64, b: UInt64
        switch tableEncoding & 0x0f {
        case 0x0b: a = UInt64(bitPattern: Int64(table.loadUnaligned(fromByteOffset: off, as: Int32.self)))
                   b = UInt64(bitPattern: Int64(table.loadUnaligned(fromByteOffset: off + 4, as: Int32.self)))
        case 0x03: a = UInt64(table.loadUnaligned(fromByteOffset: off, as: UInt32.self))
                   b = UInt64(table.loadUnaligned(fromByteOffset: off + 4, as: UInt32.self))
        default:   a = table.loadUnaligned(fromByteOffset: off, as: UInt64.self)
                   b = table.loadUnaligned(fromByteOffset: off + 8, as: UInt64.self)
        }
        return (base &+ a, base &+ b)
    }

    /// The function whose FDE covers `address`, or nil if none does.
    public func function(containing address: UInt64) throws(MachineCodeError) -> FunctionRange? {
        var lo = 0, hi = count
        while lo < hi {
            let mid = (lo + hi) / 2
            if entry(mid).location <= address { lo = mid + 1 } else { hi = mid }
        }
        guard lo > 0 else { return nil }
        let range = try functionRange(fde: entry(lo - 1).fde)
        return range.contains(address) ? range : nil
    }

    /// Every function the table indexes, in address order. Entries whose FDE is malformed are skipped.
    public func allFunctions() -> [FunctionRange] {
        var result: [FunctionRange] = []
        result.reserveCapacity(count)
        for i in 0..<count {
            if let r = try? functionRange(fde: entry(i).fde), r.end > r.start { result.append(r) }
        }
        return result
    }

    /// Reads the FDE at `fde` (and its CIE, for the pointer encoding) and returns its range.
    public func functionRange(fde: UInt64) throws(MachineCodeError) -> FunctionRange {
        guard let bytes = image.bytes(from: fde) else { throw .malformed("FDE at 0x\(String(fde, radix: 16)) is not mapped") }
        var r = ByteReader(bytes)
        var length = UInt64(try r.u32())
        if length == 0xffff_ffff { length = try r.u64() }
        guard length >= 8, length <= UInt64(r.remaining) else { throw .malformed("FDE at 0x\(String(fde, radix: 16)) has length \(length)") }
        let ciePointerAddress = fde + UInt64(r.offset)
        let ciePointer = UInt64(try r.u32())
        guard ciePointer != 0, ciePointer <= ciePointerAddress else { throw .malformed("FDE at 0x\(String(fde, radix: 16)) has no CIE") }
        let encoding = try pointerEncoding(cie: ciePointerAddress - ciePointer)
        let startField = fde + UInt64(r.offset)
        guard let start = try Self.readEncoded(&r, encoding, base: startField, dataBase: headerAddress),
              let size = try Self.readEncoded(&r, encoding & 0x0f, base: 0, dataBase: 0)
        else { throw .malformed("FDE at 0x\(String(fde, radix: 16)) has an omitted address") }
        let (end, overflow) = start.addingReportingOverflow(size)
        guard !overflow else { throw .malformed("FDE at 0x\(String(fde, radix: 16)) range overflows") }
        return FunctionRange(start: start, end: end)
    }

    /// The FDE pointer encoding a CIE declares with its 'R' augmentation (absolute pointers if none).
    func pointerEncoding(cie: UInt64) throws(MachineCodeError) -> UInt8 {
        guard let bytes = image.bytes(from: cie) else { throw .malformed("CIE at 0x\(String(cie, radix: 16)) is not mapped") }
        var r = ByteReader(bytes)
        var length = UInt64(try r.u32())
        if length == 0xffff_ffff { length = try r.u64() }
        guard length <= UInt64(r.remaining) else { throw .malformed("CIE at 0x\(String(cie, radix: 16)) is truncated") }
        guard try r.u32() == 0 else { throw .malformed("CIE at 0x\(String(cie, radix: 16)) has a non-zero id") }
        let version = try r.u8()
        guard version == 1 || version == 3 else { throw .unsupported("CIE version \(version)") }
        // The augmentation string, read as bytes (this runs once per function looked up).
        var augmentation: [UInt8] = []
        while true {
            let c = try r.u8()
            if c == 0 { break }
            augmentation.append(c)
            if augmentation.count > 16 { throw .malformed("CIE at 0x\(String(cie, radix: 16)) has an overlong augmentation") }
        }
        if augmentation.starts(with: [UInt8(ascii: "e"), UInt8(ascii: "h")]) { _ = try r.u64() }
        _ = try r.uleb128() // code alignment
        _ = try r.sleb128() // data alignment
        if version == 1 { _ = try r.u8() } else { _ = try r.uleb128() } // return address register
        guard augmentation.first == UInt8(ascii: "z") else { return 0 }
        _ = try r.uleb128() // augmentation data length
        for ch in augmentation.dropFirst() {
            switch ch {
            case UInt8(ascii: "R"): return try r.u8()
            case UInt8(ascii: "L"): _ = try r.u8()
            case UInt8(ascii: "P"):
                let enc = try r.u8()
                _ = try Self.readEncoded(&r, enc & 0x7f, base: 0, dataBase: 0)
            case UInt8(ascii: "S"), UInt8(ascii: "B"), UInt8(ascii: "G"): continue
            default: throw .unsupported("CIE augmentation \"\(String(decoding: augmentation, as: UTF8.self))\"")
            }
        }
        return 0
    }

    /// Reads a DWARF exception-header pointer (`DW_EH_PE_*`). `base` is the field's own address (pcrel),
    /// `dataBase` the `.eh_frame_hdr` address (datarel). Returns nil for `DW_EH_PE_omit`.
    static func readEncoded(_ r: inout ByteReader, _ encoding: UInt8, base: UInt64, dataBase: UInt64) throws(MachineCodeError) -> UInt64? {
        if encoding == 0xff { return nil }
        let value: UInt64
        switch encoding & 0x0f {
        case 0x00, 0x04: value = try r.u64()
        case 0x01: value = try r.uleb128()
        case 0x02: value = UInt64(try r.u16())
        case 0x03: value = UInt64(try r.u32())
        case 0x09: value = UInt64(bitPattern: try r.sleb128())
        case 0x0a: value = UInt64(bitPattern: Int64(Int16(bitPattern: try r.u16())))
        case 0x0b: value = UInt64(bitPattern: Int64(Int32(bitPattern: try r.u32())))
        case 0x0c: value = try r.u64()
        default: throw .unsupported("pointer encoding 0x\(String(encoding, radix: 16))")
        }
        switch encoding & 0x70 {
        case 0x00: return value
        case 0x10: return base &+ value
        case 0x30: return dataBase &+ value
        default: throw .unsupported("pointer application 0x\(String(encoding & 0x70, radix: 16))")
        }
    }
}
