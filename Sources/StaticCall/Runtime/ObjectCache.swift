import MachineCode

/// What the runtime knows about one loaded object: its live image and its unwind index, built once.
/// The kernel's per-module static_call_mod, found lazily instead of from an objtool section.
final class ObjectCache {
    let info: LoadedObjectInfo
    let image: ImageView
    let index: EHFrameIndex?
    let indexError: String?

    init(_ info: LoadedObjectInfo) {
        self.info = info
        self.image = info.liveImage
        if let header = info.ehFrameHeader {
            do {
                index = try EHFrameIndex(image: image, headerAddress: header)
                indexError = nil
            } catch {
                index = nil
                indexError = "\(info.name.isEmpty ? "executable" : info.name): .eh_frame_hdr: \(error)"
            }
        } else {
            index = nil
            indexError = "\(info.name.isEmpty ? "executable" : info.name) has no PT_GNU_EH_FRAME"
        }
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

    /// The trampoline symbols of this object's file (`.symtab`, else `.dynsym`), by loaded address (every
    /// name at an address, so that merged trampolines are seen): read once, and only when following jumps
    /// from a key's thunk does not reach a plain trampoline (an instrumented or unoptimized build). Only
    /// from the very file that is mapped (the same check as for page remapping): symbols of a file
    /// replaced on disk would name the wrong addresses.
    lazy var trampolineSymbols: [UInt64: [String]] = {
        guard case .success = mappedFile else { return [:] }
        var result: [UInt64: [String]] = [:]
        for s in Symbolizer.functionSymbols(info.name.isEmpty ? "/proc/self/exe" : info.name) where s.name.hasPrefix(TrampolineSymbol.prefix) {
            result[s.start &+ info.bias, default: []].append(s.name)
        }
        return result
    }()

    /// The function containing `address`, from the unwind index.
    func function(containing address: UInt64) -> FunctionRange? {
        guard let index else { return nil }
        return try? index.function(containing: address)
    }

    /// The bytes of the function that starts exactly at `address`, or nil.
    func functionBytes(startingAt address: UInt64) -> UnsafeRawBufferPointer? {
        guard let range = function(containing: address), range.start == address else { return nil }
        return image.bytes(of: range)
    }

    /// Scans the executable segments for call/jmp rel32 to any of `trampolines`, and proves each.
    func discover(trampolines: [UInt64]) -> [(SiteCandidate, SiteProof)] {
        var candidates: [SiteCandidate] = []
        for segment in image.segments where segment.isExecutable {
            candidates += SiteDiscovery.scan(segment.bytes, at: segment.address, trampolines: trampolines)
        }
        guard let index else {
            return candidates.map { ($0, .unproven(indexError ?? "no unwind index")) }
        }
        return Array(zip(candidates, SiteDiscovery.prove(candidates, index: index)))
    }
}
