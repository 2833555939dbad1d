/// What one instruction does to `%rax` and the arithmetic flags: the def-use facts the branch proof
/// (`SiteBranch`) needs, and no more. Conservative by construction: an instruction it does not model
/// is `nil` (the proof gives up), any mention of register 0 in an operand counts as a read of `%rax`
/// (even where it names `%xmm0`, or is a write), and a write counts only where it certainly replaces
/// all 64 bits. Pure.
extension X86 {
    /// The six arithmetic flags as a bit set.
    public struct Flags: OptionSet, Sendable, Hashable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let carry = Flags(rawValue: 1)
        public static let parity = Flags(rawValue: 2)
        public static let adjust = Flags(rawValue: 4)
        public static let zero = Flags(rawValue: 8)
        public static let sign = Flags(rawValue: 16)
        public static let overflow = Flags(rawValue: 32)
        public static let all: Flags = [.carry, .parity, .adjust, .zero, .sign, .overflow]

        /// The flags a condition code (the low nibble of `jcc`, `setcc`, `cmovcc`) reads.
        public static func read(byCondition cc: UInt8) -> Flags {
            switch (cc & 0x0f) >> 1 {
            case 0: return .overflow
            case 1: return .carry
            case 2: return .zero
            case 3: return [.carry, .zero]
            case 4: return .sign
            case 5: return .parity
            case 6: return [.sign, .overflow]
            default: return [.zero, .sign, .overflow]
            }
        }
    }

    /// An instruction's effects on `%rax` and the flags.
    public struct Effects: Equatable, Sendable {
        /// Whether it may read any part of `%rax` (`%al`, `%ah`, `%ax`, `%eax`, `%rax`).
        public var readsRAX = false
        /// Whether it certainly writes all 64 bits of `%rax` (a 32-bit write zero-extends).
        public var writesRAX = false
        public var flagsRead: Flags = []
        /// The flags it certainly writes (a flag the SDM leaves undefined counts as written: no compiled
        /// code reads an undefined flag).
        public var flagsWritten: Flags = []
        /// `ud2`: execution ends here (Swift's traps).
        public var traps = false
    }

    /// The effects of the instruction at `offset` (already decoded by `decode`), or nil when this does
    /// not model it.
    public static func effects(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> Effects? {
        guard let insn = decode(bytes, at: offset).instruction else { return nil }
        let end = offset + insn.length
        var i = offset
        var operand16 = false, rex: UInt8 = 0
        prefixes: while i < end {
            switch bytes[i] {
            case 0x66: operand16 = true; rex = 0
            case 0x67, 0xf2, 0xf3, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65: rex = 0
            case 0xf0: return nil // a locked read-modify-write: not worth modelling
            case 0x40...0x4f: rex = bytes[i]
            default: break prefixes
            }
            i += 1
        }
        guard i < end else { return nil }
        let opcode = bytes[i]
        i += 1
        var e = Effects()

        func legacy(byteOperands: Bool) -> ModRM? {
            ModRM(bytes, at: i, end: end, rexR: rex & 4 != 0, rexX: rex & 2 != 0, rexB: rex & 1 != 0,
                  byteOperands: byteOperands, anyREX: rex != 0)
        }
        /// Every register operand and address register counts as read. In a group (`80`-`83`, the
        /// shifts, `F6`/`F7`, `FE`/`FF`) the reg field is part of the opcode, not a register.
        func readingAll(_ o: ModRM, group: Bool = false) -> Effects {
            var r = e
            r.readsRAX = (o.regIsRAX && !group) || o.rmIsRAX || o.addressUsesRAX
            return r
        }
        /// The r/m operand (and the address) is read, the reg operand written: `mov r, r/m` and its kin.
        /// `full` when the write replaces all 64 bits.
        func loadingReg(_ o: ModRM, full: Bool) -> Effects {
            var r = e
            r.readsRAX = o.rmIsRAX || o.addressUsesRAX
            r.writesRAX = full && o.reg == 0 && !r.readsRAX
            return r
        }

        switch opcode {
        case 0x0f:
            return twoByte(bytes, at: i, end: end, rex: rex, operand16: operand16)
        case 0x00...0x3f:
            let aluOp = opcode >> 3, form = opcode & 7
            let flagsRead: Flags = aluOp == 2 || aluOp == 3 ? .carry : []
            switch form {
            case 0...3:
                guard let o = legacy(byteOperands: form & 1 == 0) else { return nil }
                // `xor %eax,%eax` and `sub %eax,%eax`: zero idioms, which read nothing.
                if (aluOp == 5 || aluOp == 6) && o.isRegister && o.reg == o.rm && form & 1 == 1 {
                    e.writesRAX = o.reg == 0 && !operand16
                } else {
                    e = readingAll(o)
                }
                e.flagsRead = flagsRead
                e.flagsWritten = .all
            case 4, 5:
                e.readsRAX = true // op %al/%eax, imm
                e.flagsRead = flagsRead
                e.flagsWritten = .all
            default:
                return nil // prefixes and opcodes invalid in 64-bit mode
            }
        case 0x50...0x57:
            e.readsRAX = (opcode & 7 | (rex & 1 != 0 ? 8 : 0)) == 0
        case 0x58...0x5f:
            e.writesRAX = (opcode & 7 | (rex & 1 != 0 ? 8 : 0)) == 0 && !operand16
        case 0x63:
            guard let o = legacy(byteOperands: false) else { return nil }
            e = loadingReg(o, full: !operand16)
        case 0x68, 0x6a:
            break
        case 0x69, 0x6b:
            guard let o = legacy(byteOperands: false) else { return nil }
            e = readingAll(o)
            e.flagsWritten = .all // CF and OF defined, the rest undefined
        case 0x70...0x7f:
            guard !operand16 else { return nil } // AMD truncates the target to 16 bits
            e.flagsRead = .read(byCondition: opcode)
        case 0x80...0x83:
            guard let o = legacy(byteOperands: opcode == 0x80) else { return nil }
            e = readingAll(o, group: true)
            e.flagsRead = o.regField == 2 || o.regField == 3 ? .carry : []
            e.flagsWritten = .all
        case 0x84, 0x85:
            guard let o = legacy(byteOperands: opcode == 0x84) else { return nil }
            e = readingAll(o)
            e.flagsWritten = .all
        case 0x88, 0x89:
            guard let o = legacy(byteOperands: opcode == 0x88) else { return nil }
            e.readsRAX = o.regIsRAX || o.addressUsesRAX || (o.rmIsRAX && opcode == 0x88)
            e.writesRAX = opcode == 0x89 && o.rmIsRAX && !operand16 && !o.regIsRAX
            if o.rmIsRAX && !e.writesRAX { e.readsRAX = true } // a partial write: say read, to stay simple
        case 0x8a, 0x8b:
            guard let o = legacy(byteOperands: opcode == 0x8a) else { return nil }
            e = loadingReg(o, full: opcode == 0x8b && !operand16)
            if o.regIsRAX && !e.writesRAX { e.readsRAX = true }
        case 0x8d:
            guard let o = legacy(byteOperands: false), !o.isRegister else { return nil }
            e = loadingReg(o, full: !operand16)
        case 0x90 where rex & 1 == 0:
            break // nop (and pause)
        case 0xb0...0xb7:
            let reg = opcode & 7 | (rex & 1 != 0 ? 8 : 0)
            e.readsRAX = reg == 0 || (rex == 0 && reg == 4) // a partial write: say read
        case 0xb8...0xbf:
            let reg = opcode & 7 | (rex & 1 != 0 ? 8 : 0)
            if reg == 0 { if operand16 { e.readsRAX = true } else { e.writesRAX = true } }
        case 0xc0, 0xc1, 0xd0...0xd3:
            guard let o = legacy(byteOperands: opcode & 1 == 0) else { return nil }
            e = readingAll(o, group: true)
            if o.regField == 2 || o.regField == 3 { e.flagsRead = .carry } // rcl, rcr
            // The other shifts write the flags only for a count that is not zero: never a kill here.
        case 0xc2, 0xc3, 0xc9:
            break // ret (the proof decides what a return reads), leave
        case 0xc6, 0xc7:
            guard let o = legacy(byteOperands: opcode == 0xc6), o.regField == 0 else { return nil }
            e.readsRAX = o.addressUsesRAX
            if o.rmIsRAX { if opcode == 0xc7 && !operand16 { e.writesRAX = true } else { e.readsRAX = true } }
        case 0xe0...0xe2:
            guard !operand16 else { return nil }
            e.flagsRead = opcode == 0xe2 ? [] : .zero // loopne, loope read ZF
        case 0xe3, 0xe8, 0xe9, 0xeb:
            guard !operand16 else { return nil } // AMD truncates the target to 16 bits

        case 0xf5:
            e.flagsRead = .carry
            e.flagsWritten = .carry
        case 0xf8, 0xf9:
            e.flagsWritten = .carry
        case 0xfc, 0xfd:
            break // DF: the ABI keeps it clear, and no site touches it
        case 0xf6, 0xf7:
            guard let o = legacy(byteOperands: opcode == 0xf6) else { return nil }
            switch o.regField {
            case 0, 1, 3: e = readingAll(o, group: true); e.flagsWritten = .all // test, neg
            case 2: e = readingAll(o, group: true) // not
            default: e.readsRAX = true // mul, imul, div, idiv use %rax
            }
        case 0xfe, 0xff:
            guard let o = legacy(byteOperands: opcode == 0xfe) else { return nil }
            switch o.regField {
            case 0, 1: e = readingAll(o, group: true); e.flagsWritten = Flags.all.subtracting(.carry) // inc, dec keep CF
            case 2, 4, 6: // indirect call, jmp, push
                guard opcode == 0xff else { return nil }
                e = readingAll(o, group: true)
            default: return nil
            }
        case 0xc4, 0xc5, 0x62:
            return vectorExtension(bytes, opcode: opcode, at: i, end: end)
        default:
            return nil
        }
        return e
    }

    /// The `0F` map (and `0F 38`, `0F 3A`).
    private static func twoByte(_ bytes: UnsafeRawBufferPointer, at start: Int, end: Int, rex: UInt8, operand16: Bool) -> Effects? {
        guard start < end else { return nil }
        let op = bytes[start]
        var p = start + 1
        var map: UInt8 = 1
        if op == 0x38 || op == 0x3a {
            guard p < end else { return nil }
            map = op == 0x38 ? 2 : 3
        }
        let op2 = map == 1 ? op : bytes[p]
        if map != 1 { p += 1 }
        var e = Effects()
        func operands(byte: Bool = false) -> ModRM? {
            ModRM(bytes, at: p, end: end, rexR: rex & 4 != 0, rexX: rex & 2 != 0, rexB: rex & 1 != 0,
                  byteOperands: byte, anyREX: rex != 0)
        }
        if map == 1 {
            switch op2 {
            case 0x0b:
                e.traps = true
                return e
            case 0x1e, 0x1f:
                return e // nop, endbr64 and hints: no operand is accessed
            case 0x40...0x4f:
                guard let o = operands() else { return nil }
                e.readsRAX = o.regIsRAX || o.rmIsRAX || o.addressUsesRAX
                e.flagsRead = .read(byCondition: op2)
            case 0x80...0x8f:
                e.flagsRead = .read(byCondition: op2)
            case 0x90...0x9f:
                guard let o = operands(byte: true) else { return nil }
                e.readsRAX = o.rmIsRAX || o.addressUsesRAX // setcc writes a byte: a partial write counts as a read
                e.flagsRead = .read(byCondition: op2)
            case 0xb6, 0xb7, 0xbe, 0xbf:
                guard let o = operands(byte: op2 == 0xb6 || op2 == 0xbe) else { return nil }
                e.readsRAX = o.rmIsRAX || o.addressUsesRAX
                if o.reg == 0 { if operand16 { e.readsRAX = true } else if !e.readsRAX { e.writesRAX = true } }
            case 0xa3, 0xab, 0xb3, 0xbb, 0xba:
                guard let o = operands() else { return nil }
                if op2 == 0xba && o.regField < 4 { return nil }
                e.readsRAX = o.regIsRAX || o.rmIsRAX || o.addressUsesRAX
                e.flagsWritten = .carry // bt family: CF; the rest undefined
            case 0xaf, 0xb8, 0xbc, 0xbd:
                guard let o = operands() else { return nil }
                e.readsRAX = o.regIsRAX || o.rmIsRAX || o.addressUsesRAX
                e.flagsWritten = op2 == 0xaf || op2 == 0xb8 ? .all : [] // imul; popcnt
            case 0x10...0x17, 0x28...0x2d, 0x50...0x7f, 0xc2, 0xc4...0xc6, 0xd0...0xfe, 0x18, 0x0d,
                 0xa4, 0xa5, 0xac, 0xad, 0xc0, 0xc1:
                guard let o = operands(byte: op2 == 0xc0) else { return nil } // xadd r/m8, r8 names %ah
                e.readsRAX = o.regIsRAX || o.rmIsRAX || o.addressUsesRAX
            case 0x2e, 0x2f:
                guard let o = operands() else { return nil }
                e.readsRAX = o.regIsRAX || o.rmIsRAX || o.addressUsesRAX
                e.flagsWritten = .all // ucomis/comis: ZF PF CF set, OF SF AF cleared
            case 0xc8...0xcf:
                e.readsRAX = (op2 & 7 | (rex & 1 != 0 ? 8 : 0)) == 0
            default:
                return nil
            }
            return e
        }
        // 0F 38 and 0F 3A: SSE4, AES, SHA, CRC32, MOVBE. ADCX/ADOX read flags; PCMPESTR* read %rax and
        // PCMP*STR* write flags: none of them is modelled.
        if map == 2 && op2 == 0xf6 { return nil }
        if map == 3 && (0x60...0x63).contains(op2) { return nil }
        guard let o = operands(byte: map == 2 && op2 == 0xf0) else { return nil } // crc32b r, r/m8 names %ah
        e.readsRAX = o.regIsRAX || o.rmIsRAX || o.addressUsesRAX
        return e
    }

    /// VEX and EVEX: vector instructions and BMI. None reads the flags; register 0 in ModRM (or in BMI's
    /// `vvvv`) counts as `%rax`.
    private static func vectorExtension(_ bytes: UnsafeRawBufferPointer, opcode: UInt8, at start: Int, end: Int) -> Effects? {
        var p = start
        var rexR = false, rexX = false, rexB = false, vvvv: UInt8 = 15, map: UInt8 = 1
        guard p < end else { return nil }
        switch opcode {
        case 0xc5:
            rexR = bytes[p] & 0x80 == 0
            vvvv = ~(bytes[p] >> 3) & 15
            p += 1
        case 0xc4:
            guard p + 1 < end else { return nil }
            rexR = bytes[p] & 0x80 == 0; rexX = bytes[p] & 0x40 == 0; rexB = bytes[p] & 0x20 == 0
            map = bytes[p] & 0x1f
            vvvv = ~(bytes[p + 1] >> 3) & 15
            p += 2
        default:
            guard p + 2 < end else { return nil }
            rexR = bytes[p] & 0x80 == 0; rexX = bytes[p] & 0x40 == 0; rexB = bytes[p] & 0x20 == 0
            map = bytes[p] & 0x07
            vvvv = ~(bytes[p + 1] >> 3) & 15
            p += 3
        }
        guard p < end else { return nil }
        let op = bytes[p]
        p += 1
        if map == 3 && (0x60...0x63).contains(op) { return nil } // vpcmpestr* read %rax
        var e = Effects()
        // `vvvv` names a general register only in BMI's ANDN, BLS*, BZHI, PDEP, PEXT, MULX, BEXTR and
        // SHLX/SARX/SHRX (where "unused", 1111, would read as register 0); elsewhere a vector register.
        e.readsRAX = vvvv == 0 && map == 2 && [0xf2, 0xf3, 0xf5, 0xf6, 0xf7].contains(op)
        if map == 1 && op == 0x77 { return e } // vzeroupper, vzeroall
        guard let o = ModRM(bytes, at: p, end: end, rexR: rexR, rexX: rexX, rexB: rexB, byteOperands: false, anyREX: true) else { return nil }
        if o.regIsRAX || o.rmIsRAX || o.addressUsesRAX { e.readsRAX = true }
        return e
    }
}

