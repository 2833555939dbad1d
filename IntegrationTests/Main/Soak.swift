// The soak: every core calls through every kind of site while the main thread runs a long mix of
// updates (targets, NOP, constants, tail states, batches), with one calling thread that blocks every
// signal and one thread that raises foreign SIGTRAPs for a user's handler. Run for real numbers by
// IntegrationTests/soak.sh (outside CI); CI runs a short one.
//
// With --plugin, another thread loads and closes the test plugin and the C library of targets in a loop,
// calling and updating the plugin's keys and pointing a host key at the library's function and back.
//
//   staticcall-integration soak [--iterations UPDATES] [--threads N] [--int3] [--plugin [--plugin-path SO --targets-path SO]]
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
    let plugins = arguments.contains("--plugin") ? PluginLoader() : nil
    plugins?.start()
    let begin = monotonicSeconds()
    let callsDuring = updateRoundsWhileCalled(iterations, callers: callers)
    let seconds = monotonicSeconds() - begin
    plugins?.finish()
    callers.finish()
    trapping.store(false, ordering: .relaxed)
    trapper.join()
    let report = StaticCalls.report()
    let total = callers.calls.load(ordering: .relaxed)
    print("  soak: \(iterations) update rounds in \(Int(seconds * 1000)) ms (\(Int(seconds / Double(max(iterations, 1)) * 1e6)) µs each), \(threads) calling threads, \(total) calls, \(callers.wrong.load(ordering: .relaxed)) wrong, \(foreignTraps.load(ordering: .relaxed)) foreign traps (handler counted \(cfaults_counted_traps())), \(report.emulatedTraps) INT3 traps emulated, \(report.lateTraps) late; writer \(report.writer ?? "none")")
    // Callers' init returns once every thread has called; these are the calls made during the updates.
    check(callsDuring > 0, "threads called while the updates ran (\(callsDuring) calls)")
    check(callers.wrong.load(ordering: .relaxed) == 0, "zero wrong results")
    check(cfaults_counted_traps() == foreignTraps.load(ordering: .relaxed), "the user's handler saw every foreign trap and nothing else")
    check(report["scale(_:)"]!.updates >= iterations, "every update counted")
    if let plugins {
        print("  soak: \(plugins.rounds.load(ordering: .relaxed)) plugin and library load/close rounds, \(plugins.wrong.load(ordering: .relaxed)) wrong, \(plugins.refused.load(ordering: .relaxed)) updates refused visibly")
        check(int3 || plugins.refused.load(ordering: .relaxed) == 0, "page remapping refused no update")
        check(plugins.rounds.load(ordering: .relaxed) > 0 && plugins.wrong.load(ordering: .relaxed) == 0,
              "plugins loaded and closed throughout, every call right")
    }
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

/// Loads and closes the plugin and the C library in a loop until stopped: the plugin's keys are updated
/// and called, and OffsetKey is pointed at the library's function (through a far-jump stub) and back
/// before each close.
final class PluginLoader: @unchecked Sendable {
    let stop = Atomic<Bool>(false)
    let rounds = Atomic<Int>(0)
    let wrong = Atomic<Int>(0)
    /// Updates the INT3 fallback refused (visibly: the report lists the sites, with the reason) because
    /// another thread blocked SIGTRAP at that moment (a thread inside a SIGTRAP handler does).
    let refused = Atomic<Int>(0)
    private var worker: Worker?

    /// A result other than `expected` is wrong unless the report shows sites that did not take the update.
    private func expect(_ value: Int, _ expected: Int) {
        guard value != expected else { return }
        if StaticCalls.report()["offset(_:)"]?.unpatched.contains(where: { mentions($0.reason, "update not applied") }) == true {
            refused.wrappingAdd(1, ordering: .relaxed)
        } else {
            wrong.wrappingAdd(1, ordering: .relaxed)
        }
    }

    func start() {
        let plugin = pluginPath(), library = cTargetsPath()
        let w = Worker { [self] in
            var round = 0
            while !stop.load(ordering: .relaxed) {
                guard let p = dlopen(plugin, RTLD_NOW | RTLD_LOCAL), let l = dlopen(library, RTLD_NOW | RTLD_LOCAL),
                      let f = dlsym(l, "staticcall_ctarget_times23") else {
                    print("  soak: dlopen failed: \(dlerror().map { String(cString: $0) } ?? "?")")
                    wrong.wrappingAdd(1, ordering: .relaxed)
                    break
                }
                let touch = unsafeBitCast(dlsym(p, "staticcall_plugin_touch"), to: PluginTouch.self)
                if touch(round) != 0 { wrong.wrappingAdd(1, ordering: .relaxed) }
                StaticCallRuntime.update(_offset_storage, to: UInt(bitPattern: f))
                expect(offset(2), 46)
                OffsetKey.reset()
                expect(offset(2), 102)
                dlclose(l)
                dlclose(p)
                round += 1
                rounds.store(round, ordering: .relaxed)
            }
        }
        OffsetKey.ensure()
        worker = w
        w.start()
    }

    func finish() {
        stop.store(true, ordering: .relaxed)
        worker?.join()
    }
}
