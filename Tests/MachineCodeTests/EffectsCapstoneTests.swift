import Foundation
import MachineCode
import Testing

/// `X86.effects` (what the static-branch proof believes an instruction does to `%rax` and the flags)
/// against Capstone's register and flag access lists, on every distinct instruction of real libraries:
/// LLVM's output in Swift's runtime, gcc's in libc and libstdc++, hand-written assembly in libcrypto.
///
/// The proof is sound only if `effects` never claims less reading or more writing than the instruction
/// does: no read of `%rax` Capstone sees that we miss, no flag Capstone says is tested that we do not
/// list, no full write of `%rax` or write of a flag that Capstone does not see. The opposite mistakes
/// (claiming a read that is not there) only make the proof give up, and are allowed.
@Suite("x86-64 def-use facts against Capstone")
struct EffectsCapstoneTests {
    @Test func effectsNeverClaimLessReadingOrMoreWritingThanCapstone() throws {
        let capstone = try Capstone()
        var libraries = loadedToolchainLibraries(named: ["libswiftCore.so", "libFoundation.so"])
        libraries += ["/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libstdc++.so.6"]
        if let crypto = try ldconfigPath(of: "libcrypto.so.3") { libraries.append(crypto) }
        let present = libraries.filter { FileManager.default.isReadableFile(atPath: $0) }
        try #require(present.count >= 2, "too few libraries to compare on: \(present)")

        // Every distinct instruction our decoder reaches from a function start, and whether we model it.
        var seen: Set<[UInt8]> = []
        var modelled: [[UInt8]] = []
        var decoded = 0
        for path in present {
            try withFileBytes(path) { bytes in
                let elf = try ELFFile(bytes: bytes)
                let image = elf.imageView()
                guard let header = elf.programHeaders.first(where: { $0.type == ProgramHeader.ehFrameHeader }) else { return }
                let index = try EHFrameIndex(image: image, headerAddress: header.virtualAddress)
                for function in index.allFunctions() {
                    guard let code = image.bytes(of: function) else { continue }
                    var offset = 0
                    while let insn = X86.decode(code, at: offset).instruction {
                        decoded += 1
                        let instruction = Array(code[offset..<offset + insn.length])
                        if seen.insert(instruction).inserted, X86.effects(code, at: offset) != nil { modelled.append(instruction) }
                        offset += insn.length
                    }
                }
            }
        }

        var request = Data()
        for bytes in modelled {
            request.append(UInt8(bytes.count))
            request.append(contentsOf: bytes)
        }
        let answer = Array(try capstone.call("effects", request))
        try #require(answer.count == 5 * modelled.count, "capstone answered \(answer.count / 5) of \(modelled.count) instructions")

        var compared = 0
        var disagreements: [String] = []
        var excused: [String: Int] = [:]
        for (k, bytes) in modelled.enumerated() {
            let theirs = answer[5 * k..<5 * k + 5].map { $0 }
            guard theirs[0] == 1 else { continue } // capstone decodes nothing: the length tests cover that
            compared += 1
            let ours = bytes.withUnsafeBytes { X86.effects($0, at: 0)! }
            let theirReadsRAX = theirs[1] == 1, theirWritesRAX = theirs[2] == 1
            let theirTested = X86.Flags(rawValue: theirs[3]), theirWritten = X86.Flags(rawValue: theirs[4])
            var problems: [String] = []
            if theirReadsRAX && !ours.readsRAX {
                if let mistake = Self.capstoneListsAnUnusedRead(bytes) { excused[mistake, default: 0] += 1 } else {
                    problems.append("capstone reads %rax, we do not")
                }
            }
            if ours.writesRAX && (!theirWritesRAX || theirReadsRAX) {
                if theirWritesRAX, let mistake = Self.capstoneListsAnUnusedRead(bytes) { excused[mistake, default: 0] += 1 } else {
                    problems.append("we write all of %rax, capstone \(theirWritesRAX ? "also reads it" : "does not write %eax/%rax")")
                }
            }
            if !theirTested.subtracting(ours.flagsRead).isEmpty { problems.append("capstone tests flags \(theirTested.rawValue), we read \(ours.flagsRead.rawValue)") }
            if !ours.flagsWritten.subtracting(theirWritten).isEmpty {
                if theirWritten.isEmpty, Self.isTestOfMemory(bytes) {
                    excused["capstone gives TEST with a memory operand no flags (its register form has them; SDM: SF ZF PF set, OF CF cleared, AF undefined)", default: 0] += 1
                } else {
                    problems.append("we write flags \(ours.flagsWritten.rawValue), capstone \(theirWritten.rawValue)")
                }
            }
            if !problems.isEmpty { disagreements.append("\(hexString(bytes)): \(problems.joined(separator: "; "))") }
        }
        print("effects vs capstone: \(decoded) instructions decoded in \(present.count) libraries, \(seen.count) distinct, "
            + "\(modelled.count) modelled, \(compared) compared, \(disagreements.count) disagreements")
        for (what, count) in excused { print("  excused: \(count) x \(what)") }
        for d in disagreements.prefix(40) { print("  disagreement: \(d)") }
        #expect(compared >= 50_000, "only \(compared) distinct instructions compared")
        #expect(disagreements.isEmpty, "\(disagreements.prefix(40).joined(separator: "\n"))")
    }

    /// The opcode (one byte, or `0F xx` as 0x0Fxx) and ModRM after the legacy and REX prefixes.
    private static func opcodeAndModRM(_ bytes: [UInt8]) -> (opcode: Int, modrm: UInt8, rex: UInt8)? {
        var i = 0, rex: UInt8 = 0
        while i < bytes.count, [0x66, 0x67, 0x2e, 0x3e, 0x26, 0x36, 0x64, 0x65, 0xf2, 0xf3].contains(bytes[i]) || bytes[i] & 0xf0 == 0x40 {
            rex = bytes[i] & 0xf0 == 0x40 ? bytes[i] : 0
            i += 1
        }
        guard i + 1 < bytes.count else { return nil }
        if bytes[i] == 0x0f {
            guard i + 2 < bytes.count else { return nil }
            return (0x0f00 | Int(bytes[i + 1]), bytes[i + 2], rex)
        }
        return (Int(bytes[i]), bytes[i + 1], rex)
    }

    /// Where Capstone lists a read of `%rax` whose value cannot matter: the zero idioms (`xor`/`sub` of a
    /// register with itself: the result is 0 whatever it held) and the multi-byte NOP (`0F 1F /0`, whose
    /// operand is never evaluated). Nil for anything else.
    static func capstoneListsAnUnusedRead(_ bytes: [UInt8]) -> String? {
        guard let (opcode, modrm, rex) = opcodeAndModRM(bytes) else { return nil }
        if opcode == 0x0f1f { return "multi-byte NOP: capstone lists its address registers as read" }
        let reg = (modrm >> 3) & 7 | (rex & 4) << 1, rm = modrm & 7 | (rex & 1) << 3
        if [0x29, 0x2b, 0x31, 0x33].contains(opcode) && modrm >> 6 == 3 && reg == rm {
            return "zero idiom: capstone lists its register as read"
        }
        return nil
    }

    /// `test` with a memory operand (`84`/`85`, or `F6`/`F7 /0`).
    static func isTestOfMemory(_ bytes: [UInt8]) -> Bool {
        guard let (opcode, modrm, _) = opcodeAndModRM(bytes), modrm >> 6 != 3 else { return false }
        return opcode == 0x84 || opcode == 0x85 || ((opcode == 0xf6 || opcode == 0xf7) && (modrm >> 3) & 7 == 0)
    }
}
