import MachineCode
import Testing

@Suite("Site encodings: every state is one 5-byte instruction")
struct SiteInstructionTests {
    let site: UInt64 = 0x5555_0000_1000

    @Test func callAndJumpEncodeRel32FromTheEndOfTheSite() {
        #expect(SiteInstruction.call(site + 5 + 0x10).encode(at: site) == [0xe8, 0x10, 0, 0, 0])
        #expect(SiteInstruction.jump(site - 0x100).encode(at: site) == [0xe9, 0xfb, 0xfe, 0xff, 0xff])
    }

    @Test func branchesOutOfRel32ReachCannotBeEncoded() {
        #expect(SiteInstruction.call(site + 5 + UInt64(Int32.max)).encode(at: site) != nil)
        #expect(SiteInstruction.call(site + 5 + UInt64(Int32.max) + 1).encode(at: site) == nil)
        #expect(SiteInstruction.jump(site + 5 - UInt64(1 << 31)).encode(at: site) != nil)
        #expect(SiteInstruction.jump(site + 5 - UInt64(1 << 31) - 1).encode(at: site) == nil)
    }

    @Test func nopAndRetMatchTheKernelsBytes() {
        #expect(SiteInstruction.nop.encode(at: site) == [0x0f, 0x1f, 0x44, 0x00, 0x00])
        #expect(SiteInstruction.ret.encode(at: site) == [0xc3, 0xcc, 0xcc, 0xcc, 0xcc])
    }

    static let loadable: [(UInt64, SiteBytes)] = [
        (0, [0xb8, 0, 0, 0, 0]),
        (1, [0xb8, 1, 0, 0, 0]),
        (0xffff_ffff, [0xb8, 0xff, 0xff, 0xff, 0xff]),
        (UInt64.max, [0x2e, 0x48, 0x83, 0xc8, 0xff]),
    ]

    @Test func constantsThatOneInstructionLoads() {
        for (value, expected) in Self.loadable {
            #expect(SiteInstruction.loadConstant(value).encode(at: site) == expected)
        }
    }

    @Test(arguments: [UInt64(1) << 32, UInt64(1) << 40, UInt64(bitPattern: Int64.min), UInt64(Int64.max), UInt64(bitPattern: -2)])
    func constantsThatNeedMoreThanOneInstructionAreRefused(_ value: UInt64) {
        #expect(SiteInstruction.loadConstant(value).encode(at: site) == nil)
    }

