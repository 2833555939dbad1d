// The soak: every core calls through every kind of site while the main thread runs a long mix of
// updates (targets, NOP, constants, tail states, batches), with one calling thread that blocks every
// signal and one thread that raises foreign SIGTRAPs for a user's handler. Run for real numbers by
// IntegrationTests/soak.sh (outside CI); CI runs a short one.
//
//   staticcall-integration soak [--iterations UPDATES] [--threads N] [--int3]
#if canImport(Glibc)
import Glibc
#endif
import CFaults
import StaticCall
import Synchronization

func soak() {
    let threads = max(1, option("--threads").flatMap { Int($0) } ?? Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    let int3 = arguments.contains("--int3")
    check(cfaults_install_counting_trap_handler() == 0, "a user's counting SIGTRAP handler installed")
    if int3 { denyRemap() } // the INT3 protocol (which refuses to run while a thread blocks SIGTRAP)
    ScaleKey.reset()
    HookKey.reset()
    blackHole(sumOfScales(1))
    let foreignTraps = Atomic<Int>(0)
    let trapping = Atomic<Bool>(true)
    // With page remapping, one caller blocks every signal (the sigwait pattern). The INT3 protocol
    // would refuse every update while it did.
    let callers = Callers(count: threads) { w in if w == 0 && !int3 { blockAllSignals() } }
    // A foreign SIGTRAP source: raise() on its own thread, for the user's handler, throughout.
    let trapper = Worker {
        while trapping.load(ordering: .relaxed) {
            raise(SIGTRAP)
            foreignTraps.wrappingAdd(1, ordering: .relaxed)
            usleep(100)
        }
    }
    trapper.start()
    let begin = monotonicSeconds()
    updateRounds(iterations)
    let seconds = monotonicSeconds() - begin
    callers.finish()
    trapping.store(false, ordering: .relaxed)
    trapper.join()
    let report = StaticCalls.report()
    let total = callers.calls.load(ordering: .relaxed)
    print("  soak: \(iterations) update rounds in \(Int(seconds * 1000)) ms (\(Int(seconds / Double(max(iterations, 1)) * 1e6)) µs each), \(threads) calling threads, \(total) calls, \(callers.wrong.load(ordering: .relaxed)) wrong, \(foreignTraps.load(ordering: .relaxed)) foreign traps (handler counted \(cfaults_counted_traps())), \(report.emulatedTraps) INT3 traps emulated, \(report.lateTraps) late; writer \(report.writer ?? "none")")
    check(total > 0, "threads called during the soak")
    check(callers.wrong.load(ordering: .relaxed) == 0, "zero wrong results")
    check(cfaults_counted_traps() == foreignTraps.load(ordering: .relaxed), "the user's handler saw every foreign trap and nothing else")
    check(report["scale(_:)"]!.updates >= iterations, "every update counted")
    // The last state may be one that some sites cannot hold inline (-1 at a tail site): end on one
    // every site can.
    ScaleKey.update { times5($0) }
    HookKey.disable()
    check(allSitesCurrent("scale(_:)") && allSitesCurrent("hook(_:)"), "after a last update every site holds its key's current state")
}

func monotonicSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}