/// A ModRM operand pair (and its SIB), as far as `%rax` is concerned.
struct ModRM {
    var mod: UInt8, reg: UInt8, rm: UInt8
    /// Whether the reg operand, the r/m register operand, or a register of the address is register 0
    /// (or `%ah`: register 4 of a byte operand without REX).
    var regIsRAX: Bool, rmIsRAX: Bool, addressUsesRAX: Bool
    var isRegister: Bool { mod == 3 }
    /// The reg field without REX.R: the opcode extension of a group.
    var regField: UInt8 { reg & 7 }

    init?(_ bytes: UnsafeRawBufferPointer, at p: Int, end: Int, rexR: Bool, rexX: Bool, rexB: Bool, byteOperands: Bool, anyREX: Bool) {
        guard p < end else { return nil }
        let modrm = bytes[p]
        mod = modrm >> 6
        reg = (modrm >> 3) & 7 | (rexR ? 8 : 0)
        rm = modrm & 7 | (rexB ? 8 : 0)
        let isAH = { (n: UInt8) in byteOperands && !anyREX && n == 4 }
        var address = false
        if mod != 3 {
            if modrm & 7 == 4 {
                guard p + 1 < end else { return nil }
                let sib = bytes[p + 1]
                if (sib >> 3) & 7 | (rexX ? 8 : 0) == 0 { address = true } // index 4 (no index) is never 0
                if !(mod == 0 && sib & 7 == 5) && sib & 7 | (rexB ? 8 : 0) == 0 { address = true }
            } else if !(mod == 0 && modrm & 7 == 5) { // not %rip-relative
                address = rm == 0
            }
        }
        regIsRAX = reg == 0 || isAH(reg)
        rmIsRAX = mod == 3 && (rm == 0 || isAH(rm))
        addressUsesRAX = address
    }
}
