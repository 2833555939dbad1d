/// The five bytes of one patchable site, held inline in one word.
///
/// Every state of a site is exactly one five-byte instruction (`SiteInstruction`), and a patch
/// transaction plans, compares, records and writes those bytes for every site it touches: with an
/// `[UInt8]` per site each of these steps cost a heap allocation (a 1000-site update made several
/// thousand). This value never allocates; comparing two is one integer comparison, and reading a site's
/// live bytes is two loads.
public struct SiteBytes: RandomAccessCollection, MutableCollection, Hashable, Sendable,
                         ExpressibleByArrayLiteral, CustomStringConvertible {
    /// Byte k is `(word >> (8 * k)) & 0xff`; bits 40–63 are always zero.
    @inlinable public var word: UInt64 { storage }
    /// `word`, settable only here (bits 40–63 stay zero, which equality relies on).
    @usableFromInline internal var storage: UInt64

    /// The bytes whose little-endian value is `word` (only its low 40 bits are kept).
    @inlinable
    public init(word: UInt64) { self.storage = word & 0xff_ffff_ffff }

    /// `opcode` followed by a little-endian 32-bit immediate or displacement.
    @inlinable
    public init(opcode: UInt8, imm32: UInt32) { self.storage = UInt64(opcode) | UInt64(imm32) << 8 }

    /// The first five bytes of `bytes`, or nil if it has fewer.
    @inlinable
    public init?(_ bytes: some Sequence<UInt8>) {
        var w: UInt64 = 0
        var k: UInt64 = 0
        for b in bytes {
            guard k < 5 else { break }
            w |= UInt64(b) << (8 * k)
            k += 1
        }
        guard k == 5 else { return nil }
        self.storage = w
    }

    /// Exactly five bytes; fewer or more is a programming error.
    @inlinable
    public init(arrayLiteral elements: UInt8...) {
        precondition(elements.count == 5, "a site holds exactly five bytes")
        self.init(elements)!
    }

    /// The five bytes at `pointer`: one unaligned 4-byte load and one byte (never reading past the
    /// fifth byte, which may be the last one mapped).
    @inlinable
    public init(loadingFrom pointer: UnsafeRawPointer) {
        self.storage = UInt64(pointer.loadUnaligned(as: UInt32.self).littleEndian)
            | UInt64(pointer.load(fromByteOffset: 4, as: UInt8.self)) << 32
    }

    @inlinable public var startIndex: Int { 0 }
    @inlinable public var endIndex: Int { 5 }

    @inlinable
    public subscript(position: Int) -> UInt8 {
        get {
            precondition(position >= 0 && position < 5, "site byte index out of range")
            return UInt8(truncatingIfNeeded: word >> (8 * UInt64(position)))
        }
        set {
            precondition(position >= 0 && position < 5, "site byte index out of range")
            let shift = 8 * UInt64(position)
            storage = (storage & ~(0xff << shift)) | UInt64(newValue) << shift
        }
    }

    /// The bytes in hex, space-separated, as the report and `objdump` show them.
    public var description: String { X86.hex(self) }
}