    @Test func everyEncodingDecodesAsExactlyOneFiveByteInstruction() {
        let states: [SiteInstruction] = [.call(site + 0x1234), .jump(site - 0x1234), .nop, .ret, .loadConstant(7), .loadConstant(.max)]
        for state in states {
            let encoded = state.encode(at: site)!
            let length = Array(encoded).withUnsafeBytes { X86.decode($0, at: 0).instruction?.length }
            if state == .ret { #expect(length == 1); continue } // ret; the int3 padding is never executed
            #expect(length == 5, "\(state)")
            #expect(SiteInstruction.recognise(encoded, at: site) == state)
        }
    }

    @Test func plannerKeepsTheTrampolineWhenTheStateCannotBeInline() {
        let tramp = site + 0x100
        let near = SitePlanner.plan(.target(site + 0x40), kind: .call, site: site, trampoline: tramp)
        #expect(near.0 == .call(site + 0x40) && near.reason == nil)
        let nearTail = SitePlanner.plan(.target(site + 0x40), kind: .tail, site: site, trampoline: tramp)
        #expect(nearTail.0 == .jump(site + 0x40) && nearTail.reason == nil)
        #expect(SitePlanner.plan(.disabled, kind: .call, site: site, trampoline: tramp).0 == .nop)
        // A disabled tail site jumps to a return stub (every tail state starts with E9), else stays.
        #expect(SitePlanner.plan(.disabled, kind: .tail, site: site, trampoline: tramp, constantFunction: { [0: site + 0x600][$0] }).0 == .jump(site + 0x600))
        let disabledFar = SitePlanner.plan(.disabled, kind: .tail, site: site, trampoline: tramp)
        #expect(disabledFar.0 == .jump(tramp) && disabledFar.reason != nil)
        #expect(SitePlanner.plan(.constant(42, .bits64), kind: .call, site: site, trampoline: tramp).0 == .loadConstant(42))
        #expect(SitePlanner.plan(.constant(UInt64.max, .bits32), kind: .call, site: site, trampoline: tramp).0 == .loadConstant(0xffff_ffff))
        let far = SitePlanner.plan(.target(site + (1 << 33)), kind: .call, site: site, trampoline: tramp)
        #expect(far.0 == .call(tramp) && far.reason?.contains("rel32") == true)
        let tailConstant = SitePlanner.plan(.constant(2, .bits8), kind: .tail, site: site, trampoline: tramp)
        #expect(tailConstant.0 == .jump(tramp) && tailConstant.reason != nil)
        let tailOne = SitePlanner.plan(.constant(1, .bits8), kind: .tail, site: site, trampoline: tramp, constantFunction: { [1: site + 0x500][$0] })
        #expect(tailOne.0 == .jump(site + 0x500) && tailOne.reason == nil)
        let wide = SitePlanner.plan(.constant(1 << 40, .bits64), kind: .call, site: site, trampoline: tramp)
        #expect(wide.0 == .call(tramp) && wide.reason?.contains("more than one") == true)
        // Any constant, with a function returning it in reach: a tail site jumps there, and a call site
        // whose constant needs more than a 5-byte load calls it.
        let returning = { (value: UInt64) -> UInt64? in site + 0x700 + value % 16 }
        let tailTwo = SitePlanner.plan(.constant(2, .bits8), kind: .tail, site: site, trampoline: tramp, constantFunction: returning)
        #expect(tailTwo.0 == .jump(site + 0x702) && tailTwo.reason == nil)
        let wideNear = SitePlanner.plan(.constant(1 << 40, .bits64), kind: .call, site: site, trampoline: tramp, constantFunction: returning)
        #expect(wideNear.0 == .call(site + 0x700) && wideNear.reason == nil)
        #expect(SitePlanner.plan(.constant(42, .bits64), kind: .call, site: site, trampoline: tramp, constantFunction: returning).0 == .loadConstant(42))
        let wideFar = SitePlanner.plan(.constant(1 << 40, .bits64), kind: .call, site: site, trampoline: tramp, constantFunction: { _ in site + (1 << 33) })
        #expect(wideFar.0 == .call(tramp) && wideFar.reason?.contains("out of rel32 reach") == true)
        // A narrow key's negative constant is asked for by its value (as `$f.target` asks), and none left
        // keeps the site on the trampoline with that reason.
        let minusFive = UInt64(bitPattern: -5)
        let negative = SitePlanner.plan(.constant(minusFive, .bits32), kind: .tail, site: site, trampoline: tramp,
                                        constantFunction: { $0 == minusFive ? site + 0x720 : nil })
        #expect(negative.0 == .jump(site + 0x720) && negative.reason == nil)
        let noneLeft = SitePlanner.plan(.constant(7, .bits64), kind: .tail, site: site, trampoline: tramp, constantFunction: { _ in nil })
        #expect(noneLeft.0 == .jump(tramp) && noneLeft.reason?.contains("no function returning it is left") == true)
    }
}

@Suite("arm64 site encodings")
struct ARM64EncodingTests {
    @Test func branchesEncodeImm26() {
        #expect(ARM64Encoding.branchAndLink(from: 0x1000, to: 0x1008) == 0x9400_0002)
        #expect(ARM64Encoding.branch(from: 0x1000, to: 0x0ffc) == 0x17ff_ffff)
        #expect(ARM64Encoding.branch(from: 0x1000, to: 0x1002) == nil)
        #expect(ARM64Encoding.branchAndLink(from: 0, to: 1 << 27) == nil)
        #expect(ARM64Encoding.branchAndLink(from: 1 << 27, to: 0) != nil)
        #expect(ARM64Encoding.nop == 0xd503_201f)
    }

    @Test func branchTargetsRoundTrip() {
        for (site, target) in [(UInt64(0x4000), UInt64(0x8000)), (0x8000, 0x4000), (0x10_0000, 0x10_0000 + (1 << 27) - 4)] {
            let bl = ARM64Encoding.branchAndLink(from: site, to: target)!
            #expect(ARM64Encoding.branchTarget(bl, at: site) == target)
            #expect(ARM64Encoding.branchTarget(ARM64Encoding.branch(from: site, to: target)!, at: site) == target)
        }
        #expect(ARM64Encoding.branchTarget(ARM64Encoding.nop, at: 0) == nil)
    }
}
