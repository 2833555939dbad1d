/// x86-64 instruction facts, for the instructions compilers emit in user space.
public enum X86 {
    /// What control flow an instruction has, for the few kinds the patcher needs to recognise.
    public enum Branch: Equatable, Sendable {
        case none
        case callRel32(Int32)   // E8 rel32
        case jmpRel32(Int32)    // E9 rel32
        case jmpRel8(Int8)      // EB rel8
        case conditionalRel32   // 0F 8x rel32
        case conditionalRel8    // 7x rel8, loop, jrcxz
        case ret                // C3, C2 iw
        case indirectCall       // FF /2, FF /3
        case indirectJump       // FF /4, FF /5
    }

    public struct Instruction: Equatable, Sendable {
        /// Length in bytes, prefixes included (1...15).
        public var length: Int
        public var branch: Branch
        public init(length: Int, branch: Branch = .none) {
            self.length = length
            self.branch = branch
        }
    }

    /// The outcome of decoding at one offset.
    public enum Decoded: Equatable, Sendable {
        case instruction(Instruction)
        /// The bytes are not an instruction this decoder knows (it never guesses a length).
        case unknown(String)
        /// The buffer ends inside the instruction.
        case truncated

        public var instruction: Instruction? {
            if case let .instruction(i) = self { return i }
            return nil
        }
    }

