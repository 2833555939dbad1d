import MachineCode
import Testing

/// The branch proof on hand-assembled functions (each byte commented with its instruction; the
/// functions the compiler emits are checked by the macro integration program, which flips a key while
/// threads read it and requires its sites to hold the `jmp`).
@Suite("Static branches: a key's call site may become one jmp only where nothing reads %rax or the flags")
struct SiteBranchTests {
    static let start: UInt64 = 0x40_1000

    /// `call site; test %al,%al; jne +n` followed by the two sides given.
    static func function(fallThrough: [UInt8], taken: [UInt8], test: [UInt8] = [0x84, 0xc0], jumpIfZero: Bool = false) -> [UInt8] {
        let prologue: [UInt8] = [0xe8, 0, 0, 0, 0] + test // call; test
        return prologue + [jumpIfZero ? 0x74 : 0x75, UInt8(fallThrough.count)] + fallThrough + taken
    }

    static func analyse(_ bytes: [UInt8], isSite: (UInt64) -> Bool = { $0 == start }) -> SiteBranch? {
        bytes.withUnsafeBytes { SiteBranch.analyse(function: $0, start: start, site: start, isSite: isSite) }
    }

    static let callsNext: [UInt8] = [0x48, 0x89, 0xdf, 0xe8, 0, 0, 0, 0]  // mov %rbx,%rdi; call
    static let zeroAndReturn: [UInt8] = [0x31, 0xc0, 0xc3]                  // xor %eax,%eax; ret

    @Test func bothSidesThatCallOrSetTheirResultAreProven() throws {
        let f = Self.function(fallThrough: Self.callsNext, taken: Self.zeroAndReturn)
        let branch = try #require(Self.analyse(f))
        // jne: the false side falls through (after the 2-byte jcc at +7), the true side is taken.
        #expect(branch.whenZero == Self.start + 9)
        #expect(branch.whenNonZero == Self.start + 9 + UInt64(Self.callsNext.count))
        #expect(branch.destination(for: 0) == branch.whenZero && branch.destination(for: 1) == branch.whenNonZero)
    }

    @Test func jeSwapsTheSides() throws {
        let f = Self.function(fallThrough: Self.callsNext, taken: Self.zeroAndReturn, jumpIfZero: true)
        let branch = try #require(Self.analyse(f))
        #expect(branch.whenNonZero == Self.start + 9)
        #expect(branch.whenZero == Self.start + 9 + UInt64(Self.callsNext.count))
    }

    @Test func testOfTheLowBitLooksAtBitZeroOnly() throws {
        let f = Self.function(fallThrough: Self.callsNext, taken: Self.zeroAndReturn, test: [0xa8, 0x01]) // test $1,%al
        let branch = try #require(Self.analyse(f))
        #expect(branch.mask == 1)
        #expect(branch.destination(for: 2) == branch.whenZero)
        #expect(branch.destination(for: 3) == branch.whenNonZero)
    }

