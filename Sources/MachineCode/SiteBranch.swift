/// The branch a static key's call site feeds, and where a `jmp` in place of the call may go: the
/// kernel's `static_branch_unlikely()`, whose disabled form is one jump (or NOP) on a straight path.
///
/// The compiler emits a key read as `call trampoline; test %al,%al` (or `test $1,%al`) and `je`/`jne`.
/// The site's five bytes can become `jmp D`, where `D` is the side the key's value takes, skipping the
/// `test` and the `jcc` (their bytes are never touched: a thread between them still finds them, and
/// the value the call returned before). That is only the same program if nothing reached from `D`
/// reads what the skipped instructions would have left: `%rax` (the call's result) and the flags of
/// the `test`. `SiteBranch.analyse` proves it by a forward def-use walk from each side, which gives up
/// on anything it does not understand (`X86.effects` is conservative) and stops a path where both are
/// written over, at a call (which clobbers both, by the ABI), or at a trap.
///
/// Why a call ends a path without reading `%rax`: after the site's call returns, `%rax` holds only the
/// key's value, and the compiler knows the call clobbered it. The x86-64 conventions pass nothing in
/// `%rax` but the variadic vector count in `%al` (SysV) and the indirect-result pointer (swiftcc), and
/// the compiler writes both in the call sequence itself, on the path after the site, where the walk
/// sees the write first. No compiler hands a callee a `Bool` in `%rax`. This assumes every callee clobbers
/// `%rax` as the SysV and Swift conventions say: a call of a `preserve_most`/`preserve_all` function
/// (whose `%rax` survives) or of a machine-outlined fragment (which reads what is live) could read the
/// key's value after it. Neither occurs in Swift code on x86-64 Linux: swiftc gives no Swift or runtime
/// function those conventions there, and LLVM has no machine outliner for x86.
public struct SiteBranch: Equatable, Sendable {
    /// Where the site may jump when the tested bits of the key's value are zero (`false`), if proven.
    public var whenZero: UInt64?
    /// Where it may jump when they are not (`true`), if proven.
    public var whenNonZero: UInt64?
    /// The bits of `%al` the `test` looks at (`0xff` for `test %al,%al`, `1` for `test $1,%al`).
    public var mask: UInt8

    public init(whenZero: UInt64?, whenNonZero: UInt64?, mask: UInt8) {
        self.whenZero = whenZero
        self.whenNonZero = whenNonZero
        self.mask = mask
    }

    /// Where a `jmp` at the site may go for a key holding the constant `bits`, or nil.
    public func destination(for bits: UInt64) -> UInt64? {
        UInt8(truncatingIfNeeded: bits) & mask == 0 ? whenZero : whenNonZero
    }

    /// The most instructions one proof looks at, over all its paths.
    public static let budget = 256

