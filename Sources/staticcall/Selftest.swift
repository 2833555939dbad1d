#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#else
#error("unsupported platform: StaticCall needs Glibc, Musl or Darwin")
#endif
import ArgumentParser
import StaticCall
import StaticCallDemo
import Synchronization

/// CONFIG_STATIC_CALL_SELFTEST, extended: every state transition at call and tail sites, with threads
/// calling those sites throughout.
struct Selftest: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Exercise every state transition in this process while other threads call; exit non-zero on failure.",
        discussion: """
        With --json, one document:
          {"passed": true | false, "mode": "inline" | "indirect", "transitions": n,
           "workerCalls": n, "emulatedTraps": n, "wrongResults": n,
           "failures": [string], "fallbacks": [string]}

        Examples:
          staticcall selftest --rounds 500 --threads 2
          STATICCALL_MODE=indirect staticcall selftest --json

        Exit codes: 0 every check passed; 1 a check failed or a result was wrong.
        """
    )

    @Option(help: "Times to run the whole sequence of transitions.") var rounds = 200
    @Option(help: "Threads calling the sites while the main thread updates.") var threads = 2
    @Flag(help: "Print one JSON document instead of text.") var json = false

    func validate() throws {
        guard rounds > 0, threads >= 0, threads <= 64 else { throw ValidationError("--rounds must be > 0 and --threads 0...64") }
    }

    func run() throws {
        let outcome = SelftestRun(rounds: rounds, threads: threads).run()
        if json {
            print(outcome.json)
        } else {
            for line in outcome.log { print(line) }
            print(StaticCalls.report())
            print(outcome.summary)
        }
        if !outcome.passed { throw ExitCode(1) }
    }
}

struct SelftestOutcome {
    var transitions = 0
    var workerCalls = 0
    var wrong = 0
    var failures: [String] = []
    /// Keys that stayed indirect with a reason: correct, not patched.
    var fallbacks: [String] = []
    var log: [String] = []
    var mode = StaticCalls.mode
    var emulatedTraps = 0

    var passed: Bool { failures.isEmpty && wrong == 0 }

    var summary: String {
        let verdict = !passed ? "FAIL" : fallbacks.isEmpty ? "PASS" : "PASS (fell back correctly)"
        return fallbacks.map { "fell back: " + $0 + "\n" }.joined()
            + "selftest: \(verdict) — mode \(mode), \(transitions) transitions, \(workerCalls) calls from other threads, "
            + "\(emulatedTraps) traps emulated mid-patch, \(wrong) wrong results, \(failures.count) failed checks"
            + (fallbacks.isEmpty ? "" : ", \(fallbacks.count) keys left on their trampolines with the reason above")
    }

    var json: String {
        JSON.object([
            ("passed", .bool(passed)), ("mode", .string(mode.rawValue)), ("transitions", .int(transitions)),
            ("workerCalls", .int(workerCalls)), ("emulatedTraps", .int(emulatedTraps)), ("wrongResults", .int(wrong)),
            ("failures", .array(failures.map(JSON.string))), ("fallbacks", .array(fallbacks.map(JSON.string))),
        ]).text
    }
}

/// Values a call may legally produce in any state the sequence visits (other threads cannot know which
/// state they hit, only that it is one of them).
private func legalValue(_ r: Int, _ x: Int) -> Bool { r == x &+ 1 || r == x &* 2 || r == x &* 3 || r == 7 || r == -1 }
private func legalHookDelta(_ d: Int) -> Bool { d == 0 || d == 1 || d == 10 }

final class SelftestWorker: @unchecked Sendable {
    let stop: UnsafePointer<Atomic<Bool>>
    var calls = 0
    var wrong = 0
    #if canImport(Glibc)
    var thread = pthread_t()
    #else
    var thread: pthread_t? // a pointer on Darwin and Musl
    #endif

    init(stop: UnsafePointer<Atomic<Bool>>) { self.stop = stop }

    func start() {
        pthread_create(&thread, nil, { context in
            Unmanaged<SelftestWorker>.fromOpaque(unwrapped(context)).takeUnretainedValue().loop()
            return nil
        }, Unmanaged.passUnretained(self).toOpaque())
    }

    func loop() {
        let counter = UnsafeMutablePointer<Int>.allocate(capacity: 1)
        counter.initialize(to: 0)
        defer { counter.deallocate() }
        var x = 0
        while !stop.pointee.load(ordering: .relaxed) {
            x = (x &+ 1) & 0xffff
            if !legalValue(callValue(x) &- 1000, x) { wrong += 1 }
            if !legalValue(tailValue(x), x) { wrong += 1 }
            var before = counter.pointee
            callHook(counter)
            if !legalHookDelta(counter.pointee &- before &- 100) { wrong += 1 }
            before = counter.pointee
            tailHook(counter)
            if !legalHookDelta(counter.pointee &- before) { wrong += 1 }
            calls += 4
        }
    }

