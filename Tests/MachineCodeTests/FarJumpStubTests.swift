import MachineCode
import Testing

@Suite("Far-jump stubs: a site reaches a target in another image through a stub within rel32 reach")
struct FarJumpStubTests {
    @Test(arguments: [UInt64(0), 0x7f12_3456_789a, .max, 0x5555_0000_1000])
    func aStubIsOneIndirectJumpThroughItsOwnAddressWord(_ target: UInt64) {
        let bytes = FarJumpStub.encode(target: target)
        #expect(bytes.count == FarJumpStub.size)
        let length = bytes.withUnsafeBytes { X86.decode($0, at: 0).instruction?.length }
        #expect(length == 6) // jmp *0(%rip): the address word follows the instruction
        #expect(FarJumpStub.target(of: bytes) == target)
        #expect(bytes.suffix(2).allSatisfy { $0 == 0xcc })
    }

    @Test func bytesThatAreNotAStubHaveNoTarget() {
        #expect(FarJumpStub.target(of: [0xe9, 0, 0, 0, 0]) == nil)
        #expect(FarJumpStub.target(of: [0xff, 0x25, 1, 0, 0, 0] + [UInt8](repeating: 0, count: 8)) == nil)
        #expect(FarJumpStub.target(of: [0xff, 0x25, 0, 0, 0, 0, 1]) == nil)
    }

