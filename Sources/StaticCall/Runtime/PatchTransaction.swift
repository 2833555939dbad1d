#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#else
#error("unsupported platform: StaticCall needs Glibc, Musl or Darwin")
#endif
import CStaticCall
internal import MachineCode

/// One site's planned bytes in a transaction (the bytes it already holds, for a site whose key's plan did
/// not change it: the transaction still checks that the live bytes are the runtime's own).
struct PlannedWrite {
    let site: PatchSite
    let new: SiteBytes
    let instruction: SiteInstruction
    /// What the site holds once the write is done: inline, or on its trampoline with the planner's reason.
    let status: SiteStatus
}

/// One patch transaction's writes (the kernel's text_poke_queue()/text_poke_finish()), by the safest
/// method each object allows:
///
/// 1. **page remap** (`PageRemapper`): the pages holding the sites (and the pages between sites less
///    than `maxRunBytes` apart) are replaced by new pages of the same file with the new bytes. Needs no
///    signal, no membarrier and no INT3, so no thread's signal mask, no debugger and no seccomp filter
///    on membarrier can turn it into a death. The default.
/// 2. **INT3** (`Int3Patcher`, the kernel's text_poke_bp): where an object's pages cannot be remapped
///    (its file replaced on disk, mmap refused), and only while no thread could die of an INT3.
/// 3. Neither: the site keeps its previous whole instruction, and the failure is returned, for the
///    report, `patchAll()`, the log and a warning on stderr.
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

    /// The longest range one page remap replaces (unless one site's own pages are longer, which five
    /// bytes never are). Every page of it is compared with the file, and the pages threads run are
    /// faulted in again after the move, so a run is not the whole text. But each mmap and mremap takes
    /// the process's mapping lock for writing, and with threads calling the sites that costs up to a
    /// scheduler tick (each thread that runs the range while it moves takes its fault after the lock is
    /// released, and the next writer waits for it), so pending sites share a remap wherever they are
    /// within this distance, whatever lies between them.
    static let maxRunBytes: UInt64 = 1 << 20

    /// Applies `writes`. `file(_:)` gives the mapped file of the object holding an address (or why there
    /// is none); `sites` is every site of this runtime, sorted by address, and `addresses` their addresses
    /// in the same order. Returns the failures: one message per site that does not hold its new bytes,
    /// plus one if the emulation of sites left trapped by an earlier INT3 transaction could not follow the
    /// update (empty when every site took it). Sets each site's `current`, and its `status`: the planned
    /// one once written, `leftAlone` with the reason when not (a site whose live bytes are neither its new
    /// ones nor the runtime's last: "bytes changed under us"), `onTrampoline(.revertedToFile)` for every
    /// site of a range a failed page remap gave back the file's bytes.
    ///
    /// The per-site work is index arithmetic over `writes` and `addresses`: no write is copied, no array is
    /// made per site, and of the sites that are not in `writes` (other keys' sites sharing the pages) only
    /// the addresses are read.
    func apply(_ writes: [PlannedWrite], file: (UInt64) -> Result<MappedFile, PatchError>,
               sites: [PatchSite], addresses: [UInt64]) -> [String] {
        precondition(sites.count == addresses.count, "every site with its address")
        assert(zip(sites, addresses).allSatisfy { $0.address == $1 }, "the addresses in the sites' order")
        // The registry plans sites in address order; sorting (which copies every write) only otherwise.
        var inOrder = true
        for k in writes.indices.dropFirst() where writes[k].site.address < writes[k - 1].site.address { inOrder = false; break }
        let writes = inOrder ? writes : writes.sorted(by: { $0.site.address < $1.site.address })
        var pending: [Int] = [] // indices into `writes`
        pending.reserveCapacity(writes.count)
        var failures: [String] = []
        for k in writes.indices {
            let site = writes[k].site
            let live = readSite(at: site.address)
            if live == writes[k].new { site.settle(writes[k].new, writes[k].status); continue }
            guard live == site.current else {
                let reason = SiteReason.bytesChanged(expected: Array(site.current), found: Array(live))
                site.status = .leftAlone(reason)
                failures.append("0x\(String(site.address, radix: 16)): \(reason.description())")
                continue
            }
            pending.append(k)
        }
        guard !pending.isEmpty else { return failures }
        // A site left trapped by an earlier INT3 transaction emulates its key's state until its INT3 is
        // gone: from now on, the new state, whatever happens below.
        if let error = int3.retarget(pending.lazy.map { writes[$0] }) {
            failures.append("the trapped sites' emulation could not follow the update: \(error)")
        }

        let leftOver = remapRefusal.map { why in pending.map { (writes[$0], "page remap unavailable: \(why)") } }
            ?? remap(writes, pending, file: file, sites: sites, addresses: addresses)
        guard !leftOver.isEmpty else { return failures }

        let remaining: [(PlannedWrite, String)]
        if let int3Refusal = int3.refusal(allSites: { addresses }) {
            remaining = leftOver.map { ($0.0, "update not applied: \($0.1); INT3 protocol refused: \(int3Refusal)") }
        } else {
            let why = Dictionary(leftOver.map { ($0.0.site.address, $0.1) }, uniquingKeysWith: { a, _ in a })
            remaining = int3.apply(leftOver.map(\.0)).map { ($0.0, "\($0.1) [\(why[$0.0.site.address] ?? "")]") }
        }
        let failed = Set(remaining.map(\.0.site.address))
        for (w, _) in leftOver where !failed.contains(w.site.address) { w.site.status = w.status } // written by INT3
        for (w, reason) in remaining {
            w.site.status = .leftAlone(.writeFailed(reason))
            failures.append("0x\(String(w.site.address, radix: 16)): \(reason)")
        }
        return failures
    }

    /// Replaces the pages of every pending site (`pending`: indices into `writes`, in address order), one
    /// `mmap` and one `mremap` per run of sites within `maxRunBytes` of each other in one segment. Returns
    /// the sites it could not write, each with why.
    private func remap(_ writes: [PlannedWrite], _ pending: [Int], file: (UInt64) -> Result<MappedFile, PatchError>,
                       sites: [PatchSite], addresses siteAddresses: [UInt64]) -> [(PlannedWrite, String)] {
        let page = PageRemapper.pageSize
        var failed: [(PlannedWrite, String)] = []
        let addresses = pending.map { writes[$0].site.address }
        var i = 0
        while i < pending.count {
            let firstAddress = addresses[i]
            let mapped: MappedFile
            switch file(firstAddress) {
            case let .success(f): mapped = f
            case let .failure(error):
                failed.append((writes[pending[i]], "page remap unavailable: \(error)"))
                i += 1
                continue
            }
            let start = firstAddress & ~(page - 1)
            guard let location = mapped.location(of: start, pageSize: page) else {
                failed.append((writes[pending[i]], "page remap unavailable: 0x\(String(firstAddress, radix: 16)) is outside \(mapped.path)'s executable segment"))
                i += 1
                continue
            }
            // Pages of the run's range without a site stay the file's own (shared with the page
            // cache); a page with a site of another key gets that site's current bytes. Both are
            // compared with the file first.
            let (j, end) = Self.run(startingAt: i, of: addresses, segmentEnd: location.segmentEnd, pageSize: page)
            let run = i..<j // indices into `pending` and `addresses`
            i = j
            guard end <= location.segmentEnd else {
                failed += run.map { (writes[pending[$0]], "page remap unavailable: the site runs past its segment") }
                continue
            }
            // The new pages hold the file's bytes, and every site of ours that touches the range: the
            // pending ones with their new bytes, the others with what they hold now (a site crossing the
            // range's edge keeps its bytes on both sides).
            let touching = Self.sites(siteAddresses, touching: start..<end) // indices into `sites`
            // The run's addresses and `touching` are both sorted, and every site of the run is touching:
            // one walk pairs them (a dictionary of the run cost more than the rest of the loop).
            var edits: [TextEdit] = []
            edits.reserveCapacity(touching.count)
            var r = run.lowerBound
            for t in touching {
                let address = siteAddresses[t]
                while r < run.upperBound && addresses[r] < address { r += 1 }
                let bytes = r < run.upperBound && addresses[r] == address ? writes[pending[r]].new : readSite(at: address)
                // A site crossing the range's edge: only its bytes inside the range.
                let first = address < start ? Int(start - address) : 0
                let last = address + 5 > end ? Int(end - address) : 5
                edits.append(TextEdit(address: address + UInt64(first), bytes: bytes, range: first..<last))
            }
            do {
                try remapper.replace(at: start, size: Int(end - start), file: mapped, offset: location.offset, edits: edits) { fileBytes in
                    Self.foreignDifferences(fileBytes, live: start, sites: siteAddresses[touching])
                }
                for k in run {
                    let w = pending[k]
                    writes[w].site.settle(writes[w].new, writes[w].status)
                }
                if Environment.debugLogging { // once per run, not a lazy global's check per site
                    for k in run {
                        let w = writes[pending[k]]
                        debugLog("patched 0x\(String(w.site.address, radix: 16)) (\(w.site.kind.rawValue)) -> \(w.instruction) [page remap]")
                    }
                }
                int3.resolved(addresses[run])
            } catch let error {
                if case .revertedToFile = error {
                    // Every site of ours in the range holds the file's bytes: its original call.
                    for t in touching {
                        let site = sites[t]
                        site.current = readSite(at: site.address)
                        site.status = .onTrampoline(.revertedToFile("\(error)"))
                    }
                    int3.resolved(siteAddresses[touching])
                }
                failed += run.map { (writes[pending[$0]], "page remap failed: \(error)") }
            }
        }
        return failed
    }

    /// The run of sites that starts at `addresses[first]` (addresses sorted, all in one object): that
    /// site and every following one whose pages end within `maxRunBytes` of the first one's page and
    /// inside its segment, replaced by one mmap and one mremap. Returns the index after the run's last
    /// site and the end of its pages.
    static func run(startingAt first: Int, of addresses: [UInt64], segmentEnd: UInt64, pageSize page: UInt64) -> (next: Int, end: UInt64) {
        let start = addresses[first] & ~(page - 1)
        var end = (addresses[first] + 5 + page - 1) & ~(page - 1)
        var j = first + 1
        while j < addresses.count, case let siteEnd = (addresses[j] + 5 + page - 1) & ~(page - 1),
              siteEnd <= segmentEnd, siteEnd - start <= maxRunBytes {
            end = max(end, siteEnd)
            j += 1
        }
        return (j, end)
    }

    /// The indices of the sites (`addresses`, sorted) whose five bytes overlap `range`.
    static func sites(_ addresses: [UInt64], touching range: Range<UInt64>) -> Range<Int> {
        var lo = 0, hi = addresses.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if addresses[mid] + 5 <= range.lowerBound { lo = mid + 1 } else { hi = mid }
        }
        var end = lo
        while end < addresses.count && addresses[end] < range.upperBound { end += 1 }
        return lo..<end
    }

    /// Why the file's bytes cannot stand for the live text at `live` (nil if they can): more than
    /// `foreignDifferenceLimit` bytes differ outside this runtime's own sites (`sites`, their sorted addresses), anywhere
    /// in the range. Every page is compared, those without a site of ours too: a run's pages all become
    /// the file's, so a change someone else made to any of them (a wrong file or offset, another
    /// patcher) must be seen before it is lost. The gaps between our sites are compared with memcmp and
    /// bytes are counted only in a gap that differs.
    static func foreignDifferences(_ fileBytes: UnsafeRawBufferPointer, live: UInt64, sites: ArraySlice<UInt64>) -> String? {
        guard let p = UnsafeRawPointer(bitPattern: UInt(live)), let file = fileBytes.baseAddress else { return "unmapped" }
        let count = UInt64(fileBytes.count)
        var differences = 0
        var offset: UInt64 = 0
        var k = sites.startIndex
        while offset < count {
            while k < sites.endIndex && sites[k] &+ 5 <= live &+ offset { k += 1 }
            if k < sites.endIndex && sites[k] <= live &+ offset {
                offset = min(count, sites[k] &+ 5 &- live) // inside one of our sites
                continue
            }
            let end = k < sites.endIndex ? min(count, sites[k] &- live) : count
            if memcmp(file + Int(offset), p + Int(offset), Int(end - offset)) != 0 {
                for i in Int(offset)..<Int(end) where fileBytes[i] != p.load(fromByteOffset: i, as: UInt8.self) {
                    differences += 1
                    if differences > foreignDifferenceLimit {
                        return "the file's bytes differ from the mapped text at more than \(foreignDifferenceLimit) places: it is not the file mapped there"
                    }
                }
            }
            offset = end
        }
        return nil
    }

    /// In a child process after fork.
    func resetAfterFork() { int3.resetAfterFork() }
}
