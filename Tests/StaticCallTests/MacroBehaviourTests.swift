@testable import StaticCall
import Testing

@Suite("@StaticCall through the macros (debug build, this process)", .serialized)
struct MacroBehaviourTests {
    @Test func updateRetargetsAndResetRestores() {
        #expect(macroScale(2) == 6)
        $macroScale.update { $0 &* 5 }
        #expect(macroScale(2) == 10)
        $macroScale.reset()
        #expect(macroScale(2) == 6)
    }

    @Test func voidKeyDisablesAndReEnables() {
        var n = 0
        macroHook(&n)
        #expect(n == 1 && $macroHook.isEnabled)
        $macroHook.disable()
        macroHook(&n)
        #expect(n == 1 && !$macroHook.isEnabled)
        $macroHook.update { $0 += 10 }
        macroHook(&n)
        #expect(n == 11 && $macroHook.isEnabled)
        $macroHook.reset()
    }

    /// The trampoline is one load and one jump through the key's `entry` (indirect mode's whole cost, and
    /// what unpatched sites run): the entry must hold the target itself exactly while the word holds a
    /// plain target, and the slow path, which honours the word, in every other state (this debug build
    /// counts slow-path calls, so its words are never plain: the release-built macro program checks the
    /// plain case too).
    @Test func trampolineEntryIsThePlainTargetOrTheSlowPath() {
        func entry() -> UInt { unsafeBitCast(_staticcallKey_macroScale.entry, to: UInt.self) }
        func word() -> UInt { _staticcallStorage_macroScale.word }
        func callEntry(_ x: Int) -> Int { _staticcallKey_macroScale.entry(x) }
        $macroScale.update(returning: 42)
        let slowPath = entry()
        #expect(!StaticCallStorage.isDirectTarget(word()) && slowPath != word())
        #expect(callEntry(2) == 42)
        func expectEntryFollowsWord(_ comment: Comment) {
            #expect(entry() == (StaticCallStorage.isDirectTarget(word()) ? word() : slowPath), comment)
        }
        $macroScale.update { $0 &* 5 }
        expectEntryFollowsWord("a target")
        #expect(callEntry(2) == 10)
        $macroScale.reset()
        expectEntryFollowsWord("the default target")
        #expect(callEntry(2) == 6)
        $macroScale.update(returning: -1)
        #expect(entry() == slowPath)
        #expect(callEntry(2) == -1)
        $macroScale.reset()
        var n = 0
        $macroHook.disable()
        _staticcallKey_macroHook.entry(&n)
        #expect(n == 0)
        $macroHook.reset()
        _staticcallKey_macroHook.entry(&n)
        #expect(n == 1)
    }

    @Test func aKeyTakingAndReturningALargeStructIsRetargeted() {
        let x = MacroLarge(i: 1, d: 2, s: "s", xs: [3], e: 4)
        #expect(macroGrow(x, by: 1).e == 5)
        $macroGrow.update { x, n in var y = x; y.xs.append(n); return y }
        #expect(macroGrow(x, by: 7).xs == [3, 7])
        #expect(_staticcallKey_macroGrow.entry(x, 8).xs == [3, 8])
        $macroGrow.reset()
        #expect(macroGrow(x, by: 1) == MacroLarge(i: 1, d: 2, s: "s", xs: [3], e: 5))
    }

    @Test func constantsAtTheEdges() {
        for v in [0, 1, -1, Int(Int32.max), Int(UInt32.max), 1 << 40, Int.min, Int.max] {
            $macroScale.update(returning: v)
            #expect(macroScale(7) == v)
        }
        $macroScale.reset()
        $macroFlag.update(returning: true)
        #expect(macroFlag())
        $macroFlag.update(returning: false)
        #expect(!macroFlag())
    }

    @Test func targetQueriesTheCurrentFunction() {
        $macroScale.update { $0 &+ 1 }
        let f = $macroScale.target
        #expect(f(41) == 42)
        $macroScale.reset()
        #expect($macroScale.target(2) == 6)
    }

