// A program written from the API contract only (README.md, "The API in thirty seconds", and the doc
// comments), compiled with -O: every line of the public API, through the macros, with the cross-module
// key above and two threads calling while the keys change.
#if canImport(Glibc)
import Glibc
#endif
import MacroLib
import MacroUser
import StaticCall
import Synchronization

nonisolated(unsafe) var passed = 0
nonisolated(unsafe) var failed = 0
func check(_ condition: Bool, _ what: String) {
    if condition { passed += 1; print("PASS: \(what)") } else { failed += 1; print("FAIL: \(what)") }
}

struct Packet: ~Copyable {
    var length: Int
}

// DEFINE_STATIC_CALL_NULL + static_call_cond(): only for non-throwing functions returning Void.
@StaticCall
func onPacket(_ p: borrowing Packet) {}

// DEFINE_STATIC_CALL_RET0, generalised.
@StaticCall
func maxBatch() -> Int { 64 }

// Two keys, one targeting the other (for the chained-keys check below).
@StaticCall
func innerStep(_ x: Int) -> Int { x &+ 1 }

@StaticCall
func outerStep(_ x: Int) -> Int { x }

@inline(never) func callInner(_ x: Int) -> Int { innerStep(x) &* 1 }
@inline(never) func callOuter(_ x: Int) -> Int { outerStep(x) &* 1 }
/// A pure forwarder whose only instruction is a tail site of innerStep (`jmp` to its trampoline).
@inline(never) func viaInner(_ x: Int) -> Int { innerStep(x) }

