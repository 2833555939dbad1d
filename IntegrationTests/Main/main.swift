// The integration program (compiled with -O in every configuration): real call sites the optimizer emitted, patched while other
// threads call them. Run by StaticCallTests/IntegrationTests in every configuration; prints one line per
// check and exits non-zero on any failure.
//
//   staticcall-integration [basic|stress|sigtrap|fork|mdwe|soak|plugin|plugin-churn|fault NAME] [--expect-mode M]
//                          [--expect-writer W] [--expect-reason TEXT] [--iterations N]
#if canImport(Glibc)
import Glibc
#endif
import CFaults
import CStaticCall
import IntegrationSupport
import MachineCode
import StaticCall
import Synchronization

// MARK: - Checks

nonisolated(unsafe) var passed = 0
nonisolated(unsafe) var failed = 0

func check(_ condition: Bool, _ what: String) {
    if condition { passed += 1; print("PASS: \(what)") } else { failed += 1; print("FAIL: \(what)") }
}

func finish() -> Never {
    print("\(passed) passed, \(failed) failed")
    exit(failed == 0 ? 0 : 1)
}

// Line-buffered even into a pipe: a row of the fault matrix that ends by a signal keeps its output.
cfaults_line_buffer_stdout()

let arguments = Array(CommandLine.arguments.dropFirst())
func option(_ name: String) -> String? {
    guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count else { return nil }
    return arguments[i + 1]
}
let command = arguments.first.flatMap { $0.hasPrefix("--") ? nil : $0 } ?? "basic"
let iterations = option("--iterations").flatMap { Int($0) } ?? 10_000

/// Prevents the optimizer from deleting a computation.
@inline(never) func blackHole<T>(_ x: T) { withExtendedLifetime(x) {} }

// MARK: - Threads

final class Worker: @unchecked Sendable {
    let body: () -> Void
    var thread = pthread_t()
    init(_ body: @escaping () -> Void) { self.body = body }

    func start() {
        let context = Unmanaged.passRetained(self).toOpaque()
        pthread_create(&thread, nil, { context in
            let worker = Unmanaged<Worker>.fromOpaque(context!).takeRetainedValue()
            worker.body()
            return nil
        }, context)
    }

    func join() { pthread_join(thread, nil) }
}

// MARK: - Targets

func times5(_ x: Int) -> Int { x &* 5 }
func times7(_ x: Int) -> Int { x &* 7 }
func times11(_ x: Int) -> Int { x &* 11 }

let hookA = Atomic<Int>(0)
let hookB = Atomic<Int>(0)

/// Every value `scale(x)` may return in any state the stress test cycles through.
func isValidScale(_ r: Int, _ x: Int) -> Bool {
    r == x &* 3 || r == x &* 5 || r == x &* 7 || r == x &* 11 || r == 42 || r == -1 || r == Int(UInt32.max) || r == 1 << 40
}

// MARK: - Report helpers

func key(_ name: String) -> StaticCallReport.Key? { StaticCalls.report()[name] }

/// The instruction at each patched site of a key (for sites the report says are patched).
func sitesHold(_ name: String, _ expected: (SiteInstruction) -> Bool) -> Bool {
    guard let k = key(name), k.sitesPatched > 0 else { return false }
    for address in k.patchedSites {
        let bytes = UnsafeRawBufferPointer(start: UnsafeRawPointer(bitPattern: address), count: 5)
        guard let insn = SiteInstruction.recognise(Array(bytes), at: UInt64(address)), expected(insn) else {
            print("  site 0x\(String(address, radix: 16)) holds \(Array(bytes))")
            return false
        }
    }
    return true
}