    /// A side that reads what the skipped instructions leave is not proven; the other side still is.
    @Test(arguments: [
        ([0x0f, 0xb6, 0xc8, 0xe8, 0, 0, 0, 0], "movzbl %al,%ecx: reads the key's value"),
        ([0x88, 0x27, 0xe8, 0, 0, 0, 0], "mov %ah,(%rdi): %ah is part of %rax"),
        ([0x0f, 0x94, 0xc1, 0xe8, 0, 0, 0, 0], "sete %cl: reads the test's flags"),
        ([0x48, 0x83, 0xc3, 0x01, 0x19, 0xc9, 0xc3], "add then sbb: sbb reads CF, add wrote it, but ret reads %rax"),
        ([0xc3], "ret: the function may return the key's value"),
        ([0xb0, 0x01, 0xc3], "mov $1,%al; ret: a partial write leaves the rest of %rax"),
        ([0xff, 0xd0], "call *%rax: the target is %rax"),
        ([0xff, 0xcb, 0x72, 0x00, 0xe8, 0, 0, 0, 0], "dec %ebx; jb: dec keeps CF, jb reads it"),
        ([0x0f, 0xa2, 0xe8, 0, 0, 0, 0], "cpuid: not modelled"),
        ([0xe9, 0x00, 0x10, 0x00, 0x00], "jmp out of the function"),
        ([0xff, 0xe1], "jmp *%rcx: unknown targets"),
        ([0xcc], "int3: someone else's breakpoint"),
        ([0xf2, 0x0f, 0x38, 0xf0, 0xcc, 0xe8, 0, 0, 0, 0], "crc32b %ah,%ecx: %ah is part of %rax"),
        ([0x0f, 0xc0, 0xe1, 0xe8, 0, 0, 0, 0], "xadd %ah,%cl"),
        ([0x48, 0x85, 0xdb, 0x66, 0x75, 0x00, 0xe8, 0, 0, 0, 0], "a jne with an operand-size prefix: AMD truncates its target"),
    ] as [([UInt8], String)])
    func aSideThatReadsRAXOrTheFlagsIsNotProven(_ side: [UInt8], _ why: String) throws {
        let f = Self.function(fallThrough: side, taken: Self.callsNext)
        let branch = try #require(Self.analyse(f), "\(why)")
        #expect(branch.whenZero == nil, "\(why)")
        #expect(branch.whenNonZero != nil, "\(why)")
    }

    @Test(arguments: [
        ([0x48, 0x8b, 0x07, 0xc3], "mov (%rdi),%rax; ret"),
        ([0x8d, 0x47, 0x01, 0xc3], "lea 1(%rdi),%eax; ret"),
        ([0x48, 0x85, 0xdb, 0x74, 0x03, 0x31, 0xc0, 0xc3, 0xb8, 1, 0, 0, 0, 0xc3], "test %rbx,%rbx; je; both paths set %eax"),
        ([0x0f, 0x0b], "ud2: a trap ends the path"),
        ([0xf3, 0x0f, 0x1e, 0xfa, 0x0f, 0x1f, 0x44, 0x00, 0x00, 0xe8, 0, 0, 0, 0], "endbr64 and a nop that names %rax are not reads"),
        ([0xff, 0xcb, 0x75, 0x00, 0xe8, 0, 0, 0, 0], "dec %ebx; jne: jne reads ZF, which dec wrote"),
        ([0xc5, 0xf8, 0x77, 0xe8, 0, 0, 0, 0], "vzeroupper"),
        ([0x49, 0xff, 0xc6, 0x48, 0x83, 0xc3, 0x01, 0xf6, 0xc3, 0x01, 0xe8, 0, 0, 0, 0], "inc %r14; add $1,%rbx; test $1,%bl: a group's reg field 0 is its opcode, not %rax"),
        ([0x49, 0xff, 0xc6, 0x4d, 0x89, 0xfc, 0x4c, 0x39, 0xf3, 0x75, 0x04, 0x4c, 0x89, 0xf8, 0xc3, 0xe8, 0, 0, 0, 0],
         "the benchmark loop's false side: inc; mov; cmp; jne to a call, else mov %r15,%rax; ret"),
    ] as [([UInt8], String)])
    func aSideThatWritesBeforeItReadsIsProven(_ side: [UInt8], _ why: String) throws {
        let f = Self.function(fallThrough: side, taken: Self.callsNext)
        let branch = try #require(Self.analyse(f), "\(why)")
        #expect(branch.whenZero == Self.start + 9, "\(why)")
    }

