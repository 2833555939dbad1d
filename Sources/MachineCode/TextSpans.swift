/// Up to eight bytes to put at an address in the process's text: one site's part in one phase of a
/// patch transaction. Held inline (no allocation), as a transaction makes three per site.
public struct TextEdit: Equatable, Sendable {
    public var address: UInt64
    /// The bytes, little-endian: byte k is `(word >> (8 * k)) & 0xff`.
    public var word: UInt64
    public var count: Int

    @inlinable // specialized where it is called: a transaction makes three per site
    public init(address: UInt64, bytes: some Collection<UInt8>) {
        precondition(bytes.count <= 8, "a text edit holds at most 8 bytes")
        self.address = address
        self.count = bytes.count
        var w: UInt64 = 0
        for (k, b) in bytes.enumerated() { w |= UInt64(b) << (8 * UInt64(k)) }
        self.word = w
    }

    /// `count` bytes (at most 8) given as a little-endian word: byte k is `(word >> (8 * k)) & 0xff`;
    /// the bits above them are ignored. No loop and no generic collection: a transaction makes one to
    /// three edits per site.
    @inlinable
    public init(address: UInt64, word: UInt64, count: Int) {
        precondition(count >= 0 && count <= 8, "a text edit holds at most 8 bytes")
        self.address = address
        self.count = count
        self.word = count == 8 ? word : word & ((1 << (8 * UInt64(count))) - 1)
    }

    /// The bytes `range` of a site's five.
    @inlinable
    public init(address: UInt64, bytes: SiteBytes, range: Range<Int>) {
        self.init(address: address, word: bytes.word >> (8 * UInt64(range.lowerBound)), count: range.count)
    }

    public var bytes: [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: word >> (8 * UInt64($0))) } }
    public var end: UInt64 { address + UInt64(count) }
}

/// Bytes to write at an address: one system call's worth.
public struct TextSpan: Equatable, Sendable {
    public var address: UInt64
    public var bytes: [UInt8]

    public init(address: UInt64, bytes: [UInt8]) {
        self.address = address
        self.bytes = bytes
    }
}

/// Turns one phase of a patch transaction (many small edits) into few writes.
///
/// Each write into our own text costs a system call (about 2 µs for a `pwrite` to `/proc/self/mem`
/// here), and the kernel's text_poke_bp() protocol needs three phases of one edit per site. Edits
/// that lie in the same page are therefore written as one span, the bytes between them re-written with
/// the values they hold now: every byte that changes changes exactly as it would alone, and every
/// other byte is stored with the value it already has, so a thread executing there sees no difference.
public enum TextSpans {
    /// Groups `edits` into spans. Edits are taken in address order; an edit joins the current span when
    /// it starts in the page of the span's last byte, no more than `maxGap` bytes after it, and does
    /// not overlap it. `live(address, count)` supplies the current bytes of a whole span (nil if they
    /// cannot be read: the span's edits are then written one by one).
    public static func coalesce(
        _ edits: [TextEdit],
        pageSize: UInt64,
        maxGap: Int,
        live: (UInt64, Int) -> [UInt8]?
    ) -> [TextSpan] {
        precondition(pageSize > 0 && pageSize & (pageSize - 1) == 0, "page size must be a power of two")
        // Every caller passes its edits in address order and none empty: then they are used as they are
        // (one pass to check), instead of filtered and sorted.
        var isSortedAndNonEmpty = true
        for k in edits.indices where edits[k].count == 0 || (k > 0 && edits[k].address < edits[k - 1].address) {
            isSortedAndNonEmpty = false
            break
        }
        var sorted = edits
        if !isSortedAndNonEmpty {
            sorted = edits.filter { $0.count > 0 }
            sorted.sort { $0.address < $1.address }
        }
        var spans: [TextSpan] = []
        var start = 0
        while start < sorted.count {
            // The group: sorted[start..<next].
            var end = sorted[start].end
            var next = start + 1
            while next < sorted.count {
                let edit = sorted[next]
                guard edit.address >= end, edit.address - end <= UInt64(maxGap),
                      edit.address / pageSize == (end - 1) / pageSize else { break }
                end = edit.end
                next += 1
            }
            let first = sorted[start].address
            if next - start > 1, var bytes = live(first, Int(end - first)), bytes.count == Int(end - first) {
                bytes.withUnsafeMutableBytes { span in
                    for edit in sorted[start..<next] {
                        let offset = Int(edit.address - first)
                        if offset + 8 <= span.count {
                            // One unaligned 8-byte read-modify-write (a byte loop cost 8 instructions a
                            // byte): the edit's bytes replaced, the rest of the word kept as read.
                            let mask: UInt64 = edit.count == 8 ? ~0 : (1 &<< (8 &* UInt64(edit.count))) &- 1
                            let old = UInt64(littleEndian: span.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
                            span.storeBytes(of: ((old & ~mask) | (edit.word & mask)).littleEndian, toByteOffset: offset, as: UInt64.self)
                            continue
                        }
                        var word = edit.word
                        for k in 0..<edit.count {
                            span[offset + k] = UInt8(truncatingIfNeeded: word)
                            word &>>= 8
                        }
                    }
                }
                spans.append(TextSpan(address: first, bytes: bytes))
            } else {
                for edit in sorted[start..<next] { spans.append(TextSpan(address: edit.address, bytes: edit.bytes)) }
            }
            start = next
        }
        return spans
    }
}