/// `first-call [--patch-all]`: the latency of a key's first call, with or without registering every key
/// up front (StaticCalls.patchAll() at start-up, from the records the macros leave in the image).
func microseconds(since start: timespec) -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec - start.tv_sec) * 1e6 + Double(now.tv_nsec - start.tv_nsec) / 1e3
}
if CommandLine.arguments.dropFirst().first == "first-call" {
    let upFront = CommandLine.arguments.contains("--patch-all")
    var start = timespec()
    if upFront {
        check(StaticCalls.report()["same07(_:)"] == nil, "before patchAll(), no key is registered")
        clock_gettime(CLOCK_MONOTONIC, &start)
        do { try StaticCalls.patchAll(); check(true, "patchAll() at start-up") } catch { check(false, "patchAll threw \(error)") }
        print("patchAll at start-up: \(microseconds(since: start)) us")
        let r = StaticCalls.report()
        var names = ["checksum(_:)", "onPacket(_:)", "maxBatch()", "tracingEnabled"]
        for i in 0..<20 { names.append(i < 10 ? "same0\(i)(_:)" : "same\(i)(_:)") }
        let missing = names.filter { r[$0] == nil }
        #if os(Linux) && arch(x86_64) && canImport(Glibc) && !STATICCALL_FORCE_PORTABLE
        check(missing.isEmpty, "patchAll() registered every key of the program before any was called or updated (missing: \(missing))")
        #else
        // The portable build reads no key records (they are ELF sections read by the engine's C side):
        // keys register at their first use there.
        check(missing.count == names.count, "the portable build registers keys at their first use (\(names.count - missing.count) registered up front)")
        #endif
        if r.mode == .inline {
            let unpatched = names.compactMap { r[$0] }.filter { $0.sitesFound < 1 || $0.sitesPatched != $0.sitesFound }
            check(unpatched.isEmpty, "and patched every site of them (\(unpatched.map { "\($0.name) \($0.sitesPatched)/\($0.sitesFound)" }))")
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &start)
    let v = callSame07(1)
    let first = microseconds(since: start)
    clock_gettime(CLOCK_MONOTONIC, &start)
    let w = callSame07(2)
    let second = microseconds(since: start)
    check(v == 16 && w == 18, "same07 calls its body (\(v), \(w))")
    print("first call: \(first) us, second call: \(second) us\(upFront ? " (after patchAll)" : "")")
    if upFront { check(StaticCalls.report()["same07(_:)"]?.slowPathCalls == 0 || StaticCalls.mode == .indirect, "the first call after patchAll() took no slow path") }
    print("\(passed) passed, \(failed) failed")
    exit(failed == 0 ? 0 : 1)
}

let seen = Atomic<Int>(0)

@inline(never) func countingHook(_ p: borrowing Packet) { seen.wrappingAdd(p.length, ordering: .relaxed) }
@inline(never) func avx2Checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 { wideChecksum(bytes) }

@inline(never) func checksumInMain(_ bytes: UnsafeRawBufferPointer) -> UInt32 { checksum(bytes) &+ 3 }
@inline(never) func process(_ length: Int) { onPacket(Packet(length: length)) }
@inline(never) func batchSize() -> Int { maxBatch() }
@inline(never) func traced() -> Bool { tracingEnabled }

let data: [UInt8] = Array(0..<64)
data.withUnsafeBytes { buffer in
    let scalar = scalarChecksum(buffer)
    let wide = wideChecksum(buffer)

    // static_call(): an ordinary Swift call, from three modules.
    let c = checksum(buffer)
    check(c == scalar && checksumInLibrary(buffer) == scalar &+ 1 && checksumInSecondLibrary(buffer) == scalar &+ 2
          && checksumInMain(buffer) == scalar &+ 3, "checksum(buffer) calls the body from every module")

    // static_call_update() with a non-capturing closure.
    $checksum.update { avx2Checksum($0) }
    check(checksum(buffer) == wide && checksumInLibrary(buffer) == wide &+ 1 && checksumInSecondLibrary(buffer) == wide &+ 2
          && checksumInMain(buffer) == wide &+ 3, "$checksum.update { avx2Checksum($0) } retargets every module's sites")
    let t = $checksum.target                                       // static_call_query()
    check(t(buffer) == wide, "$checksum.target is the current target")
    let key = StaticCalls.report()["checksum(_:)"]
    // Whether this code was optimized: the test build compiles this target with -O inside a debug
    // configuration, which still defines DEBUG, so Package.swift adds STATICCALL_OPTIMIZED.
    #if DEBUG && !STATICCALL_OPTIMIZED
    // -Onone inlines nothing: the only site is inside the forwarder (and the closure is not a bare jump).
    let expectedSites = 1
    #else
    // -O: the forwarder is inlined into each module's caller (cross-module optimization), so each
    // module has its own site; the closure `{ avx2Checksum($0) }` is a bare jump, followed to its target.
    #if os(Linux) && arch(x86_64) && canImport(Glibc) && !STATICCALL_FORCE_PORTABLE
    let expectedSites = 3
    #else
    let expectedSites = 0 // the portable build looks for no sites
    #endif
    // Under a sanitizer the closure is instrumented, no longer a bare jump: it is called itself.
    let instrumented = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__tsan_func_entry") != nil
    if StaticCalls.mode == .inline && !instrumented {
        check(key!.target.contains("avx2Checksum") || key!.target.contains("wideChecksum"), "report names the followed target (\(key!.target))")
    }
    #endif
    check(key != nil && key!.sitesFound >= expectedSites, "checksum(_:) sites found (\(key?.sitesFound ?? 0), expected at least \(expectedSites))")
    if StaticCalls.mode == .inline {
        check(key!.sitesPatched == key!.sitesFound, "every checksum site patched (\(key!.sitesPatched)/\(key!.sitesFound); \(key!.unpatched.map(\.reason)))")
    }
    $checksum.reset()
    check(checksum(buffer) == scalar && checksumInSecondLibrary(buffer) == scalar &+ 2, "$checksum.reset() restores the body")
}

// disable(): every call site becomes a NOP.
$onPacket.update { countingHook($0) }
process(5)
check(seen.load(ordering: .relaxed) == 5, "onPacket retargeted")
$onPacket.disable()
process(7)
check(seen.load(ordering: .relaxed) == 5 && !$onPacket.isEnabled, "$onPacket.disable(): the call does nothing, isEnabled is false")
$onPacket.update { countingHook($0) }
process(1)
check(seen.load(ordering: .relaxed) == 6 && $onPacket.isEnabled, "NOP -> call again")

// update(returning:): constants at the edges.
for value in [0, 1, -1, Int(Int32.max), Int(UInt32.max), 1 << 40, Int.min, Int.max, 128] {
    $maxBatch.update(returning: value)
    check(batchSize() == value && maxBatch() == value, "$maxBatch.update(returning: \(value))")
}
$maxBatch.reset()
check(batchSize() == 64, "$maxBatch.reset()")

// Static keys.
check(!traced(), "tracingEnabled starts false")
tracingEnabled = true
check(traced(), "tracingEnabled = true")
$tracingEnabled.disable()
check(!traced(), "$tracingEnabled.disable()")
$tracingEnabled.enable()
check(traced(), "$tracingEnabled.enable()")
$tracingEnabled.disable()
$tracingEnabled.increment()
$tracingEnabled.increment()
$tracingEnabled.decrement()
check(traced(), "counted: enabled while the count is above zero")
$tracingEnabled.decrement()
check(!traced(), "counted: disabled at zero")

// Many updates, one patch transaction.
StaticCalls.batch {
    $checksum.update { avx2Checksum($0) }
    $onPacket.disable()
}
data.withUnsafeBytes { check(checksum($0) == wideChecksum($0), "batch applied the checksum update") }
process(100)
check(seen.load(ordering: .relaxed) == 6, "batch applied the disable")

// Two threads call while the main thread cycles targets, NOP and constants.
final class Caller: @unchecked Sendable {
    var thread = pthread_t()
    let stop: UnsafePointer<Atomic<Bool>>
    var wrong = 0
    /// Calls made so far (read by the main thread while this one runs).
    let calls = Atomic<Int>(0)
    init(stop: UnsafePointer<Atomic<Bool>>) { self.stop = stop }
    func start() {
        pthread_create(&thread, nil, { ctx in
            let me = Unmanaged<Caller>.fromOpaque(ctx!).takeUnretainedValue()
            let bytes: [UInt8] = Array(0..<32)
            bytes.withUnsafeBytes { buffer in
                let valid: Set<UInt32> = [scalarChecksum(buffer), wideChecksum(buffer)]
                var calls = 0
                while !me.stop.pointee.load(ordering: .relaxed) {
                    if !valid.contains(checksumInMain(buffer) &- 3) { me.wrong += 1 }
                    let b = batchSize()
                    if b != 64 && b != 128 && b != -1 { me.wrong += 1 }
                    process(0)
                    _ = traced()
                    calls += 4
                    me.calls.store(calls, ordering: .relaxed)
                    // Every 256 rounds, let another thread of this CPU run: one that faulted while a
                    // page remap moved the text holds the mapping lock once it is woken, and would
                    // otherwise wait behind this loop until the next scheduler tick.
                    if calls & 0x3ff == 0 { sched_yield() }
                }
            }
            return nil
        }, Unmanaged.passUnretained(self).toOpaque())
    }
    func join() { pthread_join(thread, nil) }
}
let stop = UnsafeMutablePointer<Atomic<Bool>>.allocate(capacity: 1)
stop.initialize(to: Atomic(false))
let callers = [Caller(stop: stop), Caller(stop: stop)]
callers.forEach { $0.start() }
// The updates start once both threads are calling, and each must call on while they run.
while callers.contains(where: { $0.calls.load(ordering: .relaxed) == 0 }) { sched_yield() }
let callsBefore = callers.map { $0.calls.load(ordering: .relaxed) }
func callsSinceStart() -> [Int] { zip(callers, callsBefore).map { $0.calls.load(ordering: .relaxed) - $1 } }
// 10^4 rounds, and more until each thread has called meanwhile (indirect-mode updates can all finish
// while a thread waits for a CPU), for at most 10 s.
let updatesStarted = monotonicSeconds()
var n = 0
while n < 10_000 || (callsSinceStart().contains(0) && monotonicSeconds() - updatesStarted < 10) {
    defer { n += 1 }
    switch n % 4 {
    case 0: $checksum.update { avx2Checksum($0) }; $maxBatch.update(returning: 128); $onPacket.disable()
    case 1: $checksum.reset(); $maxBatch.update(returning: -1); $onPacket.update { countingHook($0) }
    case 2: StaticCalls.batch { $checksum.update { avx2Checksum($0) }; $maxBatch.reset(); tracingEnabled = true }
    default: $checksum.reset(); $maxBatch.reset(); tracingEnabled = false
    }
}
let callsDuring = callsSinceStart()
stop.pointee.store(true, ordering: .relaxed)
callers.forEach { $0.join() }
check(callsDuring.allSatisfy { $0 > 0 }, "both threads called while the updates ran (\(callsDuring) calls)")
check(callers.allSatisfy { $0.wrong == 0 }, "zero wrong results under 10^4 update rounds (\(callers.map(\.wrong)))")

// A static key's site becomes one jmp to the side its value takes, while two threads read it.
flipBranchFlagUnderReaders(rounds: 10_000)

// A key over a struct of more than four words, used from top-level code (ARCHITECTURE.md, LoadableByAddress compiler crash).
let large = Large(a: 1, b: 2, c: "c", d: [1], e: 5)
$growLarge.update { x, n in var y = x; y.d.append(n); return y }
check(growLarge(large, by: 3).d == [1, 3], "large-struct key updated and called from top-level code")
let currentGrow = $growLarge.target
check(currentGrow(large, 4).d == [1, 4], "large-struct key's target queried from top-level code")
$growLarge.reset()

// Every signature shape, and twenty same-signature keys in one file.
check(exerciseShapes().isEmpty, "every signature shape calls its body (\(exerciseShapes()))")
let retargeted = retargetShapes()
check(retargeted.isEmpty, "every signature shape retargets (\(retargeted))")
check(retargetEachSame().isEmpty, "twenty same-signature keys retarget independently (\(retargetEachSame()))")
do {
    let r = StaticCalls.report()
    let sames = (0..<20).compactMap { r["same" + ($0 < 10 ? "0" : "") + String($0) + "(_:)"] }
    check(sames.count == 20, "all twenty keys registered")
    if r.mode == .inline {
        let bad = sames.filter { $0.sitesFound < 1 || $0.sitesPatched != $0.sitesFound || $0.problem != nil }
        check(bad.isEmpty, "each of the twenty keys has its own sites, all patched (\(bad.map { "\($0.name): \($0.sitesPatched)/\($0.sitesFound) \($0.problem ?? "")" }))")
    }
}

// A key whose target is another key must follow that key's later updates: its sites may be patched
// past pure forwarders, never past the other key's sites (whose bytes change).
check(callInner(1) == 2, "innerStep's default body")
$outerStep.update { viaInner($0) }
check(callOuter(1) == 2, "outerStep retargeted to a forwarder to innerStep")
$innerStep.update { $0 &+ 100 }
check(callInner(1) == 101 && callOuter(1) == 101, "outerStep follows innerStep's update (\(callInner(1)), \(callOuter(1)))")
$innerStep.update(returning: 7)
check(callInner(1) == 7 && callOuter(1) == 7, "outerStep follows innerStep to a constant (\(callInner(1)), \(callOuter(1)))")
$innerStep.reset()
check(callOuter(1) == 2, "outerStep follows innerStep's reset (\(callOuter(1)))")
// `{ innerStep($0) }` compiles to a jump to innerStep's trampoline, one of its own sites: as its target
// every call would recurse. Refused (with a warning), the key keeps its state. Found by following the
// thunk's machine code, so only where the engine is built (the portable build does not read code).
#if os(Linux) && arch(x86_64) && canImport(Glibc) && !STATICCALL_FORCE_PORTABLE
$innerStep.update { innerStep($0) }
check(callInner(1) == 2 && $innerStep.state == .defaultBody, "a key updated to a thunk of itself is refused (\(callInner(1)), \($innerStep.state))")
#endif

// What happened, for people and for tests.
let report = StaticCalls.report()
for name in ["checksum(_:)", "onPacket(_:)", "maxBatch()", "tracingEnabled"] {
    guard let k = report[name] else { check(false, "report has \(name)"); continue }
    #if os(Linux) && arch(x86_64) && canImport(Glibc) && !STATICCALL_FORCE_PORTABLE
    let sitesExpected = true
    #else
    let sitesExpected = false // the portable build looks for no sites
    #endif
    check((k.sitesFound > 0) == sitesExpected && k.updates > 0, "report: \(name) found \(k.sitesFound), patched \(k.sitesPatched), \(k.updates) updates, mode \(k.mode)")
    if report.mode == .inline { check(k.sitesPatched == k.sitesFound, "report: every \(name) site holds its state inline (\(k.unpatched.map(\.reason)))") }
}
// Every key of every shape (the existential `area(_:)` included: -O's existential specializer once gave
// its call sites a copy of the trampoline with another signature) has sites, all holding its state inline.
if report.mode == .inline {
    let short = report.keys.filter { $0.problem != nil || $0.sitesFound == 0 || $0.sitesPatched != $0.sitesFound }
    check(short.isEmpty, "report: all \(report.keys.count) keys have sites, all inline (\(short.map { "\($0.name): \($0.sitesPatched)/\($0.sitesFound) \($0.problem ?? "")" }))")
}
check(StaticCalls.mode == report.mode, "StaticCalls.mode (\(StaticCalls.mode))")
do { try StaticCalls.patchAll(); check(true, "StaticCalls.patchAll()") } catch { check(false, "patchAll threw \(error)") }
print(report)
print("\(passed) passed, \(failed) failed")
exit(failed == 0 ? 0 : 1)

func monotonicSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}