    /// Every stub of a page placed anywhere in the window is reached by a rel32 call or jump from the first
    /// and from the last possible site of the text; one page beyond either end is not.
    @Test(arguments: [(UInt64(0x5555_5555_0000), UInt64(0x5555_5600_0000)), (0x7f00_0000_0000, 0x7f00_0000_1000),
                      (0x1000, 0x20_0000), (0x7fff_f000_0000, 0x7fff_f100_0000)])
    func theWindowIsExactlyWhereEveryStubIsInReachOfEverySite(_ text: (UInt64, UInt64)) throws {
        let page: UInt64 = 4096
        let window = try #require(FarJumpStub.window(forText: text.0..<text.1, pageSize: page))
        let firstSite = text.0, lastSite = text.1 - 5
        for base in [window.lowerBound, window.upperBound] {
            for stub in [base, base + page - UInt64(FarJumpStub.size)] {
                #expect(SiteInstruction.call(stub).encode(at: firstSite) != nil, "0x\(String(stub, radix: 16)) from the first site")
                #expect(SiteInstruction.jump(stub).encode(at: lastSite) != nil, "0x\(String(stub, radix: 16)) from the last site")
            }
        }
        // A page one page beyond either end has a stub out of reach.
        if window.lowerBound >= page { #expect(SiteInstruction.call(window.lowerBound - page).encode(at: lastSite) == nil) }
        #expect(SiteInstruction.call(window.upperBound + 2 * page - UInt64(FarJumpStub.size)).encode(at: firstSite) == nil)
    }

    @Test func textWiderThanARel32HasNoWindow() {
        #expect(FarJumpStub.window(forText: 0x1000..<(0x1000 + (1 << 31)), pageSize: 4096) == nil)
    }

    @Test func candidatesAreFreePagesInTheWindowNearestFirst() {
        let mapped: [Range<UInt64>] = [0x10_0000..<0x20_0000, 0x20_0000..<0x30_0000, 0x40_0000..<0x50_0000]
        let window: ClosedRange<UInt64> = 0x8_0000...0x60_0000
        let near: UInt64 = 0x31_2345
        let candidates = FarJumpStub.candidates(mapped: mapped, window: window, near: near, pageSize: 4096)
        #expect(candidates.first == 0x31_2000) // in the gap 0x30_0000..<0x40_0000, at the nearest page
        for c in candidates {
            #expect(c % 4096 == 0 && window.contains(c), "0x\(String(c, radix: 16))")
            #expect(!mapped.contains { $0.overlaps(c..<(c + 4096)) }, "0x\(String(c, radix: 16)) overlaps a mapping")
        }
        let distances = candidates.map { $0 > near ? $0 - near : near - $0 }
        #expect(distances == distances.sorted())
        #expect(FarJumpStub.candidates(mapped: [0..<0x7fff_ffff_f000], window: window, near: near, pageSize: 4096).isEmpty)
    }

    /// An area of several pages starts only where all of them fit, in the gap and in the window.
    @Test func anAreaStartsOnlyWhereAllItsPagesFit() {
        let page: UInt64 = 4096
        let mapped: [Range<UInt64>] = [0x10_0000..<0x20_0000, (0x20_0000 + 4 * page)..<0x40_0000, 0x50_0000..<0x60_0000]
        let window: ClosedRange<UInt64> = 0x20_0000...(0x50_0000 - 16 * page + 3 * page)
        let starts = FarJumpStub.candidates(mapped: mapped, window: window, near: 0x20_0000, pageSize: page, pages: 16)
        #expect(!starts.isEmpty)
        for start in starts {
            let area = start..<(start + 16 * page)
            #expect(!mapped.contains { $0.overlaps(area) }, "0x\(String(start, radix: 16)) overlaps a mapping")
            #expect(window.contains(start) && window.contains(start + 15 * page), "0x\(String(start, radix: 16)) leaves the window")
        }
        // The four-page gap above 0x20_0000 fits one page but not an area.
        #expect(FarJumpStub.candidates(mapped: mapped, window: window, near: 0x20_0000, pageSize: page).first == 0x20_0000)
        #expect(!starts.contains(0x20_0000))
    }

    /// The gap below [vsyscall] (far above the top of user space) is clipped at the top: no candidate
    /// lies where nothing can be mapped.
    @Test func candidatesStayBelowTheTopOfUserSpace() {
        let top: UInt64 = 0x7fff_ffff_f000
        let mapped: [Range<UInt64>] = [0x1000..<(top - 0x10_0000), 0xffff_ffff_ff60_0000..<0xffff_ffff_ff60_1000]
        let window: ClosedRange<UInt64> = (top - 0x8000_0000)...0xffff_ffff_ffff_0000
        let candidates = FarJumpStub.candidates(mapped: mapped, window: window, near: top + 0x1000_0000, pageSize: 4096)
        #expect(!candidates.isEmpty)
        #expect(candidates.allSatisfy { $0 + 4096 <= top }, "\(candidates.map { String($0, radix: 16) })")
    }

    @Test func thePlannerCallsAFarTargetThroughTheStubItIsGiven() {
        let site: UInt64 = 0x5555_5555_1000, tramp = site + 0x100, far = site + (1 << 40), stub = site + 0x10_0000
        let viaStub = SitePlanner.plan(.target(far), kind: .call, site: site, trampoline: tramp) { $0 == far ? stub : nil }
        #expect(viaStub.0 == .call(stub) && viaStub.reason == nil)
        let tail = SitePlanner.plan(.target(far), kind: .tail, site: site, trampoline: tramp) { _ in stub }
        #expect(tail.0 == .jump(stub) && tail.reason == nil)
        // A stub out of reach itself is not used.
        let unreachable = SitePlanner.plan(.target(far), kind: .call, site: site, trampoline: tramp) { _ in far - 8 }
        #expect(unreachable.0 == .call(tramp) && unreachable.reason?.contains("rel32") == true)
        // Constant functions of another image (a tail site of a key holding 1) go through stubs too.
        let one = SitePlanner.plan(.constant(1, .bits8), kind: .tail, site: site, trampoline: tramp, stub: { _ in stub }, constantFunction: { [1: far][$0] })
        #expect(one.0 == .jump(stub))
        // A near target never asks for a stub.
        var asked = false
        _ = SitePlanner.plan(.target(site + 0x40), kind: .call, site: site, trampoline: tramp) { _ in asked = true; return nil }
        #expect(!asked)
    }
}
