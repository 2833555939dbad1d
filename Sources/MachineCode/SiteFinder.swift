/// The one discovery of call sites, used by the runtime (on an object's live image), by `staticcall
/// sites` (on an ELF file) and by the benchmarks (through the runtime): an object's image and its unwind
/// index, built once; a scan of its executable segments for `call`/`jmp rel32` to given trampolines; and
/// the proof of each candidate against .eh_frame. The kernel gets the same list from objtool's
/// `.static_call_sites` section; here it is made from the machine code, at run time or offline. Pure.
public struct SiteFinder {
    /// The object's segments, at their loaded (runtime) or virtual (file) addresses.
    public let image: ImageView
    /// The unwind index of PT_GNU_EH_FRAME, or nil (no site can then be proven).
    public let index: EHFrameIndex?
    /// Why there is no index, when there is none.
    public let indexError: String?

    /// - Parameters:
    ///   - ehFrameHeader: the address of `.eh_frame_hdr` (PT_GNU_EH_FRAME) in `image`, or nil.
    ///   - objectName: how reasons name the object ("the executable", a library's path, "the file").
    public init(image: ImageView, ehFrameHeader: UInt64?, objectName: String) {
        self.image = image
        guard let ehFrameHeader else {
            index = nil
            indexError = "\(objectName) has no PT_GNU_EH_FRAME, so no site can be proven"
            return
        }
        do {
            index = try EHFrameIndex(image: image, headerAddress: ehFrameHeader)
            indexError = nil
        } catch {
            index = nil
            indexError = "\(objectName): .eh_frame_hdr: \(error)"
        }
    }

    /// The function containing `address`, from the unwind index.
    public func function(containing address: UInt64) -> FunctionRange? {
        guard let index else { return nil }
        return try? index.function(containing: address)
    }

    /// The bytes of the function that starts exactly at `address`, or nil.
    public func functionBytes(startingAt address: UInt64) -> UnsafeRawBufferPointer? {
        guard let range = function(containing: address), range.start == address else { return nil }
        return image.bytes(of: range)
    }

    /// The bytes of the executable segments (what one discovery scans).
    public var executableBytes: Int { image.segments.filter(\.isExecutable).reduce(0) { $0 + $1.bytes.count } }

    /// Every `call`/`jmp rel32` in the executable segments whose target is one of `trampolines`.
    public func candidates(of trampolines: [UInt64]) -> [SiteCandidate] {
        var candidates: [SiteCandidate] = []
        for segment in image.segments where segment.isExecutable {
            candidates += SiteDiscovery.scan(segment.bytes, at: segment.address, trampolines: trampolines)
        }
        return candidates
    }

    /// The sites of `trampolines`, each with its proof (or the reason it has none).
    public func sites(of trampolines: [UInt64]) -> [(candidate: SiteCandidate, proof: SiteProof)] {
        let candidates = candidates(of: trampolines)
        guard let index else {
            return candidates.map { ($0, .unproven(indexError ?? "no unwind index")) }
        }
        return Array(zip(candidates, SiteDiscovery.prove(candidates, index: index)))
    }
}
