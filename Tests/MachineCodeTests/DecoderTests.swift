import MachineCode
import Testing

@Suite("x86-64 length decoder")
struct DecoderTests {
    @Test(arguments: decoderVectors)
    func decodesTheWholeInstruction(_ hex: String) {
        #expect(decodeLength(hex) == bytes(hex).count)
    }

    @Test(arguments: [
        "06", "07", "0e", "27", "37", "60", "61", "9a 00 00 00 00 00 00", "ce", "d4 0a", "d6", "ea 00 00 00 00 00 00",
        "0f 04", "0f 0a", "0f 0f c1 b4", "0f 24", "0f 36", "0f 39", "0f 7a", "0f a6",
        "8f e8 78 a2 c1 30",      // XOP
        "66 e8 00 00",            // operand-size prefixed call: 16-bit on AMD, 32-bit on Intel
        "66 0f 84 00 00",
        "48 c5 f8 77",            // REX before VEX
        "66 c5 f9 70 c1 1b",
        "c4 e4 7d 18 c1",         // VEX map 4
        "ff ff",
        "66 0f 78 c1 04 02",      // SSE4a EXTRQ with immediates
        "0f ff 4c 19 e4",         // UD0: 5 bytes on Intel, 2 on AMD
    ])
    func saysUnknownRatherThanGuessing(_ hex: String) {
        let result = bytes(hex).withUnsafeBytes { X86.decode($0, at: 0) }
        guard case .unknown = result else {
            Issue.record("\(hex) decoded as \(result)")
            return
        }
    }

    @Test(arguments: ["e8 00 00", "48", "0f", "8b 44", "c4 e2", "62 f1 7c", "66 66 66"])
    func saysTruncatedWhenTheBufferEndsInside(_ hex: String) {
        #expect(bytes(hex).withUnsafeBytes { X86.decode($0, at: 0) } == .truncated)
    }

    @Test func rejectsMoreThanFifteenBytes() {
        let long = [UInt8](repeating: 0x66, count: 14) + [0x0f, 0x1f, 0x00]
        guard case .unknown = long.withUnsafeBytes({ X86.decode($0, at: 0) }) else {
            Issue.record("a 17-byte instruction was accepted")
            return
        }
    }

    @Test func reportsBranchKinds() {
        func branch(_ hex: String) -> X86.Branch? { bytes(hex).withUnsafeBytes { X86.decode($0, at: 0).instruction?.branch } }
        #expect(branch("e8 10 00 00 00") == .callRel32(16))
        #expect(branch("e9 f0 ff ff ff") == .jmpRel32(-16))
        #expect(branch("eb fe") == .jmpRel8(-2))
        #expect(branch("0f 85 00 01 00 00") == .conditionalRel32)
        #expect(branch("75 02") == .conditionalRel8)
        #expect(branch("c3") == .ret)
        #expect(branch("ff d0") == .indirectCall)
        #expect(branch("ff 25 00 00 00 00") == .indirectJump)
        #expect(branch("48 89 e5") == X86.Branch.none)
    }

    @Test func decodesAtAnOffsetInsideABuffer() {
        let code = bytes("55 48 89 e5 e8 00 00 00 00 5d c3")
        var offsets: [Int] = []
        var i = 0
        while i < code.count, let insn = code.withUnsafeBytes({ X86.decode($0, at: i).instruction }) {
            offsets.append(i)
            i += insn.length
        }
        #expect(offsets == [0, 1, 4, 9, 10])
    }
}
