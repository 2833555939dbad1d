// StaticLogger in optimized code: each statement is a site of its own in this module, held as a jump past
// the statement while its level is off; two threads log while the main thread moves the level ceiling.
// Prints PASS/FAIL lines and "N passed, M failed" (the tests run it in inline and indirect mode).
#if canImport(Glibc)
import Glibc
#endif
import Logging
import StaticCall
import StaticCallLogging
import Synchronization

nonisolated(unsafe) var passed = 0
nonisolated(unsafe) var failed = 0
func check(_ condition: Bool, _ what: String) {
    if condition { passed += 1; print("PASS: \(what)") } else { failed += 1; print("FAIL: \(what)") }
}

/// Where a handler counts what reaches it: trace events and all events.
final class Counts: Sendable {
    let traces = Atomic<Int>(0)
    let all = Atomic<Int>(0)
}

struct CountingHandler: LogHandler {
    let counts: Counts
    var logLevel: Logger.Level = .trace
    var metadata: Logger.Metadata = [:]
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) {
        if event.level == .trace { counts.traces.add(1, ordering: .relaxed) }
        counts.all.add(1, ordering: .relaxed)
    }
}

func makeLogger(_ counts: Counts) -> StaticLogger { StaticLogger(label: "packets") { _ in CountingHandler(counts: counts) } }
let work = Atomic<Int>(0)
@inline(never) func process(_ n: Int) -> Int { work.add(n, ordering: .relaxed).newValue }

/// Three statements in three functions, each followed by work, as in a packet handler.
@inline(never) func onPacket(_ n: Int, _ logger: StaticLogger) -> Int {
    logger.trace("packet", metadata: ["n": "\(n)"])
    return process(n)
}
@inline(never) func onConnection(_ n: Int, _ logger: StaticLogger) -> Int {
    logger.trace("connection \(n)")
    return process(n &+ 1)
}
@inline(never) func onStart(_ n: Int, _ logger: StaticLogger) -> Int {
    logger.info("start \(n)")
    return process(n &+ 3)
}
@inline(never) func onQuery(_ n: Int, _ logger: StaticLogger) -> Int {
    logger.debug("query \(n)")
    return process(n &+ 2)
}

/// Whether a call site of `key` (one followed by `test $1,%al` or `test %al,%al`) holds a `jmp`, and how many do.
func branchSites(of key: String) -> Int {
    (StaticCalls.report()[key]?.patchedSites ?? []).filter { address in
        let b = UnsafePointer<UInt8>(bitPattern: address)!
        return b[0] == 0xe9 && ((b[5] == 0xa8 && b[6] == 0x01) || (b[5] == 0x84 && b[6] == 0xc0))
    }.count
}

#if os(Linux) && arch(x86_64) && canImport(Glibc) && !STATICCALL_FORCE_PORTABLE
let engine = true
#else
let engine = false
#endif

// Off by default (the ceiling starts at .info): nothing reaches the handler.
let mainCounts = Counts()
let logger = makeLogger(mainCounts)

// Built with swift-log's MaxLogLevelInfo trait through this package (`swift build --traits
// MaxLogLevelInfo`, as CI does): the trace and debug statements are compiled out of StaticLogger and of
// Logger alike, so that even with the ceiling at .trace none reaches the handler, info statements still
// do, and no statement of this module reads the trace key.
#if MaxLogLevelInfo
StaticLogLevels.minimumLevel = .trace
for n in 0..<100 { _ = onPacket(n, logger) &+ onConnection(n, logger) &+ onQuery(n, logger) &+ onStart(n, logger) }
check(mainCounts.traces.load(ordering: .relaxed) == 0 && mainCounts.all.load(ordering: .relaxed) == 100,
      "with MaxLogLevelInfo, trace and debug statements are compiled out and info statements stay (\(mainCounts.traces.load(ordering: .relaxed)) trace, \(mainCounts.all.load(ordering: .relaxed)) in all at .trace)")
