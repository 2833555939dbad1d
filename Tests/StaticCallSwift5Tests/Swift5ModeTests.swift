// Built in Swift 5 language mode: `update(to:)` with a named function converts it to @convention(thin),
// which Swift 6 mode cannot yet do (ARCHITECTURE.md, Swift 6 mode and function references).
import StaticCall
import Testing

@StaticCall
func swift5Scale(_ x: Int) -> Int { x * 2 }

func triple(_ x: Int) -> Int { x * 3 }

enum Codec {
    @StaticCall
    static func encode(_ x: Int) -> UInt8 { UInt8(truncatingIfNeeded: x) }

    static func encodeHigh(_ x: Int) -> UInt8 { UInt8(truncatingIfNeeded: x >> 8) }
}

@Suite("Swift 5 language mode")
struct Swift5ModeTests {
    @Test func updateToANamedFunction() {
        #expect(swift5Scale(2) == 4)
        $swift5Scale.update(to: triple)
        #expect(swift5Scale(2) == 6)
        $swift5Scale.reset()
        #expect(swift5Scale(2) == 4)
    }

    @Test func staticMethodKeyWithANamedStaticMethod() {
        #expect(Codec.encode(0x1234) == 0x34)
        Codec.$encode.update(to: Codec.encodeHigh)
        #expect(Codec.encode(0x1234) == 0x12)
        Codec.$encode.update(returning: 7)
        #expect(Codec.encode(0x1234) == 7)
        Codec.$encode.reset()
    }
}
