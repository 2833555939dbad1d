import Foundation
import MachineCode
@testable import StaticCall
import Testing

/// The check that a file's bytes may stand for the live text before its pages replace it: only this
/// runtime's own sites may differ, plus at most `foreignDifferenceLimit` foreign bytes (a debugger's).
@Suite("Page remap: the file's bytes must be the mapped text, our sites aside")
struct ForeignDifferenceTests {
    static let page = Int(PageRemapper.pageSize)

    /// Three pages of "live text" (ordinary memory), the file's copy of them, sites at `siteOffsets`
    /// (whose bytes differ in the live copy), and `foreign` other differing bytes spread over the pages.
    func check(siteOffsets: [Int], foreign: Int) -> String? {
        let count = 3 * Self.page
        var file = [UInt8](repeating: 0, count: count)
        for i in 0..<count { file[i] = UInt8(truncatingIfNeeded: i &* 7 &+ 3) }
        let live = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: Self.page)
        defer { live.deallocate() }
        live.copyBytes(from: file)
        let base = UInt64(UInt(bitPattern: live.baseAddress!))
        var sites: [PatchSite] = []
        for offset in siteOffsets.sorted() {
            for i in offset..<min(offset + 5, count) { live[i] ^= 0xff }
            sites.append(PatchSite(address: base + UInt64(offset), kind: .call, original: SiteBytes(file[offset...]) ?? [0xe8, 0, 0, 0, 0]))
        }
        // Foreign bytes: every 37th byte outside the sites, from the start.
        var placed = 0, i = 0
        while placed < foreign && i < count {
            if !siteOffsets.contains(where: { i >= $0 && i < $0 + 5 }) { live[i] ^= 0x55; placed += 1 }
            i += 37
        }
        // The sites are passed as a slice of a longer list (as a remap passes those touching its range),
        // whose first index is not 0; the site before them lies below the range.
        let below = PatchSite(address: base - 64, kind: .call, original: [0xe8, 0, 0, 0, 0])
        return file.withUnsafeBytes { PatchTransaction.foreignDifferences($0, live: base, sites: ([below] + sites).map(\.address)[1...]) }
    }

    @Test func ourSitesDifferingIsNotForeign() {
        // 40 sites, 200 differing bytes: far more than the limit, were they counted. One crosses from the
        // first page into the second, which holds sites of its own.
        let sites = [0, Self.page - 2, Self.page + 20] + (1...37).map { 2 * Self.page + 100 * $0 }
        #expect(check(siteOffsets: sites, foreign: 0) == nil)
        #expect(check(siteOffsets: sites, foreign: PatchTransaction.foreignDifferenceLimit) == nil)
    }

    @Test func aForeignByteRightBesideASiteCounts() {
        // Sites at 37 × n + 1: every foreign byte (at 37 × n) is the byte just before a site.
        let sites = (0..<80).map { 37 * $0 + 1 }
        #expect(check(siteOffsets: sites, foreign: PatchTransaction.foreignDifferenceLimit) == nil)
        #expect(check(siteOffsets: sites, foreign: PatchTransaction.foreignDifferenceLimit + 1) != nil)
    }

    @Test func upToTheLimitOfForeignBytesIsAccepted() {
        #expect(check(siteOffsets: [10, 200], foreign: PatchTransaction.foreignDifferenceLimit) == nil)
    }

    @Test func oneMoreForeignByteThanTheLimitIsAnotherFile() {
        let verdict = check(siteOffsets: [10, 200, Self.page + 5, 2 * Self.page + 300], foreign: PatchTransaction.foreignDifferenceLimit + 1)
        #expect(verdict?.contains("not the file mapped there") == true, "\(String(describing: verdict))")
    }

    @Test func foreignBytesInAPageWithoutOurSitesCount() {
        // All foreign bytes in the first page; the only site in the last one. The whole range becomes
        // the file's, so a change to a page without a site of ours would be lost as well.
        #expect(check(siteOffsets: [2 * Self.page + 40], foreign: 100) != nil)
        #expect(check(siteOffsets: [40], foreign: 100) != nil)
        #expect(check(siteOffsets: [], foreign: PatchTransaction.foreignDifferenceLimit) == nil)
        #expect(check(siteOffsets: [], foreign: PatchTransaction.foreignDifferenceLimit + 1) != nil)
    }

    @Test func aSiteCrossingIntoTheRangeFromBeforeItIsOurs() {
        // The range starts 2 bytes into a site: its last 3 bytes differ, and are ours.
        let count = 2 * Self.page
        var file = [UInt8](repeating: 0, count: count + 16)
        for i in file.indices { file[i] = UInt8(truncatingIfNeeded: i &* 13 &+ 1) }
        let live = UnsafeMutableRawBufferPointer.allocate(byteCount: count + 16, alignment: Self.page)
        defer { live.deallocate() }
        live.copyBytes(from: file)
        for i in 0..<5 { live[i] ^= 0xff }
        let base = UInt64(UInt(bitPattern: live.baseAddress!))
        let site = PatchSite(address: base, kind: .call, original: SiteBytes(file)!)
        let verdict = file[2..<(count + 2)].withUnsafeBytes { PatchTransaction.foreignDifferences($0, live: base + 2, sites: [site.address][...]) }
        #expect(verdict == nil)
    }
}

