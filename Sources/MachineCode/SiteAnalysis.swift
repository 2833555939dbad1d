/// Offline analysis of an ELF file, like objtool's view of static calls: every trampoline the macros
/// generated (recognised by its symbol name) and every call and tail-call site of it, with whether the
/// runtime would patch it. Pure: bytes in, report out (the `staticcall sites` command prints it).
public struct SiteAnalysis: Equatable, Sendable {
    public struct Site: Equatable, Sendable {
        public var address: UInt64
        public var kind: SiteKind
        public var patchable: Bool
        public var reason: String?
    }

    public struct Trampoline: Equatable, Sendable {
        public var symbol: String
        public var name: String
        public var address: UInt64
        public var sites: [Site]
    }

    public var trampolines: [Trampoline]

    /// Symbols of trampolines start with this (the `__dtrace` prefix keeps LLVM from merging them).
    public static let symbolPrefix = TrampolineSymbol.prefix

    /// Analyses an ELF file's bytes. Throws a one-line error for anything that is not an x86-64 ELF64
    /// file this can read, or that has no symbol table (trampolines are found by their names).
    public static func analyse(_ bytes: UnsafeRawBufferPointer) throws(MachineCodeError) -> SiteAnalysis {
        let elf = try ELFFile(bytes: bytes)
        guard elf.header.machine == ELFFile.machineX86_64 else {
            throw .unsupported("machine \(elf.header.machine) (only x86-64 call sites are analysed)")
        }
        guard elf.hasSymbolTable else {
            throw .unsupported("stripped: the file has no .symtab, and trampolines are found by their symbol names, so none can be listed")
        }
        let allSymbols = try elf.symbols()
        let symbols = allSymbols.filter { $0.isFunction && $0.value != 0 && TrampolineSymbol.isTrampoline($0.name) }
        var byAddress: [UInt64: ELFFile.Symbol] = [:]
        for s in symbols where byAddress[s.value] == nil { byAddress[s.value] = s }
        guard !byAddress.isEmpty else { return SiteAnalysis(trampolines: []) }

        // Specialized copies of trampolines (their call sites call the copy, whose signature no target
        // has): each by the address of the trampoline it was made from.
        let trampolineAt = Dictionary(symbols.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
        var copies: [UInt64: UInt64] = [:]
        for s in allSymbols where s.isFunction && s.value != 0 && byAddress[s.value] == nil {
            if let original = TrampolineSymbol.specializedTrampoline(s.name).flatMap({ trampolineAt[$0] }) { copies[s.value] = original }
        }

        let header = elf.programHeaders.first { $0.type == ProgramHeader.ehFrameHeader }?.virtualAddress
        let finder = SiteFinder(image: elf.imageView(), ehFrameHeader: header, objectName: "the file")
        let functions = FunctionSymbols(allSymbols.filter(\.isFunction))
        var sites: [UInt64: [Site]] = [:]
        for (candidate, proof) in finder.sites(of: Array(byAddress.keys) + Array(copies.keys)) {
            let function = functions.name(containing: candidate.address)
            // The registration thunk's branch hands out the trampoline's address; it is not a call site.
            if let function, TrampolineSymbol.isRegistrationThunk(function) { continue }
            if let original = copies[candidate.trampoline] {
                // The trampoline itself (now a thunk to its copy) and copies branching to each other are
                // not call sites of the program.
                if let function, function.contains(TrampolineSymbol.prefix) { continue }
                sites[original, default: []].append(Site(
                    address: candidate.address, kind: candidate.kind, patchable: false,
                    reason: "calls a specialized copy of the trampoline (the optimizer changed its signature, as for an existential parameter not written with `any`): no target of the key can be called from here"))
                continue
            }
            let site: Site
            switch proof {
            case .proven: site = Site(address: candidate.address, kind: candidate.kind, patchable: true, reason: nil)
            case let .unproven(why): site = Site(address: candidate.address, kind: candidate.kind, patchable: false, reason: why)
            }
            sites[candidate.trampoline, default: []].append(site)
        }
        let trampolines = byAddress.values.sorted { $0.value < $1.value }.map { s in
            Trampoline(symbol: s.name, name: displayName(of: s.name), address: s.value,
                       sites: (sites[s.value] ?? []).sorted { $0.address < $1.address })
        }
        return SiteAnalysis(trampolines: trampolines)
    }

    /// A readable name for a trampoline symbol: `__dtrace_staticcall_Codec_encode_1a2b…` → `Codec.encode`,
    /// `__dtrace_staticcall_key_tracing_…` → `tracing (static key)`.
    public static func displayName(of symbol: String) -> String {
        let rest = TrampolineSymbol.namePart(of: symbol).name
        if rest.hasPrefix("key_") { return rest.dropFirst(4) + " (static key)" }
        return rest.split(separator: "_", omittingEmptySubsequences: false).joined(separator: ".")
    }
}

/// Function symbols by address, to tell which one holds an address.
private struct FunctionSymbols {
    private let ranges: [(start: UInt64, end: UInt64, name: String)]

    init(_ symbols: [ELFFile.Symbol]) {
        ranges = symbols.filter { $0.size > 0 }.map { ($0.value, $0.value &+ $0.size, $0.name) }.sorted { $0.start < $1.start }
    }

    /// The name of a symbol whose range holds `address` (the last one starting at or before it).
    func name(containing address: UInt64) -> String? {
        var low = 0, high = ranges.count // first range starting after `address`
        while low < high {
            let mid = (low + high) / 2
            if ranges[mid].start <= address { low = mid + 1 } else { high = mid }
        }
        return low > 0 && address < ranges[low - 1].end ? ranges[low - 1].name : nil
    }
}