    #if canImport(Glibc)
    func join() { pthread_join(thread, nil) }
    #else
    func join() { if let thread { pthread_join(thread, nil) } }
    #endif
}

struct SelftestRun {
    var rounds: Int
    var threads: Int

    /// The sequence: (description, update, expected value-site result for x, expected hook delta).
    typealias Step = (String, @Sendable () -> Void, @Sendable (Int) -> Int, Int)

    static let steps: [Step] = [
        ("value: default -> x*2 (call -> call')", { $selftestValue.update { valueTimes2($0) } }, { $0 &* 2 }, 1),
        ("value: x*2 -> x*3 (call' -> call'')", { $selftestValue.update { valueTimes3($0) } }, { $0 &* 3 }, 1),
        ("value: call -> constant 7", { $selftestValue.update(returning: 7) }, { _ in 7 }, 1),
        ("value: constant 7 -> constant -1", { $selftestValue.update(returning: -1) }, { _ in -1 }, 1),
        ("value: constant -> default call", { $selftestValue.reset() }, { $0 &+ 1 }, 1),
        ("hook: default -> +10 (call -> call')", { $selftestHook.update { hookAdds10($0) } }, { $0 &+ 1 }, 10),
        ("hook: call -> NOP (tail: jmp to a return stub)", { $selftestHook.disable() }, { $0 &+ 1 }, 0),
        ("hook: NOP -> call", { $selftestHook.update { hookAdds10($0) } }, { $0 &+ 1 }, 10),
        ("hook: call -> default", { $selftestHook.reset() }, { $0 &+ 1 }, 1),
        ("batch: value x*2 and hook NOP in one transaction",
         { StaticCalls.batch { $selftestValue.update { valueTimes2($0) }; $selftestHook.disable() } }, { $0 &* 2 }, 0),
        ("batch: both back to default", { StaticCalls.batch { $selftestValue.reset(); $selftestHook.reset() } }, { $0 &+ 1 }, 1),
    ]

    func run() -> SelftestOutcome {
        var outcome = SelftestOutcome()
        // Register both keys (and patch their sites) before the other threads start.
        $selftestValue.reset()
        $selftestHook.reset()
        let stop = UnsafeMutablePointer<Atomic<Bool>>.allocate(capacity: 1)
        stop.initialize(to: Atomic(false))
        defer { stop.deallocate() }
        let workers = (0..<threads).map { _ in SelftestWorker(stop: stop) }
        workers.forEach { $0.start() }

        let counter = UnsafeMutablePointer<Int>.allocate(capacity: 1)
        counter.initialize(to: 0)
        defer { counter.deallocate() }
        for round in 0..<rounds {
            for (name, update, expected, hookDelta) in Self.steps {
                update()
                outcome.transitions += 1
                var ok = true
                for x in [0, 1, 5, 1234] {
                    ok = ok && callValue(x) == expected(x) &+ 1000 && tailValue(x) == expected(x)
                }
                var before = counter.pointee
                callHook(counter)
                ok = ok && counter.pointee - before == 100 + hookDelta
                before = counter.pointee
                tailHook(counter)
                ok = ok && counter.pointee - before == hookDelta
                if round == 0 { outcome.log.append("\(ok ? "ok  " : "FAIL") \(name)") }
                if !ok { outcome.failures.append("round \(round): \(name)") }
            }
        }
        stop.pointee.store(true, ordering: .relaxed)
        workers.forEach { $0.join() }
        outcome.workerCalls = workers.reduce(0) { $0 + $1.calls }
        outcome.wrong = workers.reduce(0) { $0 + $1.wrong }
        let report = StaticCalls.report()
        outcome.emulatedTraps = report.emulatedTraps + report.lateTraps
        if report.mode == .inline {
            for key in report.keys where key.sitesFound == 0 {
                // A key the runtime left on its trampoline, saying why, fell back correctly (every result
                // above was still checked); one with no sites and no reason is a failure.
                if let problem = key.problem {
                    outcome.fallbacks.append("\(key.name): stays on its trampoline (indirect), every result right: \(problem)")
                } else {
                    outcome.failures.append("\(key.name): no call sites found")
                }
            }
        }
        return outcome
    }
}

/// A thread's start argument, optional or not depending on the C library's declaration of pthread_create.
private func unwrapped(_ context: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer { context! }