/// Which pending sites share one page remap: those within `maxRunBytes` of the run's first page, in its
/// segment, whatever lies between them.
@Suite("Page remap: pending sites within 1 MB share one mmap and one mremap")
struct RemapRunTests {
    static let page: UInt64 = 4096
    static let base: UInt64 = 0x40_0000

    func runs(_ offsets: [UInt64], segmentEnd: UInt64 = base + (64 << 20)) -> [[UInt64]] {
        let addresses = offsets.map { Self.base + $0 }
        var result: [[UInt64]] = []
        var i = 0
        while i < addresses.count {
            let (next, end) = PatchTransaction.run(startingAt: i, of: addresses, segmentEnd: segmentEnd, pageSize: Self.page)
            #expect(next > i && end > addresses[next - 1] && end % Self.page == 0)
            result.append(offsets[i..<next].map { $0 })
            i = next
        }
        return result
    }

    @Test func sitesPagesApartShareOneRun() {
        // Ten pages apart, with nothing known about the pages between: one remap, not three.
        let sites: [UInt64] = [100, 10 * 4096 + 7, 20 * 4096]
        #expect(runs(sites) == [sites])
    }

    @Test func aRunEndsBeforeItWouldPassTheLimit() {
        let limit = PatchTransaction.maxRunBytes
        // The last site's page ends exactly at the limit: in. One byte further: its page ends past it.
        #expect(runs([0, limit - 5]).count == 1)
        let apart: [[UInt64]] = [[0], [limit - 4]]
        #expect(runs([0, limit - 4]) == apart)
        // A site on every page for 3 MB: runs of at most the limit, however dense.
        let dense = (0..<UInt64(3 * 256)).map { $0 * 4096 + 64 }
        let split = runs(dense)
        #expect(split.count == 3)
        for run in split { #expect(((run.last! + 5 + 4095) & ~4095) - (run.first! & ~4095) <= limit) }
    }

    @Test func aRunStopsAtTheEndOfItsSegment() {
        // The segment ends after page 3: the site on page 5 starts a run of its own (which the remap then
        // refuses as outside the segment).
        let split: [[UInt64]] = [[10, 3 * 4096 + 10], [5 * 4096]]
        #expect(runs(split.flatMap { $0 }, segmentEnd: Self.base + 4 * 4096) == split)
    }

    @Test func aSiteCrossingIntoTheNextPageTakesBothPages() {
        let (next, end) = PatchTransaction.run(startingAt: 0, of: [Self.base + 4094], segmentEnd: Self.base + (1 << 20), pageSize: Self.page)
        #expect(next == 1 && end == Self.base + 2 * 4096)
    }
}