    /// Analyses the call site at `site` in `function` (its bytes, starting at `start`), already proven to
    /// be a 5-byte `call` on an instruction boundary. Nil when the call does not feed `test` + `je`/`jne`
    /// or neither side is proven.
    ///
    /// - Parameter isSite: whether an address is a call site of some key (it may already hold a
    ///   patched instruction: it is taken as the call the compiler emitted there).
    public static func analyse(function: UnsafeRawBufferPointer, start: UInt64, site: UInt64,
                               isSite: (UInt64) -> Bool = { _ in false }) -> SiteBranch? {
        guard site >= start, site - start <= UInt64(function.count) else { return nil }
        let at = Int(site - start)
        guard at + 5 + 2 + 2 <= function.count, function[at] == 0xe8 else { return nil }
        let test = at + 5
        let mask: UInt8
        switch (function[test], function[test + 1]) {
        case (0x84, 0xc0): mask = 0xff // test %al,%al
        case (0xa8, 0x01): mask = 0x01 // test $1,%al
        default: return nil
        }
        let jcc = test + 2
        let jumpsIfZero: Bool
        let taken: Int, fallThrough: Int
        switch function[jcc] {
        case 0x74, 0x75:
            jumpsIfZero = function[jcc] == 0x74
            fallThrough = jcc + 2
            taken = fallThrough + Int(Int8(bitPattern: function[jcc + 1]))
        case 0x0f:
            guard jcc + 6 <= function.count, function[jcc + 1] == 0x84 || function[jcc + 1] == 0x85 else { return nil }
            jumpsIfZero = function[jcc + 1] == 0x84
            fallThrough = jcc + 6
            taken = fallThrough + Int(function.loadUnaligned(fromByteOffset: jcc + 2, as: Int32.self).littleEndian)
        default:
            return nil
        }
        let zeroSide = jumpsIfZero ? taken : fallThrough
        let nonZeroSide = jumpsIfZero ? fallThrough : taken
        let walk = DeadWalk(function: function, start: start)
        let branch = SiteBranch(
            whenZero: walk.deadFrom(zeroSide, isSite: isSite) ? start + UInt64(zeroSide) : nil,
            whenNonZero: walk.deadFrom(nonZeroSide, isSite: isSite) ? start + UInt64(nonZeroSide) : nil,
            mask: mask)
        return branch.whenZero == nil && branch.whenNonZero == nil ? nil : branch
    }
}

/// The forward walk: from an offset, along every path, until `%rax` and all six flags are written,
/// a call, a trap, or a return (which reads `%rax`: the function's result). Gives up (false) on a
/// read of either before its write, an instruction `X86.effects` does not model, an indirect jump,
/// a branch out of the function, or more than `SiteBranch.budget` instructions.
private struct DeadWalk {
    let function: UnsafeRawBufferPointer
    let start: UInt64

    struct State: Hashable {
        var offset: Int
        var raxWritten: Bool
        var flagsWritten: UInt8
    }

    func deadFrom(_ offset: Int, isSite: (UInt64) -> Bool) -> Bool {
        var work = [State(offset: offset, raxWritten: false, flagsWritten: 0)]
        var seen: Set<State> = []
        var steps = 0
        while var s = work.popLast() {
            path: while true {
                guard seen.insert(s).inserted else { break path } // this path was checked from here already
                steps += 1
                guard steps <= SiteBranch.budget, s.offset >= 0, s.offset < function.count else { return false }
                if isSite(start + UInt64(s.offset)) { break path } // a call, whatever it holds now
                guard let insn = X86.decode(function, at: s.offset).instruction,
                      let e = X86.effects(function, at: s.offset) else { return false }
                if e.readsRAX && !s.raxWritten { return false }
                if e.flagsRead.rawValue & ~s.flagsWritten != 0 { return false }
                if e.traps { break path }
                s.raxWritten = s.raxWritten || e.writesRAX
                s.flagsWritten |= e.flagsWritten.rawValue
                if s.raxWritten && s.flagsWritten == X86.Flags.all.rawValue { break path }
                let next = s.offset + insn.length
                switch insn.branch {
                case .none:
                    s.offset = next
                case .callRel32, .indirectCall:
                    break path // the ABI: a call clobbers %rax and the flags, and reads neither (see SiteBranch)
                case let .jmpRel32(rel):
                    s.offset = next + Int(rel)
                case let .jmpRel8(rel):
                    s.offset = next + Int(rel)
                case .conditionalRel8:
                    work.append(State(offset: next + Int(Int8(bitPattern: function[next - 1])), raxWritten: s.raxWritten, flagsWritten: s.flagsWritten))
                    s.offset = next
                case .conditionalRel32:
                    let rel = function.loadUnaligned(fromByteOffset: next - 4, as: Int32.self).littleEndian
                    work.append(State(offset: next + Int(rel), raxWritten: s.raxWritten, flagsWritten: s.flagsWritten))
                    s.offset = next
                case .ret:
                    guard s.raxWritten else { return false }
                    break path
                case .indirectJump:
                    return false
                }
            }
        }
        return true
    }
}