// No statement of this program reads the trace key: it has only the sites StaticCallLogging's own code
// has, as many as the notice key, which no statement here uses (with the statements: 2 more).
let report = StaticCalls.report()
let traceSites = report["StaticLogLevels.trace"]?.sitesFound ?? -1, noticeSites = report["StaticLogLevels.notice"]?.sitesFound ?? -2
check(traceSites == noticeSites, "with MaxLogLevelInfo, no trace statement of this program reads the trace key (\(traceSites) sites, the notice key's \(noticeSites))")
print("\(passed) passed, \(failed) failed")
exit(failed == 0 ? 0 : 1)
#endif
for n in 0..<100 { _ = onPacket(n, logger) &+ onConnection(n, logger) &+ onQuery(n, logger) }
check(mainCounts.all.load(ordering: .relaxed) == 0, "trace and debug statements below the ceiling reach no handler")
let trace = StaticCalls.report()["StaticLogLevels.trace"]
// Each statement's own site in onPacket and onConnection is checked on the binary by the tests
// (LoggingProgramTests, with objdump); here, that the runtime found and patched them.
check((trace?.sitesFound ?? 0) >= (engine ? 2 : 0), "the trace key has sites (\(trace?.sitesFound ?? 0) found)")
if StaticCalls.mode == .inline {
    check(trace!.sitesPatched == trace!.sitesFound, "every trace site patched (\(trace!.unpatched.map(\.reason)))")
    check(branchSites(of: "StaticLogLevels.trace") >= 2, "the trace statements are jumps past themselves (\(branchSites(of: "StaticLogLevels.trace")) sites)")
}

// On: every statement reaches the handler, exactly once.
StaticLogLevels.minimumLevel = .trace
for n in 0..<100 { _ = onPacket(n, logger) &+ onConnection(n, logger) &+ onQuery(n, logger) }
check(mainCounts.traces.load(ordering: .relaxed) == 200 && mainCounts.all.load(ordering: .relaxed) == 300,
      "at .trace every statement reaches the handler once (\(mainCounts.traces.load(ordering: .relaxed)) trace, \(mainCounts.all.load(ordering: .relaxed)) in all)")
if StaticCalls.mode == .inline {
    check(branchSites(of: "StaticLogLevels.trace") >= 2, "the trace statements are jumps into themselves")
}

// Two threads log while the ceiling moves between .trace and .info: a statement logged while no move
// ran reaches the handler exactly when trace was on.
let movesStarted = Atomic<Int>(0)
let movesFinished = Atomic<Int>(0)
let stop = Atomic<Bool>(false)
final class Logging: @unchecked Sendable {
    var thread = pthread_t()
    var wrong = 0
    let checked = Atomic<Int>(0)
    func start() {
        pthread_create(&thread, nil, { ctx in
            let me = Unmanaged<Logging>.fromOpaque(ctx!).takeUnretainedValue()
            // Its own handler's count: another thread's statement still inside its handler when a move
            // finished cannot show up here.
            let counts = Counts()
            let logger = makeLogger(counts)
            var n = 0
            while !stop.load(ordering: .relaxed) {
                let finished = movesFinished.load(ordering: .acquiring)
                let before = counts.traces.load(ordering: .relaxed)
                _ = onPacket(n, logger)
                let after = counts.traces.load(ordering: .relaxed)
                if movesStarted.load(ordering: .acquiring) == finished {
                    me.checked.add(1, ordering: .relaxed)
                    let on = finished % 2 == 0 // moves alternate .info (odd count) and .trace (even)
                    if on ? after == before : after != before { me.wrong += 1 }
                }
                n += 1
                if n & 0x3ff == 0 { sched_yield() }
            }
            return nil
        }, Unmanaged.passUnretained(self).toOpaque())
    }
    func join() { pthread_join(thread, nil) }
}
let threads = [Logging(), Logging()]
threads.forEach { $0.start() }
var moves = 0
while moves < 2000 {
    movesStarted.store(moves + 1, ordering: .releasing)
    StaticLogLevels.minimumLevel = moves % 2 == 0 ? .info : .trace
    movesFinished.store(moves + 1, ordering: .releasing)
    moves += 1
    if moves % 50 == 0 {
        let before = threads.map { $0.checked.load(ordering: .relaxed) }
        while zip(threads, before).contains(where: { $0.checked.load(ordering: .relaxed) == $1 }) { sched_yield() }
    }
}
stop.store(true, ordering: .relaxed)
threads.forEach { $0.join() }
check(threads.allSatisfy { $0.wrong == 0 && $0.checked.load(ordering: .relaxed) >= moves / 50 },
      "zero wrong statements while the ceiling moved \(moves) times (\(threads.map(\.wrong)) wrong of \(threads.map { $0.checked.load(ordering: .relaxed) }) settled)")

print(StaticCalls.report())
print("\(passed) passed, \(failed) failed")
exit(failed == 0 ? 0 : 1)
