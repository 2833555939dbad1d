import CStaticCall
import Foundation
@testable import StaticCall
import MacroLib
import StaticCallTesting
import Synchronization
import Testing

// Keys of their own, so that these suites run in parallel with the others.
@StaticCall
func stateLimit() -> Int { 64 }

@StaticCall
func stateHook(_ counter: inout Int) { counter += 1 }

@StaticCall
func stateScale(_ x: Int) -> Int { x &* 3 }

@StaticCall
func stateOther(_ x: Int) -> Int { x }

@StaticKey
var stateFlag = false

@StaticKey
var stateCounted = false

struct Refused: Error {}

/// The suites below share keys: one after the other (the trait suites at the end run in parallel).
@Suite("Key state", .serialized)
struct KeyStateSuites {

    @Suite("Saving and restoring a key's state (static_call_query, update, restore)", .serialized)
    struct StateRestoreTests {
        @Test func targetOfAConstantKeyIsCallableAndGivesTheConstantBack() {
            $stateLimit.update(returning: 128)
            let saved = $stateLimit.target
            #expect(saved() == 128)
            $stateLimit.update(returning: 5)
            #expect(stateLimit() == 5)
            $stateLimit.update(to: saved)
            #expect(stateLimit() == 128)
            #expect($stateLimit.target() == 128)
            $stateLimit.reset()
            #expect(stateLimit() == 64)
        }

        @Test func savedTargetOfADisabledKeyDisablesItAgain() {
            var n = 0
            $stateHook.disable()
            let saved = $stateHook.target
            saved(&n)
            #expect(n == 0)
            $stateHook.update { $0 += 10 }
            stateHook(&n)
            #expect(n == 10)
            $stateHook.update(to: saved)
            stateHook(&n)
            #expect(n == 10 && !$stateHook.isEnabled)
            $stateHook.reset()
            stateHook(&n)
            #expect(n == 11)
        }

        @Test func stateRoundTripsInEveryState() {
            #expect($stateScale.state == .defaultBody && $stateScale.state.isDefault)
            let states: [(String, () -> Void, Int)] = [
                ("target", { $stateScale.update { $0 &+ 1 } }, 8),
                ("constant", { $stateScale.update(returning: -3) }, -3),
                ("default", { $stateScale.reset() }, 21),
            ]
            for (what, apply, expected) in states {
                apply()
                let saved = $stateScale.state
                $stateScale.update { $0 &* 1000 }
                #expect(stateScale(7) == 7000)
                $stateScale.restore(saved)
                #expect(stateScale(7) == expected, "\(what): \(saved)")
                #expect($stateScale.state == saved)
            }
            var n = 0
            $stateHook.disable()
            let disabled = $stateHook.state
            #expect(disabled.isDisabled)
            $stateHook.reset()
            $stateHook.restore(disabled)
            stateHook(&n)
            #expect(n == 0 && !$stateHook.isEnabled)
            $stateHook.reset()
        }

        @Test func aKeyCannotBeMadeToCallItself() {
            // The key's thunk of its trampoline (what `target` hands out while the key holds a constant
            // no function could be made for): as a target, every call would recurse. Refused.
            $stateScale.update { $0 &+ 2 }
            let thunk = _staticcallKey_stateScale.trampolineAddress()
            $stateScale.restore(StaticCallState(.target(UInt64(thunk))))
            #expect(stateScale(1) == 3)
            $stateScale.update(to: unsafeBitCast(thunk, to: _staticcallKey_stateScale.Function?.self)!)
            #expect(stateScale(1) == 3)
            #expect($stateScale.state(targeting: unsafeBitCast(thunk, to: _staticcallKey_stateScale.Function?.self)!) == $stateScale.state)
            $stateScale.reset()
        }

