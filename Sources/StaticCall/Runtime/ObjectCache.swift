internal import MachineCode

/// What the runtime knows about one loaded object: the shared discovery over its live image (its unwind
/// index built once), its file, its trampoline symbols. The kernel's per-module static_call_mod, found
/// lazily instead of from an objtool section.
final class ObjectCache {
    let info: LoadedObjectInfo
    let finder: SiteFinder

    init(_ info: LoadedObjectInfo) {
        self.info = info
        self.finder = SiteFinder(image: info.liveImage, ehFrameHeader: info.ehFrameHeader,
                                 objectName: info.name.isEmpty ? "the executable" : info.name)
    }

    /// The file behind this object's text, for page remapping (opened and checked on first use; a
    /// transient failure is not remembered).
    var mappedFile: Result<MappedFile, PatchError> {
        if let known = mappedFileCache { return known }
        let result = Result { () throws(PatchError) in try MappedFile(info) }
        if case let .failure(error) = result, error.isTransient { return result }
        mappedFileCache = result
        return result
    }
    private var mappedFileCache: Result<MappedFile, PatchError>?

    var displayName: String { info.name.isEmpty ? "<executable>" : info.name }

    /// The trampoline symbols of this object's file (`.symtab`, else `.dynsym`), and those of the
    /// optimizer's specialized copies of trampolines, by loaded address (every name at an address, so
    /// that merged trampolines are seen): read once, and only when following jumps
    /// from a key's thunk does not reach a plain trampoline (an instrumented or unoptimized build). Only
    /// from the very file that is mapped (the same check as for page remapping): symbols of a file
    /// replaced on disk would name the wrong addresses.
    lazy var trampolineSymbols: [UInt64: [String]] = {
        guard case .success = mappedFile else { return [:] }
        var result: [UInt64: [String]] = [:]
        for s in functionSymbols
        where s.name.hasPrefix(TrampolineSymbol.prefix) || TrampolineSymbol.specializedTrampoline(s.name) != nil {
            result[s.start &+ info.bias, default: []].append(s.name)
        }
        return result
    }()

    /// Every function symbol of this object's file (`.symtab`, else `.dynsym`), sorted by address: read
    /// once, when the report names a target here or the trampoline is looked up by its symbol.
    lazy var functionSymbols: [(start: UInt64, size: UInt64, name: String)] =
        Symbolizer.functionSymbols(info.name.isEmpty ? "/proc/self/exe" : info.name)

    /// The function containing `address`, from the unwind index.
    func function(containing address: UInt64) -> FunctionRange? { finder.function(containing: address) }

    /// The bytes of the function that starts exactly at `address`, or nil.
    func functionBytes(startingAt address: UInt64) -> UnsafeRawBufferPointer? { finder.functionBytes(startingAt: address) }

    /// The sites of `trampolines` in this object, each proven or with its reason.
    func discover(trampolines: [UInt64]) -> [(candidate: SiteCandidate, proof: SiteProof)] { finder.sites(of: trampolines) }
}