func checkModeExpectations() {
    let report = StaticCalls.report()
    if let mode = option("--expect-mode") { check(report.mode.rawValue == mode, "process mode is \(mode) (got \(report.mode), \(report.reason ?? "no reason"))") }
    if let writer = option("--expect-writer") { check(report.writer == writer, "writer is \(writer) (got \(report.writer ?? "none"))") }
    if let reason = option("--expect-reason") {
        check(report.reason?.contains(reason) == true, "reason mentions \"\(reason)\" (got \(report.reason ?? "none"))")
    }
}

// MARK: - basic: every state, every site kind, results right

func basic() {
    let statistics = getenv("STATICCALL_STATS").map { String(cString: $0) == "1" } ?? false
    check(sumOfScales(10) == 135, "default target through the loop site")
    check(scaleTail(4) == 12, "default target through the tail site")
    check(scale(2) == 6, "default target from main.swift")
    check(mixFromMain(1) == 5 && sumOfMixes(3) == 6 && mixTail(1) == 3, "second-module key from both modules")
    check(grow(Big(a: 1, b: 2, c: "c", d: [1], e: 5), 2).a == 3, "large-struct key")
    check(countEnabled(10) == 0, "Bool key default")
    check(sumOfOffsets(10) == 1045 && offsetTail(1) == 101, "same-signature twin key default")
    hook(1)
    hookTail(1)
    checkModeExpectations()
    let inline = StaticCalls.mode == .inline

    for name in ["scale(_:)", "offset(_:)", "mix(_:_:)", "hook(_:)", "enabled()", "grow(_:_:)"] {
        guard let k = key(name) else { check(false, "\(name) is registered"); continue }
        print("  \(name): found \(k.sitesFound), patched \(k.sitesPatched), mode \(k.mode), unpatched \(k.unpatched.map { "0x\(String($0.address, radix: 16)): \($0.reason)" })")
        #if os(Linux) && arch(x86_64) && canImport(Glibc) && !STATICCALL_FORCE_PORTABLE
        check(k.sitesFound >= (name == "scale(_:)" ? 4 : 1), "\(name): sites found (\(k.sitesFound))")
        #else
        check(k.sitesFound == 0, "\(name): no sites looked for in the portable build")
        #endif
        if inline {
            check(k.sitesPatched == k.sitesFound && k.unpatched.isEmpty, "\(name): every site proven and patched (\(k.sitesPatched)/\(k.sitesFound))")
        } else {
            check(k.sitesPatched == 0, "\(name): no site patched in indirect mode")
            check(k.unpatched.allSatisfy { !$0.reason.isEmpty }, "\(name): every unpatched site has a reason")
        }
    }
    if inline {
        check(sitesHold("scale(_:)") { if case let .call(t) = $0 { return t != 0 }; if case let .jump(t) = $0 { return t != 0 }; return false },
              "scale(_:) sites are direct calls/jumps to the default target")
    }

    // call -> call' -> call'' with results through every kind of site
    let defaultName = key("scale(_:)")!.target
    ScaleKey.update { times5($0) }
    check(sumOfScales(10) == 225 && scaleTail(4) == 20 && scale(2) == 10, "call -> call' (loop, tail, main)")
    let t5 = key("scale(_:)")!.target
    check(t5 != defaultName && !t5.hasPrefix("<disabled") && !t5.hasPrefix("<constant"), "report shows the new target (\(defaultName) -> \(t5))")
    ScaleKey.update { times7($0) }
    check(sumOfScales(10) == 315 && scaleTail(4) == 28, "call' -> call''")
    check(sumOfOffsets(10) == 1045 && offsetTail(1) == 101, "the same-signature twin is untouched by scale's updates")
    OffsetKey.update { $0 &- 1 }
    check(sumOfOffsets(10) == 35 && offsetTail(1) == 0 && sumOfScales(10) == 315, "twin retargeted alone")

    // constants: 32-bit, -1 (or $-1,%rax), and one no 5-byte load can hold (1 << 40): a direct call of
    // a function that returns it; at tail sites, every constant is a jump to such a function
    ScaleKey.update(returning: 42)
    check(sumOfScales(10) == 420 && scaleTail(4) == 42 && scale(9) == 42, "call -> constant 42")
    if inline {
        // Call sites hold the load; tail sites a jump (to a function returning 42: the slow-path count below).
        check(sitesHold("scale(_:)") { insn in if case .jump = insn { return true }; return insn == .loadConstant(42) }, "constant sites hold mov $42 or jmp")
        if statistics {
            let before = key("scale(_:)")!.slowPathCalls
            blackHole(sumOfScales(100) &+ scaleTail(1))
            check(key("scale(_:)")!.slowPathCalls == before, "constant 42: no call or tail site enters the trampoline")
        }
    }
    ScaleKey.update(returning: -1)
    check(sumOfScales(10) == -10 && scaleTail(4) == -1, "constant -1")
    ScaleKey.update(returning: Int(UInt32.max))
    check(scale(1) == Int(UInt32.max) && scaleTail(1) == Int(UInt32.max), "constant UInt32.max")
    ScaleKey.update(returning: 1 << 40)
    check(scale(1) == 1 << 40 && scaleTail(1) == 1 << 40 && sumOfScales(10) == 10 << 40, "constant 1 << 40")
    if inline {
        let k = key("scale(_:)")!
        check(k.sitesPatched == k.sitesFound && k.unpatched.isEmpty, "constant 1 << 40: every call and tail site direct (\(k.unpatched.map(\.reason)))")
        check(sitesHold("scale(_:)") { if case .call = $0 { return true }; if case .jump = $0 { return true }; return false },
              "constant 1 << 40: call sites call, tail sites jump to a function returning it")
        if statistics { // and none of those is the trampoline
            let before = k.slowPathCalls
            blackHole(sumOfScales(100) &+ scaleTail(1))
            let after = key("scale(_:)")!.slowPathCalls
            check(after == before, "constant 1 << 40: no call or tail site enters the trampoline (slow calls \(before) -> \(after))")
        }
    }
    ScaleKey.update(returning: 42)
    check(scaleTail(4) == 42, "constant 42 at a tail site")
    if inline {
        let k = key("scale(_:)")!
        check(k.sitesPatched == k.sitesFound && k.unpatched.isEmpty, "constant 42: tail sites direct too (\(k.unpatched.map(\.reason)))")
    }
    ScaleKey.reset()
    check(sumOfScales(10) == 135 && scaleTail(4) == 12, "constant -> default call")

    // Void: call -> NOP -> call, at call and tail sites
    HookKey.update { hookA.wrappingAdd($0, ordering: .relaxed) }
    hook(1); hookTail(1)
    check(hookA.load(ordering: .relaxed) == 2, "hook -> counting target")
    HookKey.disable()
    hook(1); hookTail(1)
    check(hookA.load(ordering: .relaxed) == 2, "hook disabled: NOP at call sites, ret at tail sites")
    if inline {
        // Tail sites jump to a return stub: every tail state starts with E9 (see SitePlanner).
        check(sitesHold("hook(_:)") { if case .jump = $0 { return true }; return $0 == .nop }, "disabled hook sites hold nop / jmp to a return stub")
    }
    HookKey.update { hookB.wrappingAdd($0, ordering: .relaxed) }
    hook(1); hookTail(1)
    check(hookB.load(ordering: .relaxed) == 2, "NOP -> call")

    // Bool constant
    EnabledKey.update(returning: true)
    check(countEnabled(10) == 10, "Bool key -> constant true")
    EnabledKey.update(returning: false)
    check(countEnabled(10) == 0, "Bool key -> constant false")

    // Large struct through a new target
    GrowKey.update { b, by in var c = b; c.e = by; return c }
    check(grow(Big(a: 1, b: 2, c: "c", d: [1], e: 5), 9) == Big(a: 1, b: 2, c: "c", d: [1], e: 9), "large-struct key retargeted")

    // Second module, updated from the executable
    MixKey.update { $0 &* $1 }
    check(mixFromMain(4) == 13 && sumOfMixes(4) == 6 && mixTail(5) == 10, "second-module key retargeted from the executable")

    // The slow path is no longer taken from patched sites
    if statistics {
        ScaleKey.reset()
        let before = key("scale(_:)")!.slowPathCalls
        blackHole(sumOfScales(1000))
        let after = key("scale(_:)")!.slowPathCalls
        if inline { check(after == before, "patched sites never enter the trampoline (slow calls \(before) -> \(after))") }
        else { check(after - before == 1000, "indirect mode takes the slow path every call (\(after - before))") }
    }
    print(StaticCalls.report())
}

