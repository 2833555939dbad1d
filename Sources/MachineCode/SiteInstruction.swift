/// Whether a call site is an ordinary call (`E8 rel32`) or a tail call (`E9 rel32`) to its trampoline.
public enum SiteKind: String, Sendable, Codable {
    case call
    case tail
}

/// The width of a function's integer (or `Bool`) result, which decides how a constant can be loaded.
public enum ConstantWidth: Int, Sendable {
    case bits8 = 8, bits16 = 16, bits32 = 32, bits64 = 64
}

/// What a key says its sites should do.
public enum KeyState: Equatable, Sendable {
    /// Call this address (the key's current target).
    case target(UInt64)
    /// Do nothing (`static_call_cond` with a NULL target); only for `Void` functions.
    case disabled
    /// Return this bit pattern without calling anything (`DEFINE_STATIC_CALL_RET0`, generalised).
    case constant(UInt64, ConstantWidth)
}

/// One state of a patchable x86-64 site: always exactly one instruction of exactly five bytes.
///
/// A thread interrupted between two instructions must resume at an instruction boundary in every
/// state, so no state may be two instructions (the kernel's i386 RET0 bug, 1cd5f059d956). Padding is
/// by prefixes (`2e`) as in the kernel's `2e 2e 2e 31 c0`, never by a second instruction.
public enum SiteInstruction: Equatable, Sendable, CustomStringConvertible {
    case call(UInt64)          // E8 rel32
    case jump(UInt64)          // E9 rel32
    case nop                   // 0F 1F 44 00 00
    case loadConstant(UInt64)  // the value of %rax afterwards; B8 imm32 or 2E 48 83 C8 FF
    case ret                   // C3 CC CC CC CC (the kernel's retinsn; bytes 1-4 are never executed)

    public static let length = 5
    public static let nop5: SiteBytes = [0x0f, 0x1f, 0x44, 0x00, 0x00]
    public static let ret5: SiteBytes = [0xc3, 0xcc, 0xcc, 0xcc, 0xcc]
    public static let orRaxMinusOne: SiteBytes = [0x2e, 0x48, 0x83, 0xc8, 0xff]

    /// The rel32 of a branch at `site` to `target`, or nil if it is out of ±2 GiB reach.
    public static func rel32(from site: UInt64, to target: UInt64) -> Int32? {
        let next = site &+ 5
        let delta = Int64(bitPattern: target &- next)
        guard delta >= Int64(Int32.min), delta <= Int64(Int32.max) else { return nil }
        return Int32(delta)
    }

    /// The five bytes of this instruction at `site`, or nil if it cannot be encoded there
    /// (a branch target out of rel32 reach, or a constant no single 5-byte instruction loads).
    public func encode(at site: UInt64) -> SiteBytes? {
        switch self {
        case let .call(target), let .jump(target):
            guard let rel = Self.rel32(from: site, to: target) else { return nil }
            let opcode: UInt8
            if case .call = self { opcode = 0xe8 } else { opcode = 0xe9 }
            return SiteBytes(opcode: opcode, imm32: UInt32(bitPattern: rel))
        case .nop:
            return Self.nop5
        case .ret:
            return Self.ret5
        case let .loadConstant(rax):
            // mov $imm32, %eax zero-extends into %rax
            if rax <= 0xffff_ffff { return SiteBytes(opcode: 0xb8, imm32: UInt32(rax)) }
            if rax == UInt64.max { return Self.orRaxMinusOne } // cs or $-1,%rax
            return nil
        }
    }

    /// Recognises the five bytes at `site` as one of the states, or nil.
    public static func recognise(_ bytes: some Collection<UInt8>, at site: UInt64) -> SiteInstruction? {
        SiteBytes(bytes).flatMap { recognise($0, at: site) }
    }

    /// Recognises a site's five bytes as one of the states, or nil.
    public static func recognise(_ b: SiteBytes, at site: UInt64) -> SiteInstruction? {
        let imm = UInt32(truncatingIfNeeded: b.word >> 8)
        let target = site &+ 5 &+ UInt64(bitPattern: Int64(Int32(bitPattern: imm)))
        switch b[0] {
        case 0xe8: return .call(target)
        case 0xe9: return .jump(target)
        case 0xb8: return .loadConstant(UInt64(imm))
        default:
            if b == nop5 { return .nop }
            if b == ret5 { return .ret }
            if b == orRaxMinusOne { return .loadConstant(.max) }
            return nil
        }
    }

