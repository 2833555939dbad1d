#if canImport(Glibc)
import Glibc
#endif
import CStaticCall
import MachineCode

/// One site's change in a transaction.
struct PlannedWrite {
    let site: PatchSite
    let new: [UInt8]
    let instruction: SiteInstruction
}

/// One patch transaction's writes (the kernel's text_poke_queue()/text_poke_finish()), by the safest
/// method each object allows:
///
/// 1. **page remap** (`PageRemapper`): the pages holding the sites are replaced by new pages of the same
///    file with the new bytes. Needs no signal, no membarrier and no INT3, so no thread's signal mask,
///    no debugger and no seccomp filter on membarrier can turn it into a death. The default.
/// 2. **INT3** (`Int3Patcher`, the kernel's text_poke_bp): where an object's pages cannot be remapped
///    (its file replaced on disk, mmap refused), and only while no thread could die of an INT3.
/// 3. Neither: the site keeps its previous whole instruction, and the failure is returned, for the
///    report, `patchAll()` and the log.
final class PatchTransaction {
    let mem = ProcSelfMem()
    let remapper: PageRemapper
    let int3: Int3Patcher
    /// Why page remapping is unavailable in this process, if it is (decided by the capability probe).
    var remapRefusal: String?

    init() {
        remapper = PageRemapper(mem: mem)
        int3 = Int3Patcher(mem: mem)
    }

    /// At most this many bytes of a range may differ between the file and the live text outside our own
    /// sites (a debugger's breakpoints, say): more means the file is not what is mapped there.
    static let foreignDifferenceLimit = 64

    /// Applies `writes`. `file(_:)` gives the mapped file of the object holding an address (or why
    /// there is none); `ownSites` is every site address of this runtime, sorted. Returns one message per
    /// site that does not hold its new bytes, and sets each site's `current` and `reason`.
    func apply(_ writes: [PlannedWrite], file: (UInt64) -> Result<MappedFile, PatchError>, ownSites: [UInt64]) -> [String] {
        var pending: [PlannedWrite] = []
        for w in writes.sorted(by: { $0.site.address < $1.site.address }) {
            if textEquals(at: w.site.address, w.new) { w.site.current = w.new; w.site.reason = nil; continue }
            guard textEquals(at: w.site.address, w.site.current) else {
                let live = readText(at: w.site.address, count: 5)
                w.site.reason = "bytes changed under us (expected \(hex(w.site.current)), found \(hex(live))); left alone"
                debugLog("site 0x\(String(w.site.address, radix: 16)): \(w.site.reason!)")
                continue
            }
            pending.append(w)
        }
        guard !pending.isEmpty else { return [] }

        var leftOver: [(PlannedWrite, String)] = []
        if let remapRefusal {
            leftOver = pending.map { ($0, "page remap unavailable: \(remapRefusal)") }
        } else {
            leftOver = remap(pending, file: file, ownSites: ownSites)
        }
        guard !leftOver.isEmpty else { return [] }

        var failures: [String] = []
        let int3Refusal = int3.refusal(allSites: { ownSites })
        var remaining: [(PlannedWrite, String)]
        if let int3Refusal {
            remaining = leftOver.map { ($0.0, "update not applied: \($0.1); INT3 protocol refused: \(int3Refusal)") }
        } else {
            let why = Dictionary(leftOver.map { ($0.0.site.address, $0.1) }, uniquingKeysWith: { a, _ in a })
            remaining = int3.apply(leftOver.map(\.0)).map { ($0.0, "\($0.1) [\(why[$0.0.site.address] ?? "")]") }
        }
        for (w, reason) in remaining {
            w.site.reason = reason
            failures.append("0x\(String(w.site.address, radix: 16)): \(reason)")
        }
        return failures
    }

    /// Replaces the pages of every pending site, one `mremap` per run of adjacent pages. Returns the
    /// sites it could not write, each with why.
    private func remap(_ pending: [PlannedWrite], file: (UInt64) -> Result<MappedFile, PatchError>, ownSites: [UInt64]) -> [(PlannedWrite, String)] {
        let page = PageRemapper.pageSize
        var failed: [(PlannedWrite, String)] = []
        var i = 0
        while i < pending.count {
            let first = pending[i]
            let mapped: MappedFile
            switch file(first.site.address) {
            case let .success(f): mapped = f
            case let .failure(error):
                failed.append((first, "page remap unavailable: \(error)"))
                i += 1
                continue
            }
            let start = first.site.address & ~(page - 1)
            guard let location = mapped.location(of: start, pageSize: page) else {
                failed.append((first, "page remap unavailable: 0x\(String(first.site.address, radix: 16)) is outside \(mapped.path)'s executable segment"))
                i += 1
                continue
            }
            // The run: this site and every following one whose pages touch it, inside one segment.
            var end = (first.site.address + 5 + page - 1) & ~(page - 1)
            var j = i + 1
            while j < pending.count, pending[j].site.address & ~(page - 1) <= end,
                  case let siteEnd = (pending[j].site.address + 5 + page - 1) & ~(page - 1), siteEnd <= location.segmentEnd {
                end = max(end, siteEnd)
                j += 1
            }
            guard end <= location.segmentEnd else {
                failed += pending[i..<j].map { ($0, "page remap unavailable: the site runs past its segment") }
                i = j
                continue
            }
            let run = Array(pending[i..<j])
            var content = readText(at: start, count: Int(end - start))
            for w in run {
                let at = Int(w.site.address - start)
                content.replaceSubrange(at..<(at + 5), with: w.new)
            }
            do {
                try remapper.replace(at: start, with: content, file: mapped, offset: location.offset) { fileBytes in
                    Self.foreignDifferences(fileBytes, live: start, ownSites: ownSites)
                }
                for w in run {
                    w.site.current = w.new
                    w.site.reason = nil
                    debugLog("patched 0x\(String(w.site.address, radix: 16)) (\(w.site.kind.rawValue)) -> \(w.instruction) [page remap]")
                }
                int3.resolved(run.map(\.site.address))
            } catch {
                failed += run.map { ($0, "page remap failed: \(error)") }
            }
            i = j
        }
        return failed
    }

    /// Why the file's bytes cannot stand under the live text at `live` (nil if they can): more than
    /// `foreignDifferenceLimit` bytes differ outside this runtime's own sites.
    static func foreignDifferences(_ fileBytes: UnsafeRawBufferPointer, live: UInt64, ownSites: [UInt64]) -> String? {
        guard let p = UnsafeRawPointer(bitPattern: UInt(live)) else { return "unmapped" }
        let text = UnsafeRawBufferPointer(start: p, count: fileBytes.count)
        var differences = 0
        var k = 0
        var offset = 0
        while offset < fileBytes.count {
            if fileBytes[offset] != text[offset] {
                let address = live + UInt64(offset)
                while k < ownSites.count && ownSites[k] + 5 <= address { k += 1 }
                if !(k < ownSites.count && ownSites[k] <= address) {
                    differences += 1
                    if differences > foreignDifferenceLimit {
                        return "the file's bytes differ from the mapped text at more than \(foreignDifferenceLimit) places: it is not the file mapped there"
                    }
                }
            }
            offset += 1
        }
        return nil
    }

    /// Which method this process uses first, for the report.
    var methodName: String? {
        remapRefusal == nil ? remapper.name : int3.writerName
    }

    /// In a child process after fork.
    func resetAfterFork() { int3.resetAfterFork() }
}

func hex(_ bytes: [UInt8]) -> String {
    bytes.map { b in b < 16 ? "0" + String(b, radix: 16) : String(b, radix: 16) }.joined(separator: " ")
}
