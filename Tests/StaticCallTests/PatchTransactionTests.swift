import Foundation
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
            sites.append(PatchSite(address: base + UInt64(offset), kind: .call, original: Array(file[offset..<min(offset + 5, count)])))
        }
        // Foreign bytes: every 37th byte outside the sites, from the start.
        var placed = 0, i = 0
        while placed < foreign && i < count {
            if !siteOffsets.contains(where: { i >= $0 && i < $0 + 5 }) { live[i] ^= 0x55; placed += 1 }
            i += 37
        }
        return file.withUnsafeBytes { PatchTransaction.foreignDifferences($0, live: base, sites: sites) }
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
        // The range starts 2 bytes into a site (its last 3 bytes differ); foreign bytes elsewhere only.
        let count = 2 * Self.page
        var file = [UInt8](repeating: 0, count: count + 16)
        for i in file.indices { file[i] = UInt8(truncatingIfNeeded: i &* 13 &+ 1) }
        let live = UnsafeMutableRawBufferPointer.allocate(byteCount: count + 16, alignment: Self.page)
        defer { live.deallocate() }
        live.copyBytes(from: file)
        for i in 0..<5 { live[i] ^= 0xff }
        let base = UInt64(UInt(bitPattern: live.baseAddress!))
        let site = PatchSite(address: base, kind: .call, original: Array(file[0..<5]))
        let verdict = file[2..<(count + 2)].withUnsafeBytes { PatchTransaction.foreignDifferences($0, live: base + 2, sites: [site]) }
        #expect(verdict == nil)
    }
}
