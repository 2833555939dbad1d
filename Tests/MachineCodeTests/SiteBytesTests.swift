#if canImport(Glibc)
import Glibc
#endif
import MachineCode
import Testing

@Suite("Site bytes: five bytes held inline, in instruction order")
struct SiteBytesTests {
    @Test func bytesAreInInstructionOrderWithTheImmediateLittleEndian() {
        let call = SiteBytes(opcode: 0xe8, imm32: 0x4433_2211)
        #expect(Array(call) == [0xe8, 0x11, 0x22, 0x33, 0x44])
        #expect(call.word == 0x44_3322_11e8)
        #expect(call == [0xe8, 0x11, 0x22, 0x33, 0x44])
        #expect(call.description == "e8 11 22 33 44")
    }

    @Test func aSequenceGivesItsFirstFiveBytesOrNothing() {
        #expect(SiteBytes([1, 2, 3, 4, 5, 6, 7]) == [1, 2, 3, 4, 5])
        #expect(SiteBytes([1, 2, 3, 4]) == nil)
        #expect(SiteBytes([UInt8]()) == nil)
    }

    @Test func writingAByteChangesOnlyThatByte() {
        var bytes: SiteBytes = [0xe8, 0xff, 0xff, 0xff, 0xff]
        bytes[0] = 0xcc
        bytes[4] = 0x00
        #expect(bytes == [0xcc, 0xff, 0xff, 0xff, 0x00])
        #expect(bytes.word >> 40 == 0, "bits past the fifth byte stay zero, so equality is the word's")
        #expect(SiteBytes(word: .max) == [0xff, 0xff, 0xff, 0xff, 0xff])
    }

    @Test func loadingReadsNoByteAfterTheFifth() throws {
        // Five bytes that end at the last byte of a page followed by an inaccessible one: a wider load
        // would fault.
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let raw = mmap(nil, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        let base = try #require(raw == MAP_FAILED ? nil : raw)
        defer { munmap(base, 2 * page) }
        #expect(mprotect(base + page, page, PROT_NONE) == 0)
        let end = base + page - 5
        for (k, b) in [0x0f, 0x1f, 0x44, 0x00, 0x00].enumerated() { end.storeBytes(of: UInt8(b), toByteOffset: k, as: UInt8.self) }
        let loaded = SiteBytes(loadingFrom: UnsafeRawPointer(end))
        #expect(loaded == SiteInstruction.nop5)
        #expect(SiteInstruction.recognise(loaded, at: 0x1000) == .nop)
    }
}