// MARK: - stress: two threads call while the main thread cycles states

/// Threads that call every kind of site (loop and tail, value and Void) until finished, counting
/// results outside every state the updates cycle through.
final class Callers: @unchecked Sendable {
    let stop = Atomic<Bool>(false)
    let wrong = Atomic<Int>(0)
    let calls = Atomic<Int>(0)
    let started = Atomic<Int>(0)
    private var workers: [Worker] = []

    /// - Parameter setup: runs first on each calling thread (given its index), e.g. to block signals.
    init(count: Int, setup: @escaping @Sendable (Int) -> Void) {
        for w in 0..<count {
            let worker = Worker { [self] in
                var i = w
                var local = 0
                setup(w)
                started.wrappingAdd(1, ordering: .relaxed)
                while !stop.load(ordering: .relaxed) {
                    for _ in 0..<100 {
                        i &+= 1
                        let x = i & 0xffff
                        if !isValidScale(scale(x), x) { wrong.wrappingAdd(1, ordering: .relaxed) }
                        if !isValidScale(scaleTail(x), x) { wrong.wrappingAdd(1, ordering: .relaxed) }
                        hook(1)
                        hookTail(1)
                        local &+= 4
                    }
                    _ = calls.wrappingAdd(400, ordering: .relaxed)
                    // Every 400 calls, let another thread of this CPU run. A page remap makes the threads
                    // that run the range meanwhile fault and wait for the mapping lock; the kernel hands it
                    // to them when the move ends, and one queued behind a thread that only computes would
                    // otherwise hold it until the next scheduler tick (4 ms at this kernel's HZ=250), with
                    // the updater's next mmap waiting behind it. Calls still run back to back between
                    // yields; the update latency with threads that never yield is the benchmarks' to measure.
                    sched_yield()
                }
                blackHole(local)
            }
            worker.start()
            workers.append(worker)
        }
        // Updates start only once every thread is calling (indirect-mode updates are fast enough to
        // finish before a thread is scheduled otherwise).
        while started.load(ordering: .relaxed) < count || calls.load(ordering: .relaxed) == 0 { sched_yield() }
    }

