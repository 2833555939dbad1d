import MachineCode
import Testing

@Suite("Coalescing a transaction phase into page-sized writes")
struct TextSpansTests {
    /// A fake text of 3 pages of 64 bytes, byte i holding i & 0xff.
    let page: UInt64 = 64
    func live(_ address: UInt64, _ count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: Int(address) + $0) }
    }

    /// Applies spans to the fake text and returns it.
    func apply(_ spans: [TextSpan]) -> [UInt8] {
        var text = live(0, 192)
        for s in spans { for (i, b) in s.bytes.enumerated() { text[Int(s.address) + i] = b } }
        return text
    }

    @Test func editsInOnePageBecomeOneWriteThatChangesOnlyTheirBytes() {
        let edits = [TextEdit(address: 30, bytes: [0xcc]), TextEdit(address: 10, bytes: [0xcc]), TextEdit(address: 20, bytes: [0xcc])]
        let spans = TextSpans.coalesce(edits, pageSize: page, maxGap: 4096, live: live)
        #expect(spans == [TextSpan(address: 10, bytes: [0xcc] + live(11, 9) + [0xcc] + live(21, 9) + [0xcc])])
        var expected = live(0, 192)
        for a in [10, 20, 30] { expected[a] = 0xcc }
        #expect(apply(spans) == expected)
    }

    @Test func editsInOtherPagesAreSeparateWrites() {
        let edits = [TextEdit(address: 60, bytes: [1, 2]), TextEdit(address: 70, bytes: [3]), TextEdit(address: 130, bytes: [4])]
        let spans = TextSpans.coalesce(edits, pageSize: page, maxGap: 4096, live: live)
        #expect(spans.map(\.address) == [60, 70, 130])
    }

    @Test func anEditCrossingAPageJoinsTheSpanOfItsFirstByteOnly() {
        // 62..<66 crosses into page 1; 68 starts in page 1, the page of the span's last byte: joins.
        let edits = [TextEdit(address: 62, bytes: [9, 9, 9, 9]), TextEdit(address: 68, bytes: [7])]
        let spans = TextSpans.coalesce(edits, pageSize: page, maxGap: 4096, live: live)
        #expect(spans == [TextSpan(address: 62, bytes: [9, 9, 9, 9] + live(66, 2) + [7])])
    }

    @Test func gapsLargerThanTheLimitAndOverlapsAreNotMerged() {
        let far = TextSpans.coalesce([TextEdit(address: 0, bytes: [1]), TextEdit(address: 40, bytes: [2])], pageSize: page, maxGap: 16, live: live)
        #expect(far.count == 2)
        let overlapping = TextSpans.coalesce([TextEdit(address: 0, bytes: [1, 1, 1]), TextEdit(address: 1, bytes: [2])], pageSize: page, maxGap: 16, live: live)
        #expect(overlapping.count == 2)
    }

    @Test func anEditHoldsItsBytesInline() {
        let e = TextEdit(address: 5, bytes: [0xe8, 0x01, 0x02, 0x03, 0x04])
        #expect(e.bytes == [0xe8, 0x01, 0x02, 0x03, 0x04])
        #expect(e.end == 10)
    }

    @Test func anEmptyEditAmongSortedOnesWritesNothing() {
        let edits = [TextEdit(address: 10, bytes: [1]), TextEdit(address: 12, bytes: [UInt8]()), TextEdit(address: 14, bytes: [2])]
        let spans = TextSpans.coalesce(edits, pageSize: page, maxGap: 4096, live: live)
        #expect(spans == [TextSpan(address: 10, bytes: [1] + live(11, 3) + [2])])
    }

    @Test func anEditTakesAnyRangeOfASitesBytes() {
        let site: SiteBytes = [0xe8, 0x11, 0x22, 0x33, 0x44]
        #expect(TextEdit(address: 7, bytes: site, range: 1..<5) == TextEdit(address: 7, bytes: [0x11, 0x22, 0x33, 0x44]))
        #expect(TextEdit(address: 7, bytes: site, range: 0..<2) == TextEdit(address: 7, bytes: [0xe8, 0x11]))
        #expect(TextEdit(address: 7, bytes: site, range: 3..<3).count == 0)
        #expect(TextEdit(address: 0, word: .max, count: 8).bytes == [UInt8](repeating: 0xff, count: 8))
    }

    @Test func unreadableGapKeepsEditsApart() {
        let spans = TextSpans.coalesce([TextEdit(address: 0, bytes: [1]), TextEdit(address: 8, bytes: [2])], pageSize: page, maxGap: 64) { _, _ in [] }
        #expect(spans == [TextSpan(address: 0, bytes: [1]), TextSpan(address: 8, bytes: [2])])
    }

    @Test func adjacentEditsOfEveryLengthLeaveExactlyTheirBytesChanged() {
        // Edits 1 to 8 bytes long, 0 to 3 bytes apart, across the three pages: the span's bytes are
        // merged a word at a time where 8 bytes remain and a byte at a time at its end, so an edit's
        // word overlaps the next edit's bytes and the gap's. Checked against applying each edit alone.
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            var edits: [TextEdit] = []
            var address = UInt64.random(in: 0..<8, using: &generator)
            while true {
                let count = Int.random(in: 1...8, using: &generator)
                guard address + UInt64(count) <= 192 else { break }
                edits.append(TextEdit(address: address, word: .random(in: 0...UInt64.max, using: &generator), count: count))
                address += UInt64(count) + UInt64.random(in: 0...3, using: &generator)
            }
            var expected = live(0, 192)
            for edit in edits { for (i, b) in edit.bytes.enumerated() { expected[Int(edit.address) + i] = b } }
            let spans = TextSpans.coalesce(edits, pageSize: page, maxGap: 4096, live: live)
            #expect(apply(spans) == expected)
        }
    }
}