        @Test func scopedOverridesInsideABatchApplyAtOnce() {
            $stateScale.update { $0 &+ 1 }
            StaticCalls.batch {
                $stateScale.withTarget({ $0 &* 10 }) { #expect(stateScale(2) == 20) }
                #expect(stateScale(2) == 3)
                $stateFlag.withValue(true) { #expect(stateFlag) }
                $stateScale.update(returning: 4) // queued: applied when the batch returns
                #expect(stateScale(2) == 3)
            }
            #expect(stateScale(2) == 4 && !stateFlag)
            $stateScale.reset()
        }

        #if compiler(>=6.3) && os(Linux)
        @Test(.enabled(if: Engine.isBuilt, "the portable build reads no key records"))
        func everyKeyOfThisImageLeftARecord() {
            // The test binary's macro keys (this file's, MacroShapes.swift's, MacroLib's): at least these.
            #expect(cstaticcall_own_key_record_count() >= 12)
        }
        #endif

        @Test func withTargetRestoresOnReturnAndOnThrow() throws {
            $stateScale.update(returning: 9)
            let r = $stateScale.withTarget({ $0 &+ 100 }) { stateScale(1) }
            #expect(r == 101 && stateScale(1) == 9)
            #expect(throws: Refused.self) {
                try $stateScale.withTarget({ $0 &- 1 }) {
                    #expect(stateScale(1) == 0)
                    throw Refused()
                }
            }
            #expect(stateScale(1) == 9)
            $stateScale.reset()
        }

        @Test func withTargetInAsyncCode() async {
            let r = await $stateScale.withTarget({ $0 &* 2 }) { () async -> Int in
                await Task.yield()
                return stateScale(21)
            }
            #expect(r == 42 && stateScale(1) == 3)
        }
    }

    @Suite("Static keys: counted enables, assignment and restore", .serialized)
    struct StaticKeyStateTests {
        @Test func countedEnablesMixedWithAssignmentAreClampedAndReported() {
            $stateCounted.increment()
            $stateCounted.increment()
            stateCounted = false // drops the counted enables: noted, not fatal
            $stateCounted.decrement() // at 0: stays 0, noted
            #expect(!stateCounted && $stateCounted.count == 0)
            $stateCounted.increment()
            #expect(stateCounted && $stateCounted.count == 1)
            let notes = StaticCalls.report()["stateCounted"]?.notes ?? []
            #expect(notes.contains { $0.contains("counted enables were held") }, "\(notes)")
            #expect(notes.contains { $0.contains("decrement() at a count of 0") }, "\(notes)")
            stateCounted = false
        }

        @Test func stateKeepsTheCountAndWithValueRestoresIt() throws {
            #expect($stateFlag.state == StaticKeyState(false))
            $stateFlag.increment()
            $stateFlag.increment()
            let saved = $stateFlag.state
            #expect(saved.count == 2 && saved.isEnabled)
            $stateFlag.withValue(false) { #expect(!stateFlag) }
            #expect(stateFlag && $stateFlag.count == 2)
            #expect(throws: Refused.self) { try $stateFlag.withValue(false) { throw Refused() } }
            #expect($stateFlag.state == saved)
            stateFlag = false
            $stateFlag.restore(saved)
            #expect(stateFlag && $stateFlag.count == 2)
            stateFlag = false
        }
    }

    @Suite("StaticCalls.batch collects updates and applies them after the closure", .serialized)
    struct BatchTests {
        @Test func batchClosureMayWaitForAnotherThreadThatUpdates() {
            let done = DispatchSemaphore(value: 0)
            let finished = StaticCalls.batch { () -> Bool in
                $stateScale.update { $0 &+ 5 }
                Thread.detachNewThread {
                    $stateOther.update { $0 &* 11 } // takes the update lock: must not wait for the batch
                    done.signal()
                }
                return done.wait(timeout: .now() + 30) == .success
            }
            #expect(finished, "the other thread's update waited for the batch's closure (deadlock)")
            #expect(stateOther(2) == 22 && stateScale(1) == 6)
            $stateOther.reset()
            $stateScale.reset()
        }

        @Test func updatesInsideABatchTakeEffectTogetherWhenItReturns() {
            StaticCalls.batch {
                $stateScale.update(returning: 77)
                $stateFlag.increment()
                #expect(stateScale(1) == 3 && $stateScale.state == .defaultBody, "applied before the batch returned")
            }
            #expect(stateScale(1) == 77 && stateFlag)
            #expect(throws: Refused.self) {
                try StaticCalls.batch {
                    $stateScale.reset()
                    stateFlag = false
                    throw Refused()
                }
            }
            #expect(stateScale(1) == 3 && !stateFlag, "updates made before a throw are applied all the same")
        }
    }