    func finish() {
        stop.store(true, ordering: .relaxed)
        for w in workers { w.join() }
    }
}

/// `rounds` rounds of updates, and more until `callers` have called meanwhile (indirect-mode updates can
/// all finish while the threads wait for a CPU), for at most 10 s. Returns the calls made meanwhile.
func updateRoundsWhileCalled(_ rounds: Int, callers: Callers) -> Int {
    let callsBefore = callers.calls.load(ordering: .relaxed)
    updateRounds(rounds)
    let started = monotonicSeconds()
    while callers.calls.load(ordering: .relaxed) == callsBefore && monotonicSeconds() - started < 10 { updateRounds(7) }
    return callers.calls.load(ordering: .relaxed) - callsBefore
}

/// `rounds` rounds of updates through every state: targets, constants (one only the trampoline can
/// return), NOP, and a batch.
func updateRounds(_ rounds: Int) {
    for n in 0..<rounds {
        switch n % 7 {
        case 0: ScaleKey.update { times5($0) }
        case 1: ScaleKey.update { times7($0) }
        case 2: ScaleKey.update(returning: 42)
        case 3: ScaleKey.update { times11($0) }
        case 4: ScaleKey.update(returning: -1)
        case 5: ScaleKey.update(returning: 1 << 40)
        default: StaticCalls.batch { ScaleKey.reset(); HookKey.update { hookA.wrappingAdd($0, ordering: .relaxed) } }
        }
        switch n % 3 {
        case 0: HookKey.disable()
        case 1: HookKey.update { hookB.wrappingAdd($0, ordering: .relaxed) }
        default: break
        }
    }
}

