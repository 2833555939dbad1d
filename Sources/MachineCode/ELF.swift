/// A read-only view of an ELF64 little-endian file: header, program headers, section headers and symbols.
///
/// Used on files (the CLI's offline analysis, tests) and, through `ProgramHeader.parse`, on the program
/// headers of images already mapped in memory (what `dl_iterate_phdr` hands the runtime).
public struct ELFFile {
    public enum FileType: UInt16 { case none = 0, relocatable = 1, executable = 2, shared = 3, core = 4 }

    public struct Header: Equatable {
        public var type: UInt16
        public var machine: UInt16
        public var entry: UInt64
        public var programHeaderOffset: UInt64
        public var sectionHeaderOffset: UInt64
        public var programHeaderEntrySize: UInt16
        public var programHeaderCount: UInt16
        public var sectionHeaderEntrySize: UInt16
        public var sectionHeaderCount: UInt16
        public var sectionNameIndex: UInt16
    }

    public struct Section: Equatable {
        public var name: String
        public var type: UInt32
        public var flags: UInt64
        public var address: UInt64
        public var offset: UInt64
        public var size: UInt64
        public var link: UInt32
        public var entrySize: UInt64

        public static let symbolTable: UInt32 = 2   // SHT_SYMTAB
        public static let dynamicSymbols: UInt32 = 11 // SHT_DYNSYM
        public static let noBits: UInt32 = 8        // SHT_NOBITS
        public var isExecutable: Bool { flags & 0x4 != 0 } // SHF_EXECINSTR
    }

    public struct Symbol: Equatable {
        public var name: String
        public var value: UInt64
        public var size: UInt64
        public var info: UInt8
        public var sectionIndex: UInt16
        public var isFunction: Bool { info & 0xf == 2 } // STT_FUNC
    }

    public static let machineX86_64: UInt16 = 62
    public static let machineAArch64: UInt16 = 183

    public let bytes: UnsafeRawBufferPointer
    public let header: Header
    public let programHeaders: [ProgramHeader]
    public let sections: [Section]

    /// Parses the headers. Throws a one-line error for anything that is not a well-formed ELF64
    /// little-endian file; never traps on bad input and never allocates more than the file's size implies.
    public init(bytes: UnsafeRawBufferPointer) throws(MachineCodeError) {
        self.bytes = bytes
        guard bytes.count >= 16 else { throw .malformed("not an ELF file (\(bytes.count) bytes)") }
        guard bytes[0] == 0x7f, bytes[1] == 0x45, bytes[2] == 0x4c, bytes[3] == 0x46 else {
            throw .malformed("not an ELF file (bad magic)")
        }
        guard bytes[4] == 2 else { throw .unsupported("32-bit ELF (only ELF64 is supported)") }
        guard bytes[5] == 1 else { throw .unsupported("big-endian ELF (only little-endian is supported)") }
        guard bytes.count >= 64 else { throw .malformed("truncated ELF header (\(bytes.count) bytes)") }
        var r = ByteReader(bytes, offset: 16)
        let type = try r.u16()
        let machine = try r.u16()
        _ = try r.u32() // version
        let entry = try r.u64()
        let phoff = try r.u64()
        let shoff = try r.u64()
        _ = try r.u32() // flags
        _ = try r.u16() // ehsize
        let phentsize = try r.u16()
        let phnum = try r.u16()
        let shentsize = try r.u16()
        var shnum = try r.u16()
        let shstrndx = try r.u16()
        header = Header(type: type, machine: machine, entry: entry, programHeaderOffset: phoff,
                        sectionHeaderOffset: shoff, programHeaderEntrySize: phentsize, programHeaderCount: phnum,
                        sectionHeaderEntrySize: shentsize, sectionHeaderCount: shnum, sectionNameIndex: shstrndx)

        if phnum > 0 {
            guard phentsize >= 56 else { throw .malformed("program header entry size \(phentsize) < 56") }
            let table = try Self.slice(bytes, offset: phoff, count: UInt64(phnum) * UInt64(phentsize), what: "program headers")
            programHeaders = try ProgramHeader.parse(table, count: Int(phnum), entrySize: Int(phentsize))
        } else {
            programHeaders = []
        }

        var sections: [Section] = []
        if shoff != 0 {
            guard shentsize >= 64 else { throw .malformed("section header entry size \(shentsize) < 64") }
            if shnum == 0 {
                // Extended numbering: the real count is in section 0's sh_size.
                let first = try Self.slice(bytes, offset: shoff, count: 64, what: "section header 0")
                var r0 = ByteReader(first, offset: 32)
                let count = try r0.u64()
                guard count <= UInt64(bytes.count / 64) else { throw .malformed("section count \(count) exceeds file size") }
                shnum = UInt16(truncatingIfNeeded: min(count, 0xffff))
            }
            let table = try Self.slice(bytes, offset: shoff, count: UInt64(shnum) * UInt64(shentsize), what: "section headers")
            var raw: [(nameOffset: UInt32, Section)] = []
            raw.reserveCapacity(Int(shnum))
            for i in 0..<Int(shnum) {
                var s = ByteReader(table, offset: i * Int(shentsize))
                let nameOffset = try s.u32()
                let stype = try s.u32()
                let flags = try s.u64()
                let addr = try s.u64()
                let offset = try s.u64()
                let size = try s.u64()
                let link = try s.u32()
                _ = try s.u32() // info
                _ = try s.u64() // addralign
                let entsize = try s.u64()
                raw.append((nameOffset, Section(name: "", type: stype, flags: flags, address: addr, offset: offset,
                                                size: size, link: link, entrySize: entsize)))
            }
            var names: UnsafeRawBufferPointer? = nil
            if Int(shstrndx) < raw.count, raw[Int(shstrndx)].1.type != Section.noBits {
                let s = raw[Int(shstrndx)].1
                names = try? Self.slice(bytes, offset: s.offset, count: s.size, what: "section names")
            }
            for (nameOffset, var section) in raw {
                if let names { section.name = Self.string(in: names, at: Int(nameOffset)) ?? "" }
                sections.append(section)
            }
        }
        self.sections = sections
    }

