/// Stubs that let a `call`/`jmp rel32` reach a target more than ±2 GiB away (a function in another image):
/// the site calls a stub placed within its reach, and the stub jumps on through a 64-bit address. The
/// kernel's x86 static calls never need this (kernel text is within 2 GiB of itself); userspace images are
/// mapped terabytes apart.
public enum FarJumpStub {
    /// Bytes per stub: `jmp *0(%rip)` (6), the target (8), two INT3s of padding.
    public static let size = 16

    /// `ff 25 00 00 00 00` + the target, little-endian, padded with `cc`.
    public static func encode(target: UInt64) -> [UInt8] {
        var bytes: [UInt8] = [0xff, 0x25, 0, 0, 0, 0]
        withUnsafeBytes(of: target.littleEndian) { bytes += $0 }
        return bytes + [0xcc, 0xcc]
    }

    /// The target a stub's bytes jump to, or nil if they are not a stub.
    public static func target(of bytes: some Collection<UInt8>) -> UInt64? {
        let b = Array(bytes)
        guard b.count >= 14, b[0..<6].elementsEqual([0xff, 0x25, 0, 0, 0, 0]) else { return nil }
        return (0..<8).reduce(UInt64(0)) { $0 | UInt64(b[6 + $1]) << (8 * $1) }
    }

    /// Where a stub page of `size` bytes may start so that a rel32 call or jump anywhere in `text` reaches
    /// every stub in it (the displacement is taken from the end of the 5-byte instruction). Nil if the text
    /// itself spans more than a rel32 can.
    public static func window(forText text: Range<UInt64>, pageSize size: UInt64) -> ClosedRange<UInt64>? {
        let reach: UInt64 = 1 << 31
        // Stub S at the far end of the page from the first site: S + size - (text.lowerBound + 5) < 2^31.
        // Stub S at the page start from the last site's end:  text.upperBound - S <= 2^31.
        guard text.upperBound >= text.lowerBound, text.upperBound - text.lowerBound < reach - size - 5 else { return nil }
        let lowest = text.upperBound > reach ? text.upperBound - reach : 0
        let highest = text.lowerBound + 5 + (reach - 1) - size
        guard lowest <= highest else { return nil }
        return lowest...highest
    }

    /// Candidate start addresses for an area of `pages` stub pages: every page of the area free (no region
    /// in `mapped` overlaps it) and inside `window`, page-aligned, nearest to `near` first. `mapped` need
    /// not be sorted.
    public static func candidates(mapped: [Range<UInt64>], window: ClosedRange<UInt64>, near: UInt64,
                                  pageSize: UInt64, pages: Int = 1, limit: Int = 8) -> [UInt64] {
        let extra = UInt64(max(pages, 1) - 1) * pageSize // from the area's first page to its last
        let sorted = mapped.sorted { $0.lowerBound < $1.lowerBound }
        // The gaps between mappings (and before the first), clipped to the window, as page ranges.
        var gaps: [ClosedRange<UInt64>] = []
        var cursor: UInt64 = pageSize // never page 0
        let top: UInt64 = 0x7fff_ffff_f000 // the top of the x86-64 user address space (4-level paging)
        for region in sorted where cursor < top {
            // Clipped at the top: [vsyscall] lies far above it, and nothing can be mapped in between.
            if region.lowerBound > cursor { gaps.append(cursor...(min(region.lowerBound, top) - pageSize)) }
            cursor = max(cursor, region.upperBound)
        }
        if top > cursor { gaps.append(cursor...(top - pageSize)) }
        var result: [UInt64] = []
        for gap in gaps {
            // The first page at `lo`...`hi`: the last page (`extra` above it) must still be in the gap and
            // the window.
            let lo = max(gap.lowerBound, (window.lowerBound + pageSize - 1) & ~(pageSize - 1))
            let top = min(gap.upperBound, window.upperBound & ~(pageSize - 1))
            guard top >= extra else { continue }
            let hi = top - extra
            guard lo <= hi else { continue }
            // The page of this gap nearest to `near`.
            let aligned = near & ~(pageSize - 1)
            result.append(min(max(aligned, lo), hi))
        }
        return Array(result.sorted { distance($0, near) < distance($1, near) }.prefix(limit))
    }

    private static func distance(_ a: UInt64, _ b: UInt64) -> UInt64 { a > b ? a - b : b - a }
}