    @Suite("Environment")
    struct EnvironmentTests {
        @Test func aModeThatIsNotOneIsWarnedAboutAndIgnored() {
            var warnings: [String] = []
            #expect(Environment.parseMode("indriect") { warnings.append($0) } == nil)
            #expect(warnings.count == 1 && warnings[0].contains("'inline' and 'indirect'"), "\(warnings)")
            #expect(Environment.parseMode("INDIRECT") { warnings.append($0) } == .indirect)
            #expect(Environment.parseMode(nil) { warnings.append($0) } == nil && warnings.count == 1)
        }
    }

}

// The trait, in suites that run in parallel: two tests override the same key with different fakes,
// and each sees only its own for its whole duration.
@Suite("Testing trait: overrides scoped to a test, serialized per key")
struct TraitTests {
    static func seesOnly(_ expected: Int) async -> Bool {
        for _ in 0..<200 {
            guard traitOther(1) == expected else { return false }
            await Task.yield()
        }
        return true
    }

    @Test(.staticCall($traitOther) { $0 &+ 1000 })
    func firstOverride() async { #expect(await Self.seesOnly(1001)) }

    @Test(.staticCall($traitOther) { $0 &+ 2000 })
    func secondOverride() async { #expect(await Self.seesOnly(2001)) }

    @Test(.staticCall($traitOther) { $0 &+ 3000 }, .staticKey($traitFlag, true))
    func twoOverridesAtOnce() async {
        #expect(await Self.seesOnly(3001))
        #expect(traitFlag)
    }

    @Test(.staticCall($traitHook) { $0 += 5 })
    func overrideOfAVoidKey() {
        var n = 0
        traitHook(&n)
        #expect(n == 5)
    }
}

@Suite("The trait restores the state from before the test")
struct TraitRestoresTests {
    @Test func stateBeforeAndAfterAnOverriddenTest() async throws {
        // Runs the trait's scope by hand around a body, as Swift Testing does.
        $traitRestored.update(returning: 3)
        let trait: StaticCallOverride = .staticCall($traitRestored) { 99 }
        let test = try #require(Test.current)
        try await trait.provideScope(for: test, testCase: nil) {
            #expect(traitRestored() == 99)
        }
        #expect(traitRestored() == 3)
        $traitRestored.reset()
    }
}

// A suite that overrides a key for all its tests; two of its tests override it again, differently:
// they run one after the other, each sees its own, and the suite's override comes back after each.
@Suite(.staticCall($traitLimit) { 7 })
struct SuiteOverrideTests {
    @Test(.staticCall($traitLimit) { 7 }) // locks the key within the suite, as its siblings do
    func seesTheSuitesOverride() { #expect(traitLimit() == 7) }

    @Test(.staticCall($traitLimit) { 8 })
    func overridesItAgain() async {
        for _ in 0..<100 { #expect(traitLimit() == 8); await Task.yield() }
    }

    @Test(.staticCall($traitLimit) { 9 })
    func overridesItAgainDifferently() async {
        for _ in 0..<100 { #expect(traitLimit() == 9); await Task.yield() }
    }
}

@Suite("The trait's leak check")
struct TraitLeakCheckTests {
    // The outer trait holds the key's lock (so the change below races no other test); the scope run by
    // hand inside it is this test's own.
    @Test(.staticKey($traitFlag, false))
    func aKeyChangedDuringAnOverrideIsReportedAndRestored() async throws {
        let trait: StaticCallOverride = .staticKey($traitFlag, true)
        let test = try #require(Test.current)
        try await withKnownIssue {
            try await trait.provideScope(for: test, testCase: nil) {
                #expect(traitFlag)
                traitFlag = false // as a test running beside it, without the trait, would
            }
        } matching: { issue in
            issue.comments.contains { $0.rawValue.contains("traitFlag was changed while") }
        }
        #expect(!traitFlag && $traitFlag.state == StaticKeyState(false))
    }
}
