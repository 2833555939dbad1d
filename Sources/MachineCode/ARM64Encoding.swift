/// arm64 site states: `BL imm26`, `B imm26` and `NOP`, the only instructions the Arm ARM allows to be
/// swapped while another core may execute them (B2.2.5). Pure logic, unit-tested only: no runtime uses it
/// yet, arm64 builds the portable implementation (ARCHITECTURE.md, Platforms).
public enum ARM64Encoding {
    public static let nop: UInt32 = 0xd503_201f

    /// `BL target` at `site`, or nil if out of ±128 MiB reach or misaligned.
    public static func branchAndLink(from site: UInt64, to target: UInt64) -> UInt32? {
        imm26(from: site, to: target).map { 0x9400_0000 | $0 }
    }

    /// `B target` at `site`, or nil if out of ±128 MiB reach or misaligned.
    public static func branch(from site: UInt64, to target: UInt64) -> UInt32? {
        imm26(from: site, to: target).map { 0x1400_0000 | $0 }
    }

    static func imm26(from site: UInt64, to target: UInt64) -> UInt32? {
        guard site & 3 == 0, target & 3 == 0 else { return nil }
        let delta = Int64(bitPattern: target &- site)
        guard delta >= -(1 << 27), delta < (1 << 27) else { return nil }
        return UInt32(truncatingIfNeeded: delta >> 2) & 0x03ff_ffff
    }

    /// The target of a `B`/`BL` word at `site`, or nil if the word is neither.
    public static func branchTarget(_ word: UInt32, at site: UInt64) -> UInt64? {
        guard word & 0x7c00_0000 == 0x1400_0000 else { return nil }
        let imm = Int64(Int32(bitPattern: (word & 0x03ff_ffff) << 6) >> 6) << 2
        return site &+ UInt64(bitPattern: imm)
    }
}