    /// The file's bytes for `count` bytes at `offset`, or an error naming `what` if they are not all there.
    static func slice(_ bytes: UnsafeRawBufferPointer, offset: UInt64, count: UInt64, what: String) throws(MachineCodeError) -> UnsafeRawBufferPointer {
        guard offset <= UInt64(bytes.count), count <= UInt64(bytes.count) - offset else {
            throw .malformed("\(what) at offset \(offset) (+\(count)) lie outside the file (\(bytes.count) bytes)")
        }
        return UnsafeRawBufferPointer(rebasing: bytes[Int(offset)..<Int(offset + count)])
    }

    static func string(in table: UnsafeRawBufferPointer, at offset: Int) -> String? {
        guard offset >= 0, offset < table.count else { return nil }
        var end = offset
        while end < table.count, table[end] != 0 { end += 1 }
        return String(decoding: UnsafeRawBufferPointer(rebasing: table[offset..<end]), as: UTF8.self)
    }

    public func section(named name: String) -> Section? { sections.first { $0.name == name } }

    /// Whether the file has a full symbol table (`.symtab`); a stripped binary has at most `.dynsym`.
    public var hasSymbolTable: Bool { sections.contains { $0.type == Section.symbolTable } }

    /// Symbols from `.symtab` and `.dynsym` (either may be absent). Malformed tables throw.
    public func symbols() throws(MachineCodeError) -> [Symbol] {
        var result: [Symbol] = []
        for table in sections where table.type == Section.symbolTable || table.type == Section.dynamicSymbols {
            guard table.entrySize >= 24, Int(table.link) < sections.count else {
                throw .malformed("symbol table \(table.name) has entry size \(table.entrySize) or bad string table link")
            }
            let strtab = sections[Int(table.link)]
            let data = try Self.slice(bytes, offset: table.offset, count: table.size, what: "symbol table \(table.name)")
            let strings = try Self.slice(bytes, offset: strtab.offset, count: strtab.size, what: "string table \(strtab.name)")
            let count = Int(table.size / table.entrySize)
            result.reserveCapacity(result.count + count)
            for i in 0..<count {
                var r = ByteReader(data, offset: i * Int(table.entrySize))
                let nameOffset = try r.u32()
                let info = try r.u8()
                _ = try r.u8() // other
                let shndx = try r.u16()
                let value = try r.u64()
                let size = try r.u64()
                guard nameOffset != 0 else { continue }
                let name = Self.string(in: strings, at: Int(nameOffset)) ?? ""
                result.append(Symbol(name: name, value: value, size: size, info: info, sectionIndex: shndx))
            }
        }
        return result
    }

    /// The file's loadable segments as an address space: virtual address → file bytes.
    public func imageView() -> ImageView {
        var segments: [ImageView.Segment] = []
        for ph in programHeaders where ph.type == ProgramHeader.load && ph.fileSize > 0 {
            guard let data = try? Self.slice(bytes, offset: ph.offset, count: ph.fileSize, what: "segment") else { continue }
            segments.append(ImageView.Segment(address: ph.virtualAddress, bytes: data, isExecutable: ph.isExecutable))
        }
        return ImageView(segments: segments)
    }
}

/// One ELF64 program header (`Elf64_Phdr`).
public struct ProgramHeader: Equatable, Sendable {
    public var type: UInt32
    public var flags: UInt32
    public var offset: UInt64
    public var virtualAddress: UInt64
    public var fileSize: UInt64
    public var memorySize: UInt64

    public static let load: UInt32 = 1          // PT_LOAD
    public static let dynamic: UInt32 = 2       // PT_DYNAMIC
    public static let ehFrameHeader: UInt32 = 0x6474_e550 // PT_GNU_EH_FRAME
    public var isExecutable: Bool { flags & 1 != 0 } // PF_X
    public var isReadable: Bool { flags & 4 != 0 } // PF_R

    public init(type: UInt32, flags: UInt32, offset: UInt64, virtualAddress: UInt64, fileSize: UInt64, memorySize: UInt64) {
        self.type = type
        self.flags = flags
        self.offset = offset
        self.virtualAddress = virtualAddress
        self.fileSize = fileSize
        self.memorySize = memorySize
    }

    /// Parses `count` entries of `entrySize` bytes (the file's table, or the one a loaded image maps).
    public static func parse(_ table: UnsafeRawBufferPointer, count: Int, entrySize: Int = 56) throws(MachineCodeError) -> [ProgramHeader] {
        guard entrySize >= 56 else { throw .malformed("program header entry size \(entrySize) < 56") }
        var result: [ProgramHeader] = []
        result.reserveCapacity(count)
        for i in 0..<count {
            var r = ByteReader(table, offset: i * entrySize)
            let type = try r.u32()
            let flags = try r.u32()
            let offset = try r.u64()
            let vaddr = try r.u64()
            _ = try r.u64() // paddr
            let filesz = try r.u64()
            let memsz = try r.u64()
            result.append(ProgramHeader(type: type, flags: flags, offset: offset, virtualAddress: vaddr,
                                        fileSize: filesz, memorySize: memsz))
        }
        return result
    }
}