    @Test func aLoopBackToTheSiteEndsThePath() throws {
        // false side: dec %ebx; jne site (back edge); xor %eax,%eax; ret
        var side: [UInt8] = [0xff, 0xcb, 0x0f, 0x85]
        let backEdge = -(9 + 8) // from the end of the jne (at +9+8) back to the site at 0
        side += withUnsafeBytes(of: Int32(backEdge).littleEndian, Array.init)
        side += Self.zeroAndReturn
        let f = Self.function(fallThrough: side, taken: Self.callsNext)
        let branch = try #require(Self.analyse(f))
        #expect(branch.whenZero == Self.start + 9)
        // Without knowing the site is one, the walk reads it as the call it still is: proven as well.
        #expect(Self.analyse(f, isSite: { _ in false })?.whenZero == Self.start + 9)
    }

    @Test func anotherKeysPatchedSiteOnThePathIsTakenAsItsCall() throws {
        // false side: mov $0,%eax at +9 is another key's site holding a constant (it was a call): a
        // call ends the path, so the sete after it reads flags the compiler never expected to survive it.
        let side: [UInt8] = [0xb8, 0, 0, 0, 0, 0x0f, 0x94, 0xc1, 0xe8, 0, 0, 0, 0]
        let f = Self.function(fallThrough: side, taken: Self.callsNext)
        #expect(Self.analyse(f, isSite: { $0 == Self.start || $0 == Self.start + 9 })?.whenZero == Self.start + 9)
        // Not known as a site, it is what it holds: mov writes %rax but not the flags, and sete reads them.
        #expect(Self.analyse(f)?.whenZero == nil)
    }

    @Test func aCallNotFollowedByTestAndJccHasNoBranch() {
        #expect(Self.analyse([0xe8, 0, 0, 0, 0, 0x88, 0x03, 0xc3, 0, 0, 0]) == nil)                // mov %al,(%rbx)
        #expect(Self.analyse([0xe8, 0, 0, 0, 0, 0x84, 0xc0, 0x0f, 0x94, 0xc0, 0xc3]) == nil)    // test; sete
        #expect(Self.analyse([0xe8, 0, 0, 0, 0, 0x84, 0xc0, 0x7c, 0x00, 0xc3, 0xc3]) == nil)    // test; jl
    }

    @Test func anInfiniteLoopOrALongPathStaysWithinTheBudget() {
        // false side: jmp . (reads nothing, forever): proven, and the walk ends.
        let spin = Self.function(fallThrough: [0xeb, 0xfe], taken: Self.callsNext)
        #expect(Self.analyse(spin)?.whenZero == Self.start + 9)
        // false side: 300 nops and a call (after a jne rel32): past the budget, not proven.
        let nops = [UInt8](repeating: 0x90, count: 300) + [0xe8, 0, 0, 0, 0]
        let long: [UInt8] = [0xe8, 0, 0, 0, 0, 0x84, 0xc0, 0x0f, 0x85] + withUnsafeBytes(of: Int32(nops.count).littleEndian, Array.init) + nops + Self.callsNext
        let branch = Self.analyse(long)
        #expect(branch?.whenZero == nil)
        #expect(branch?.whenNonZero == Self.start + 13 + UInt64(nops.count))
    }

    @Test func thePlannerJumpsForAConstantAndLoadsWithoutABranch() {
        let branch = SiteBranch(whenZero: Self.start + 9, whenNonZero: nil, mask: 0xff)
        let site = Self.start
        #expect(SitePlanner.plan(.constant(0, .bits8), kind: .call, site: site, trampoline: 0x40_0000, branch: branch).0 == .jump(Self.start + 9))
        // The true side is not proven: the constant is loaded for the test after the site.
        #expect(SitePlanner.plan(.constant(1, .bits8), kind: .call, site: site, trampoline: 0x40_0000, branch: branch).0 == .loadConstant(1))
        #expect(SitePlanner.plan(.constant(0, .bits8), kind: .call, site: site, trampoline: 0x40_0000).0 == .loadConstant(0))
        // A target is always called.
        #expect(SitePlanner.plan(.target(0x40_2000), kind: .call, site: site, trampoline: 0x40_0000, branch: branch).0 == .call(0x40_2000))
    }
}