    public var description: String {
        switch self {
        case let .call(t): return "call 0x\(String(t, radix: 16))"
        case let .jump(t): return "jmp 0x\(String(t, radix: 16))"
        case .nop: return "nop"
        case let .loadConstant(v): return "load \(Int64(bitPattern: v))"
        case .ret: return "ret"
        }
    }
}

/// Decides what a site should hold for a key state: pure policy, no I/O.
public enum SitePlanner {
    /// The instruction a site of `kind` at `site` should hold when its key is in `state`, and, when
    /// that is the trampoline itself rather than the state inline, why.
    ///
    /// `constantFunction` gives a function that returns a value of `%rax` (nil if there is none): a tail
    /// site of a key holding that constant jumps there (one instruction) instead of staying on the
    /// trampoline, a call site whose constant needs more than a 5-byte load calls it, and a disabled
    /// tail site jumps to the one returning 0.
    ///
    /// `branch` is the key branch the site feeds (`SiteBranch`), if proven: a call site of a key holding a
    /// constant then jumps straight to the side the constant takes, instead of loading it for the
    /// `test` and `jcc` after it (the kernel's static branch: one instruction, no load, no test).
    ///
    /// `stub` gives, for an address out of rel32 reach of the site, a `FarJumpStub` within reach that
    /// jumps there (or nil: the site stays on the trampoline, with the reason). It comes first, so that a
    /// trailing closure is always the stub (both have the same type): with `constantFunction:` given,
    /// `stub:` must be given by label too.
    public static func plan(_ state: KeyState, kind: SiteKind, site: UInt64, trampoline: UInt64,
                            branch: SiteBranch? = nil,
                            stub: (UInt64) -> UInt64? = { _ in nil },
                            constantFunction: (UInt64) -> UInt64? = { _ in nil }) -> (SiteInstruction, reason: String?) {
        let viaTrampoline: SiteInstruction = kind == .call ? .call(trampoline) : .jump(trampoline)
        /// `address` itself if a rel32 at the site reaches it, else a stub that does.
        func reachable(_ address: UInt64) -> UInt64? {
            if SiteInstruction.jump(address).encode(at: site) != nil { return address }
            return stub(address).flatMap { SiteInstruction.jump($0).encode(at: site) != nil ? $0 : nil }
        }
        switch state {
        case let .target(target):
            guard let to = reachable(target) else {
                return (viaTrampoline, "target 0x\(String(target, radix: 16)) is out of rel32 reach and has no stub within it")
            }
            return (kind == .call ? .call(to) : .jump(to), nil)
        case .disabled:
            guard kind == .tail else { return (.nop, nil) }
            // Not `ret`: every tail state starts with E9, so that a first byte written back by someone
            // else (a uprobe on the function entry, detached) still makes the site a whole jump.
            if let f = constantFunction(0), let to = reachable(f) { return (.jump(to), nil) }
            return (viaTrampoline, "a disabled tail site jumps to a return stub, which is out of rel32 reach")
        case let .constant(bits, width):
            let rax = width == .bits64 ? bits : bits & 0xffff_ffff
            /// A function returning the constant (asked for by the key's value, as `$f.target` asks, so
            /// that both share it; a narrow key reads only the low bits), or why there is none.
            func returning() -> (UInt64?, String) {
                guard let f = constantFunction(bits) else { return (nil, "no function returning it is left (every one holds another constant)") }
                guard let to = reachable(f) else { return (nil, "the function returning it is out of rel32 reach and has no stub within it") }
                return (to, "")
            }
            guard kind == .call else {
                let (to, why) = returning()
                if let to { return (.jump(to), nil) }
                return (viaTrampoline, "a tail site cannot return the constant \(Int64(bitPattern: bits)) in one instruction: \(why)")
            }
            if let to = branch?.destination(for: bits), SiteInstruction.jump(to).encode(at: site) != nil {
                return (.jump(to), nil)
            }
            let insn = SiteInstruction.loadConstant(rax)
            if insn.encode(at: site) != nil { return (insn, nil) }
            // A direct call of a function that returns the constant: no load of the key's state.
            let (to, why) = returning()
            if let to { return (.call(to), nil) }
            return (viaTrampoline, "constant \(Int64(bitPattern: bits)) needs more than one 5-byte instruction: \(why)")
        }
    }
}