    /// Decodes the length (and branch kind) of the instruction at `offset` in `bytes`.
    ///
    /// Covers legacy prefixes, REX, the one-byte, 0F, 0F38 and 0F3A maps, x87, VEX2/VEX3, EVEX (maps
    /// 1, 2, 3, 5, 6), ENDBR64, UD2 and multi-byte NOPs. Says `.unknown` for invalid-in-64-bit opcodes,
    /// XOP, 3DNow!, AMD's SSE4a EXTRQ/INSERTQ with immediates, and operand-size-prefixed relative branches
    /// (whose length differs between Intel and AMD).
    public static func decode(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> Decoded {
        guard offset >= 0, offset < bytes.count else { return .truncated }
        let end = min(bytes.count, offset + 15)
        var i = offset
        var operand16 = false, address32 = false, rex: UInt8 = 0, repeatPrefix: UInt8 = 0

        // Prefixes. A REX prefix counts only immediately before the opcode.
        prefixes: while true {
            guard i < end else { return i - offset >= 15 ? .unknown("more than 15 bytes of prefixes") : .truncated }
            let b = bytes[i]
            switch b {
            case 0x66: operand16 = true; rex = 0
            case 0x67: address32 = true; rex = 0
            case 0xf2, 0xf3: repeatPrefix = b; rex = 0
            case 0xf0, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65: rex = 0
            case 0x40...0x4f: rex = b
            default: break prefixes
            }
            i += 1
        }
        let rexW = rex & 0x08 != 0
        let immZ = operand16 && !rexW ? 2 : 4
        let opcode = bytes[i]
        i += 1

        var immediate = 0
        var branch = Branch.none
        var needsModRM = false
        var modrmRegImmediate: (reg0or1: Int, other: Int)? = nil // F6/F7: TEST has an immediate

        func invalid(_ what: String) -> Decoded { .unknown("\(what) at +\(i - 1 - offset)") }

        switch opcode {
        case 0x0f:
            guard i < end else { return i - offset >= 15 ? .unknown("too long") : .truncated }
            let op2 = bytes[i]
            i += 1
            switch op2 {
            case 0x00...0x03, 0x0d, 0x10...0x1f, 0x28...0x2f, 0x40...0x6f, 0x74...0x76, 0x79, 0x7c...0x7f,
                 0x90...0x9f, 0xa3, 0xa5, 0xab, 0xad, 0xae, 0xaf, 0xb0...0xb9, 0xbb...0xbf,
                 0xc0, 0xc1, 0xc3, 0xc7, 0xd0...0xfe:
                needsModRM = true
            case 0x20...0x23:
                // MOV to/from control and debug registers: "the 2 bits in the mod field are ignored"
                // (SDM Vol. 2B): always one ModRM byte, never a SIB or displacement.
                guard i < end else { return i - offset >= 15 ? .unknown("too long") : .truncated }
                i += 1
            case 0xff:
                return invalid("UD0 (0f ff): Intel reads a ModRM byte, AMD does not")
            case 0x05...0x09, 0x0b, 0x0e, 0x30...0x35, 0x37, 0x77, 0xa0...0xa2, 0xa8...0xaa, 0xc8...0xcf:
                break
            case 0x70...0x73, 0xa4, 0xac, 0xba, 0xc2, 0xc4...0xc6:
                needsModRM = true; immediate = 1
            case 0x78:
                if operand16 || repeatPrefix == 0xf2 { return invalid("SSE4a EXTRQ/INSERTQ with immediates") }
                needsModRM = true
            case 0x80...0x8f:
                if operand16 { return invalid("operand-size prefix on a relative branch") }
                immediate = 4; branch = .conditionalRel32
            case 0x38:
                guard i < end else { return i - offset >= 15 ? .unknown("too long") : .truncated }
                i += 1
                needsModRM = true
            case 0x3a:
                guard i < end else { return i - offset >= 15 ? .unknown("too long") : .truncated }
                i += 1
                needsModRM = true; immediate = 1
            case 0x0f: return invalid("3DNow! instruction")
            default: return invalid("invalid opcode 0f \(hex(op2))")
            }

        case 0xc4, 0xc5, 0x62:
            if rex != 0 || operand16 || repeatPrefix != 0 { return invalid("VEX/EVEX after a REX, 66, F2 or F3 prefix") }
            let payload = opcode == 0xc5 ? 1 : (opcode == 0xc4 ? 2 : 3)
            guard i + payload < end else { return i + payload >= offset + 15 ? .unknown("too long") : .truncated }
            let map: UInt8
            if opcode == 0xc5 { map = 1 } else if opcode == 0xc4 { map = bytes[i] & 0x1f } else { map = bytes[i] & 0x07 }
            i += payload
            let op = bytes[i]
            i += 1
            switch map {
            case 1:
                if op == 0x77 && opcode != 0x62 { break } // VZEROUPPER / VZEROALL have no ModRM
                needsModRM = true
                if (0x70...0x73).contains(op) || op == 0xc2 || (0xc4...0xc6).contains(op) { immediate = 1 }
            case 2:
                needsModRM = true
            case 3:
                needsModRM = true; immediate = 1
            case 5 where opcode == 0x62, 6 where opcode == 0x62:
                needsModRM = true
            default:
                return invalid("VEX/EVEX map \(map)")
            }

        case 0x8f:
            guard i < end else { return i - offset >= 15 ? .unknown("too long") : .truncated }
            if (bytes[i] >> 3) & 7 != 0 { return invalid("XOP instruction") }
            needsModRM = true

        case 0x00...0x03, 0x08...0x0b, 0x10...0x13, 0x18...0x1b, 0x20...0x23, 0x28...0x2b, 0x30...0x33,
             0x38...0x3b, 0x63, 0x84...0x8e, 0xd0...0xd3, 0xd8...0xdf, 0xfe:
            needsModRM = true
        case 0x04, 0x0c, 0x14, 0x1c, 0x24, 0x2c, 0x34, 0x3c, 0x6a, 0xa8, 0xb0...0xb7, 0xcd, 0xe4...0xe7:
            immediate = 1
        case 0x05, 0x0d, 0x15, 0x1d, 0x25, 0x2d, 0x35, 0x3d, 0x68, 0xa9:
            immediate = immZ
        case 0x50...0x5f, 0x6c...0x6f, 0x90...0x99, 0x9b...0x9f, 0xa4...0xa7, 0xaa...0xaf, 0xc9, 0xcb, 0xcc,
             0xcf, 0xd7, 0xec...0xef, 0xf1, 0xf4, 0xf5, 0xf8...0xfd:
            break
        case 0x69: needsModRM = true; immediate = immZ
        case 0x6b, 0x80, 0x83, 0xc0, 0xc1, 0xc6: needsModRM = true; immediate = 1
        case 0x81, 0xc7: needsModRM = true; immediate = immZ
        case 0x70...0x7f, 0xe0...0xe3: immediate = 1; branch = .conditionalRel8
        case 0xa0...0xa3: immediate = address32 ? 4 : 8
        case 0xb8...0xbf: immediate = rexW ? 8 : (operand16 ? 2 : 4)
        case 0xc2: immediate = 2; branch = .ret
        case 0xc3: branch = .ret
        case 0xca: immediate = 2
        case 0xc8: immediate = 3
        case 0xe8, 0xe9:
            if operand16 { return invalid("operand-size prefix on a relative branch") }
            guard i + 4 <= end else { return i + 4 > offset + 15 ? .unknown("too long") : .truncated }
            let rel = Int32(bitPattern: UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24)
            immediate = 4
            branch = opcode == 0xe8 ? .callRel32(rel) : .jmpRel32(rel)
        case 0xeb:
            guard i < end else { return .truncated }
            immediate = 1; branch = .jmpRel8(Int8(bitPattern: bytes[i]))
        case 0xf6: needsModRM = true; modrmRegImmediate = (1, 0)
        case 0xf7: needsModRM = true; modrmRegImmediate = (immZ, 0)
        case 0xff:
            guard i < end else { return i - offset >= 15 ? .unknown("too long") : .truncated }
            switch (bytes[i] >> 3) & 7 {
            case 2, 3: branch = .indirectCall
            case 4, 5: branch = .indirectJump
            case 7: return invalid("invalid opcode ff /7")
            default: break
            }
            needsModRM = true
        default:
            return invalid("opcode \(hex(opcode)) is invalid in 64-bit mode")
        }

        if needsModRM {
            guard i < end else { return i - offset >= 15 ? .unknown("too long") : .truncated }
            let modrm = bytes[i]
            i += 1
            let mod = modrm >> 6, rm = modrm & 7
            if let (testImm, otherImm) = modrmRegImmediate {
                immediate = (modrm >> 3) & 7 <= 1 ? testImm : otherImm
            }
            if mod != 3 {
                if rm == 4 {
                    guard i < end else { return i - offset >= 15 ? .unknown("too long") : .truncated }
                    let sib = bytes[i]
                    i += 1
                    if mod == 0 && sib & 7 == 5 { i += 4 }
                }
                if mod == 0 && rm == 5 { i += 4 } else if mod == 1 { i += 1 } else if mod == 2 { i += 4 }
            }
        }
        i += immediate
        let length = i - offset
        if length > 15 { return .unknown("instruction longer than 15 bytes") }
        if i > bytes.count { return .truncated }
        return .instruction(Instruction(length: length, branch: branch))
    }

    static func hex(_ b: UInt8) -> String {
        let s = String(b, radix: 16)
        return s.count == 1 ? "0" + s : s
    }

    /// Bytes in hex, space-separated, as `objdump` shows them (the report's and the messages' form).
    public static func hex(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { hex($0) }.joined(separator: " ")
    }
}