/// - Parameter callerSetup: runs first on each calling thread (given its index), e.g. to block signals.
func stress(callerSetup: @escaping @Sendable (Int) -> Void = { _ in }) {
    ScaleKey.reset()
    HookKey.reset()
    blackHole(sumOfScales(1))
    let callers = Callers(count: 2, setup: callerSetup)
    let callsDuring = updateRoundsWhileCalled(iterations, callers: callers)
    callers.finish()
    let report = StaticCalls.report()
    print("  \(iterations) update rounds, \(callsDuring) calls meanwhile, \(report.emulatedTraps) traps emulated, \(report.lateTraps) late")
    // Callers' init returns once every thread has called; these are the calls made during the updates.
    check(callsDuring > 0, "workers made calls during the updates")
    check(callers.wrong.load(ordering: .relaxed) == 0, "zero wrong results (\(callers.wrong.load(ordering: .relaxed)))")
    check(report["scale(_:)"]!.updates >= iterations, "every update counted (\(report["scale(_:)"]!.updates))")
    checkModeExpectations()
}

// MARK: - sigtrap: a user's handler installed after ours still gets raise(SIGTRAP)

nonisolated(unsafe) var userTraps = 0

func sigtrap() {
    check(scale(1) == 3, "runtime active before the user's handler")
    var action = sigaction()
    action.__sigaction_handler.sa_handler = { _ in userTraps += 1 }
    sigemptyset(&action.sa_mask)
    sigaction(SIGTRAP, &action, nil)
    raise(SIGTRAP)
    check(userTraps == 1, "the user's SIGTRAP handler received raise(SIGTRAP)")
    stress()
    raise(SIGTRAP)
    check(userTraps == 2, "the user's handler still receives raise(SIGTRAP) after patching under load")
}

// MARK: - fork: a child calls and patches on its own

func forkTest() {
    ScaleKey.update { times5($0) }
    check(scale(2) == 10, "parent patched before fork")
    let pid = fork()
    if pid == 0 {
        var ok = scale(2) == 10
        ScaleKey.update { times7($0) }
        ok = ok && scale(2) == 14 && sumOfScales(10) == 315
        let k = StaticCalls.report()["scale(_:)"]!
        if StaticCalls.mode == .inline { ok = ok && k.sitesPatched == k.sitesFound }
        _exit(ok ? 0 : 1)
    }
    var status: Int32 = 0
    waitpid(pid, &status, 0)
    check(status == 0, "forked child called and patched on its own (status \(status))")
    check(scale(2) == 10, "parent unaffected by the child's update")
    ScaleKey.update { times11($0) }
    check(scale(2) == 22, "parent still patches after fork")
}

// MARK: - main

switch command {
case "basic": basic()
case "stress": stress()
case "sigtrap": sigtrap()
case "fork": forkTest()
case "fault":
    runFault(arguments.count > 1 ? arguments[1] : "")
case "soak": soak()
case "plugin": pluginRounds()
case "plugin-churn": pluginChurn()
case "mdwe":
    // Memory-deny-write-execute: mprotect(RWX) is refused from here on (irrevocably).
    let err = cstaticcall_refuse_exec_gain()
    check(err == 0, "prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN) (errno \(err))")
    if arguments.contains("--deny-proc-mem") { denyProcSelfMem() }
    basic()
default:
    print("unknown command \(command)")
    exit(2)
}
finish()