    @Test func reportNamesTheKeyAndCountsUpdates() {
        $macroScale.update { $0 &- 1 }
        $macroScale.reset()
        let key = StaticCalls.report()["macroScale(_:)"]
        #expect(key != nil)
        #expect((key?.updates ?? 0) >= 2)
        if Engine.isBuilt {
            #expect((key?.sitesFound ?? 0) >= 1)
        } else {
            #expect(key?.sitesFound == 0) // the portable build looks for no sites
        }
        if StaticCalls.mode == .inline { #expect(key?.sitesPatched == key?.sitesFound) }
    }

    @Test func batchAppliesEverythingAtOnce() {
        var n = 0
        StaticCalls.batch {
            $macroScale.update { $0 &* 100 }
            $macroHook.disable()
        }
        macroHook(&n)
        #expect(macroScale(2) == 200 && n == 0)
        StaticCalls.batch {
            $macroScale.reset()
            $macroHook.reset()
        }
        #expect(macroScale(2) == 6)
        #expect(throws: Never.self) { try StaticCalls.patchAll() }
    }
}

@Suite("@StaticKey through the macros (debug build, this process)", .serialized)
struct StaticKeyBehaviourTests {
    @Test func assignmentBeforeAnyReadRegistersTheKey() {
        macroAssignedFirst = true
        #expect(macroAssignedFirst)
        macroAssignedFirst = false
        #expect(!macroAssignedFirst)
    }

    @Test func readsFollowAssignmentsAndCounts() {
        #expect(!macroTracing && macroLogging)
        macroTracing = true
        #expect(macroTracing && $macroTracing.count == 1)
        $macroTracing.disable()
        #expect(!macroTracing && $macroTracing.count == 0)
        $macroTracing.increment()
        $macroTracing.increment()
        #expect(macroTracing && $macroTracing.count == 2)
        $macroTracing.decrement()
        #expect(macroTracing)
        $macroTracing.decrement()
        #expect(!macroTracing)
        $macroLogging.disable()
        #expect(!macroLogging)
        $macroLogging.enable()
        #expect(macroLogging)
        let key = StaticCalls.report()["macroTracing"]
        #expect(key?.target == "<constant 0>")
    }
}

@Suite("Static members through the macros", .serialized) // both tests call MacroCodec.encode; one retargets it
struct StaticMemberMacroTests {
    @Test func staticMethodAndStaticKey() {
        #expect(MacroCodec.encode(0x1234) == 0x34)
        MacroCodec.$encode.update { UInt8(truncatingIfNeeded: $0 >> 8) }
        #expect(MacroCodec.encode(0x1234) == 0x12)
        MacroCodec.$encode.reset()
        #expect(!MacroCodec.verbose)
        MacroCodec.verbose = true
        #expect(MacroCodec.verbose)
        MacroCodec.$verbose.disable()
        #expect(!MacroCodec.verbose)
    }

    @Test func sameNamedStaticMembersOfTwoTypesAreTwoKeysNamedWithTheirType() {
        #expect(MacroCodec.encode(1) == 1 && MacroOtherCodec.encode(1) == 2)
        MacroOtherCodec.$encode.update { _ in 99 }
        #expect(MacroCodec.encode(1) == 1 && MacroOtherCodec.encode(1) == 99)
        let report = StaticCalls.report()
        #expect(report["MacroCodec.encode(_:)"]?.target == "<default body>")
        #expect(report["MacroOtherCodec.encode(_:)"]?.target != "<default body>")
        #expect(MacroOtherCodec.$encode.name == "MacroOtherCodec.encode(_:)")
        MacroOtherCodec.$encode.reset()
        #expect(MacroOtherCodec.verbose && MacroOtherCodec.$verbose.name == "MacroOtherCodec.verbose")
        #expect(report["MacroOtherCodec.verbose"] != nil || StaticCalls.report()["MacroOtherCodec.verbose"] != nil)
    }
}
