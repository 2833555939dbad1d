// The fault matrix (issue: safety): ordinary process events that must never turn a patch into a crash
// or a wrong call. Each row runs in its own process (this program, started by the test suite), because
// each changes process-wide state: seccomp filters, signal dispositions and masks, raw forks.
//
//   staticcall-integration fault NAME
#if canImport(Glibc)
import Glibc
#endif
import CFaults
import MachineCode
import StaticCall
import Synchronization

/// Wrong results seen inside signal handlers (which cannot call `check`).
let handlerWrong = Atomic<Int>(0)
let handlerCalls = Atomic<Int>(0)

func blockAllSignals() {
    var all = sigset_t()
    sigfillset(&all)
    pthread_sigmask(SIG_BLOCK, &all, nil)
}

/// Refuses a system call from now on with a real seccomp filter (irrevocable in this process).
func deny(_ name: String, _ number: Int, errno error: Int32 = EPERM, onlyWithFlag flag: (argument: Int32, mask: UInt64)? = nil) {
    let err = cfaults_deny_syscall(number, error, flag?.argument ?? -1, flag?.mask ?? 0)
    check(err == 0, "seccomp filter refusing \(name) installed (errno \(err))")
}

func denyProcSelfMem() { deny("pwrite64", cfaults_nr_pwrite64()) }
func denyExecutableMprotect() { deny("mprotect(PROT_EXEC)", cfaults_nr_mprotect(), errno: EACCES, onlyWithFlag: (2, UInt64(PROT_EXEC))) }
func denyMembarrier() { deny("membarrier", cfaults_nr_membarrier(), errno: ENOSYS) }
func denyRemap() { deny("mremap", cfaults_nr_mremap()) }

/// Sends SIGUSR1 to this process as fast as it can until stopped: some thread (a caller, or the
/// updating thread) is always about to run a handler.
final class SignalStorm: @unchecked Sendable {
    let stop = Atomic<Bool>(false)
    let sent = Atomic<Int>(0)
    var worker: Worker?

    func start() {
        let w = Worker { [self] in
            blockAllSignals()
            while !stop.load(ordering: .relaxed) {
                kill(getpid(), SIGUSR1)
                sent.wrappingAdd(1, ordering: .relaxed)
                usleep(20)
            }
        }
        w.start()
        worker = w
    }

    func finish() {
        stop.store(true, ordering: .relaxed)
        worker?.join()
    }
}

/// The report's view of one key, printed, and whether every site found holds the current state.
func allSitesCurrent(_ name: String) -> Bool {
    guard let k = key(name) else { return false }
    for u in k.unpatched { print("  \(name) unpatched 0x\(String(u.address, radix: 16)): \(u.reason)") }
    return k.sitesPatched == k.sitesFound
}

/// Checks that no site of `name` holds an INT3 (the first byte of every site found).
func checkNoSiteHoldsAnINT3(_ name: String) {
    guard let k = key(name) else { return check(false, "\(name) is registered") }
    let sites = k.patchedSites + k.unpatched.map(\.address)
    let trapped = sites.filter { UnsafeRawPointer(bitPattern: $0)!.load(as: UInt8.self) == 0xcc }
    check(trapped.isEmpty, "no site of \(name) holds an INT3 (\(trapped.count) of \(sites.count) do)")
}

/// Runs the update stress where updates may fail: results stay whole targets' results, and the process
/// lives; every site keeps a whole instruction.
func stressEndsVisible() {
    stress()
    checkNoSiteHoldsAnINT3("scale(_:)")
    checkNoSiteHoldsAnINT3("hook(_:)")
}

/// Runs the update stress (two calling threads) and checks that every site ended current.
func stressEndsCurrent(callerSetup: @escaping @Sendable (Int) -> Void = { _ in }) {
    stress(callerSetup: callerSetup)
    if StaticCalls.mode == .inline {
        check(allSitesCurrent("scale(_:)") && allSitesCurrent("hook(_:)"), "after the stress every site holds its key's current state")
    }
    ScaleKey.update { times5($0) }
    check(sumOfScales(10) == 225 && scaleTail(4) == 20 && scale(2) == 10, "a final update reaches every kind of site")
}

func runFault(_ name: String) {
    switch name {
    // A thread that blocks every signal (the sigwait pattern) calls sites through every update.
    case "blocked-sigtrap":
        stressEndsCurrent(callerSetup: { w in if w == 0 { blockAllSignals() } })

    // A signal handler whose sa_mask blocks everything (SIGTRAP included) makes static calls, on the
    // calling threads and on the updating thread, while updates run.
    case "masking-handler":
        // Keys are called once before a handler may call them (a first call registers: not
        // async-signal-safe; see the README).
        blackHole(sumOfScales(1) &+ scaleTail(1))
        hook(1)
        let err = cfaults_install_masking_handler(SIGUSR1) {
            for x in 1...4 {
                if !isValidScale(scale(x), x) || !isValidScale(scaleTail(x), x) { handlerWrong.wrappingAdd(1, ordering: .relaxed) }
            }
            hook(1)
            handlerCalls.wrappingAdd(1, ordering: .relaxed)
        }
        check(err == 0, "handler with a full sa_mask installed")
        let storm = SignalStorm()
        storm.start()
        stressEndsCurrent()
        storm.finish()
        print("  \(storm.sent.load(ordering: .relaxed)) signals sent, \(handlerCalls.load(ordering: .relaxed)) handlers ran")
        check(handlerCalls.load(ordering: .relaxed) > 0, "the handler ran during the updates")
        check(handlerWrong.load(ordering: .relaxed) == 0, "zero wrong results inside handlers")

    // seccomp refuses membarrier from the start: updates still reach every site.
    case "membarrier-refused-at-start":
        denyMembarrier()
        basic()
        stressEndsCurrent()

    // seccomp refuses membarrier after the first patch (a sandbox entered after start-up).
    case "membarrier-refused-later":
        ScaleKey.update { times7($0) }
        check(sumOfScales(10) == 315, "patched before the filter")
        denyMembarrier()
        ScaleKey.update { times11($0) }
        check(sumOfScales(10) == 495 && scaleTail(4) == 44 && scale(2) == 22, "the update after the filter reaches every site")
        stressEndsCurrent()

    // /proc/self/mem refused (pwrite64 EPERM): another way to write, still inline.
    case "proc-mem-refused":
        denyProcSelfMem()
        basic()
        stressEndsCurrent()

    // mprotect(PROT_EXEC) refused from the start (a W^X sandbox).
    case "mprotect-exec-refused":
        denyExecutableMprotect()
        basic()
        stressEndsCurrent()

    // Page remapping refused: the INT3 protocol carries the updates.
    case "remap-refused":
        denyRemap()
        basic()
        stressEndsCurrent()

    // Another patcher writes a site's bytes (a live-patching tool putting back an older instruction):
    // the runtime must not count that site as its own any more, whatever state its key asks for next.
    case "foreign-write-at-site":
        basic()
        ScaleKey.update { times7($0) }
        check(sumOfScales(10) == 315, "times7 everywhere")
        guard let before = key("scale(_:)"), let site = before.patchedSites.first else {
            check(false, "scale(_:) has a patched site")
            break
        }
        let saved = Array(UnsafeRawBufferPointer(start: UnsafeRawPointer(bitPattern: site), count: 5))
        ScaleKey.update { times5($0) }
        // The foreign write: times7's call is put back at the site, through /proc/self/mem.
        let fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC)
        let written = saved.withUnsafeBytes { pwrite(fd, $0.baseAddress, 5, off_t(Int64(bitPattern: UInt64(site)))) }
        close(fd)
        check(written == 5, "the foreign write happened (\(written), errno \(errno))")
        var threw = false
        do { try StaticCalls.patchAll() } catch { threw = true; print("  patchAll: \(error)") }
        check(threw, "patchAll() throws: a site does not hold its key's state")
        let after = key("scale(_:)")
        let reason = after?.unpatched.first { $0.address == site }?.reason ?? "none"
        check(!(after?.patchedSites.contains(site) ?? true) && reason.contains("bytes changed under us"),
              "the report does not count the site and says why (\(reason))")
        check(after.map { $0.sitesPatched == $0.sitesFound - 1 } ?? false, "every other site is still patched")

    // Every way of writing text refused from the start: indirect mode, every result right.
    case "writes-refused-at-start":
        denyProcSelfMem()
        denyExecutableMprotect()
        denyRemap()
        basic()

    // Every way of writing text refused after sites were patched: the failure is visible (report,
    // patchAll, log) and the process lives; sites keep whole instructions.
    case "writes-refused-later":
        ScaleKey.update { times7($0) }
        check(sumOfScales(10) == 315 && StaticCalls.report()["scale(_:)"]!.sitesPatched > 0, "patched before the filter")
        denyProcSelfMem()
        denyExecutableMprotect()
        denyRemap()
        ScaleKey.update { times11($0) }
        let k = key("scale(_:)")!
        for u in k.unpatched { print("  unpatched 0x\(String(u.address, radix: 16)): \(u.reason)") }
        check(k.sitesPatched < k.sitesFound, "the report does not count sites that still hold the old target (\(k.sitesPatched)/\(k.sitesFound))")
        check(!k.unpatched.isEmpty && k.unpatched.allSatisfy { $0.reason.contains("failed") || $0.reason.contains("refused") }, "each such site has a reason")
        var threw = false
        do { try StaticCalls.patchAll() } catch { threw = true; print("  patchAll: \(error)") }
        check(threw, "patchAll() throws")
        check(scale(2) == 22 || scale(2) == 14, "calls still return a whole target's result")
        checkNoSiteHoldsAnINT3("scale(_:)")

    // The INT3 fallback with a thread that blocks SIGTRAP: every update is refused while it does (the
    // sites keep whole instructions, the report says why), and goes through once it stops.
    case "int3-blocked-thread":
        denyRemap()
        ScaleKey.update { times5($0) }
        check(scale(2) == 10 && key("scale(_:)")!.sitesPatched > 0, "patched by the INT3 protocol")
        let blocked = Atomic<Int>(0)
        let release = Atomic<Bool>(false)
        let wrong = Atomic<Int>(0)
        let caller = Worker {
            var set = sigset_t()
            sigemptyset(&set)
            sigaddset(&set, SIGTRAP)
            pthread_sigmask(SIG_BLOCK, &set, nil)
            blocked.store(1, ordering: .relaxed)
            var x = 0
            while !release.load(ordering: .relaxed) {
                x = (x &+ 1) & 0xffff
                if !isValidScale(scale(x), x) || !isValidScale(scaleTail(x), x) { wrong.wrappingAdd(1, ordering: .relaxed) }
            }
            pthread_sigmask(SIG_UNBLOCK, &set, nil)
            blocked.store(2, ordering: .relaxed)
        }
        caller.start()
        while blocked.load(ordering: .relaxed) != 1 { sched_yield() }
        for n in 0..<200 { if n % 2 == 0 { ScaleKey.update { times7($0) } } else { ScaleKey.update(returning: 42) } }
        let k = key("scale(_:)")!
        check(k.sitesPatched < k.sitesFound && k.unpatched.allSatisfy { $0.reason.contains("block") && $0.reason.contains("SIGTRAP") },
              "while the thread blocks SIGTRAP, updates are refused and the report says why")
        checkNoSiteHoldsAnINT3("scale(_:)")
        release.store(true, ordering: .relaxed)
        caller.join()
        check(wrong.load(ordering: .relaxed) == 0, "the blocking thread saw only whole targets' results")
        ScaleKey.update { times11($0) }
        check(allSitesCurrent("scale(_:)") && scale(2) == 22, "once no thread blocks SIGTRAP, updates reach every site")

    // The INT3 fallback under a tracer (the test runs this under gdb): updates are refused while it is
    // attached, so no thread ever stops at an INT3; sites never patched stay on the trampoline.
    case "int3-under-tracer":
        denyRemap()
        stress()
        let k = key("scale(_:)")!
        for u in k.unpatched.prefix(2) { print("  unpatched 0x\(String(u.address, radix: 16)): \(u.reason)") }
        if tracerPid() != 0 {
            // While other threads ran, every update was refused: each site holds the current state or
            // is reported, naming the tracer.
            check(k.sitesPatched + k.unpatched.count == k.sitesFound && k.unpatched.allSatisfy { $0.reason.contains("tracer") },
                  "under a tracer, sites not written are reported with the tracer as the reason (\(k.unpatched.count) of \(k.sitesFound))")
        } else {
            check(k.sitesPatched == k.sitesFound, "without a tracer the INT3 protocol patched every site")
        }
        // No other thread is left: the patching thread alone cannot stop at its own INT3s.
        ScaleKey.update { times5($0) }
        check(scale(2) == 10 && sumOfScales(10) == 225 && scaleTail(4) == 20 && allSitesCurrent("scale(_:)"),
              "with no other thread, the update reaches every site even under a tracer")

    // The INT3 protocol loses membarrier after its first patch: a transaction's sync fails right after
    // its INT3s are written. Each site gets its previous first byte back; nothing is left trapped.
    case "int3-membarrier-refused-later":
        denyRemap()
        ScaleKey.update { times7($0) }
        check(sumOfScales(10) == 315 && key("scale(_:)")!.sitesPatched > 0, "patched by the INT3 protocol before the filter")
        denyMembarrier()
        ScaleKey.update { times11($0) }
        let k = key("scale(_:)")!
        check(k.sitesPatched < k.sitesFound && k.unpatched.allSatisfy { $0.reason.contains("membarrier") },
              "the report counts no site as current and names membarrier (\(k.sitesPatched)/\(k.sitesFound))")
        checkNoSiteHoldsAnINT3("scale(_:)")
        check(sumOfScales(10) == 315 || sumOfScales(10) == 495, "calls still return a whole target's result")
        stressEndsVisible()

    // The INT3 protocol fails in its second phase (every 4-byte text write refused, and no other writer):
    // the sites of enabled() keep their INT3s (countEnabled's call site, and the tail jump of enabled()'s own
    // body, which a build with testable imports keeps), and the handler emulates the key's current state.
    case "int3-fails-mid-patch":
        denyRemap()
        EnabledKey.update(returning: true)
        check(countEnabled(10) == 10 && key("enabled()").map { $0.sitesFound >= 1 && $0.sitesPatched == $0.sitesFound } == true,
              "every site of enabled() patched before the filter")
        let err = cfaults_deny_syscall_when_equal(cfaults_nr_pwrite64(), EPERM, 2, 4)
        check(err == 0, "seccomp filter refusing 4-byte pwrite64 installed (errno \(err))")
        denyExecutableMprotect()
        let before = StaticCalls.report().emulatedTraps
        EnabledKey.update(returning: false)
        var k = key("enabled()")!
        for u in k.unpatched { print("  unpatched 0x\(String(u.address, radix: 16)): \(u.reason)") }
        check(k.sitesPatched == 0 && k.unpatched.first?.reason.contains("trapped") == true, "the site is reported trapped, not current")
        let site = k.unpatched.first.map(\.address) ?? 0
        check(site != 0 && UnsafeRawPointer(bitPattern: site)!.load(as: UInt8.self) == 0xcc, "the site holds its INT3")
        check(countEnabled(10) == 0, "calls through the trapped site see the new state")
        check(StaticCalls.report().emulatedTraps >= before + 10, "each call was emulated by the handler")
        EnabledKey.update(returning: true)
        check(countEnabled(10) == 10, "a later update retargets the trapped site's emulation")
        // With the INT3 protocol refused (a thread that never calls the site blocks SIGTRAP), the
        // trapped site's emulation still follows the update.
        let parked = Atomic<Int>(0)
        let sleeper = Worker {
            blockAllSignals()
            parked.store(1, ordering: .relaxed)
            while parked.load(ordering: .relaxed) == 1 { usleep(1000) }
        }
        sleeper.start()
        while parked.load(ordering: .relaxed) == 0 { sched_yield() }
        EnabledKey.update(returning: false)
        check(key("enabled()")!.unpatched.first?.reason.contains("SIGTRAP") == true, "the INT3 protocol was refused")
        check(countEnabled(10) == 0, "the trapped site follows the update all the same")
        parked.store(2, ordering: .relaxed)
        sleeper.join()
        var threw = false
        do { try StaticCalls.patchAll() } catch { threw = true }
        check(threw, "patchAll() throws while a site is trapped")
        k = key("enabled()")!
        check(k.sitesPatched == 0, "still not counted as current")

    // A fork while another thread is inside the SIGTRAP handler (a trapped site makes every call of a
    // caller thread trap): the child must not inherit the handler's reader count and wait for it forever.
    case "fork-during-trap":
        denyRemap()
        EnabledKey.update(returning: true)
        let err = cfaults_deny_syscall_when_equal(cfaults_nr_pwrite64(), EPERM, 2, 4)
        check(err == 0, "seccomp filter refusing 4-byte pwrite64 installed (errno \(err))")
        denyExecutableMprotect()
        EnabledKey.update(returning: false) // its sites stay trapped: every call traps
        check(key("enabled()")!.unpatched.first?.reason.contains("trapped") == true, "the site is trapped")
        let stop = Atomic<Bool>(false)
        let caller = Worker {
            while !stop.load(ordering: .relaxed) { blackHole(countEnabled(100)) }
        }
        caller.start()
        var hung = 0, failedChildren = 0
        let forks = 3000
        for _ in 0..<forks {
            let pid = fork()
            if pid == 0 {
                alarm(10) // a child that waits for a reader that does not exist dies here
                EnabledKey.update(returning: true)
                _exit(countEnabled(10) == 10 ? 0 : 1)
            }
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            if status & 0x7f == SIGALRM { hung += 1 } else if status != 0 { failedChildren += 1 }
        }
        stop.store(true, ordering: .relaxed)
        caller.join()
        print("  \(StaticCalls.report().emulatedTraps) traps emulated in the parent")
        check(hung == 0, "no child waited for a reader of its parent (\(hung) of \(forks) hung)")
        check(failedChildren == 0, "every child updated the key and saw the new state (\(failedChildren) failed)")

    // mprotect(RWX) allowed but mprotect(RX) refused (so a page made writable would stay so), with
    // /proc/self/mem and remapping refused: the mprotect writer is not used, and the report says why.
    case "mprotect-rx-refused":
        denyRemap()
        denyProcSelfMem()
        let err = cfaults_deny_syscall_when_equal(cfaults_nr_mprotect(), EACCES, 2, UInt64(PROT_READ | PROT_EXEC))
        check(err == 0, "seccomp filter refusing mprotect(RX) installed (errno \(err))")
        basic()
        let report = StaticCalls.report()
        check(report.mode == .indirect && report.reason?.contains("writable") == true, "indirect mode, and the reason says the page would stay writable (\(report.reason ?? "none"))")

    // A key's target in a library whose text is execute-only (PF_X without PF_R; enforced with
    // protection keys where the CPU has them): its bytes are never read, and it is called directly.
    case "execute-only-target":
        guard let path = option("--library"), let library = dlopen(path, RTLD_NOW),
              let function = dlsym(library, "xonly_times13") else {
            return check(false, "the execute-only library loads (\(String(cString: dlerror())))")
        }
        blackHole(sumOfScales(1))
        StaticCallRuntime.update(_scale_storage, to: UInt(bitPattern: function))
        check(scale(2) == 26 && sumOfScales(10) == 585 && scaleTail(4) == 52,
              "calls reach the execute-only target (\(scale(2)), \(sumOfScales(10)), \(scaleTail(4)))")
        let k = key("scale(_:)")!
        for u in k.unpatched.prefix(3) { print("  unpatched 0x\(String(u.address, radix: 16)): \(u.reason)") }
        check(k.sitesPatched + k.unpatched.count == k.sitesFound, "every site is patched or has a reason")
        ScaleKey.reset()
        check(scale(2) == 6, "and back")

    // A child made by a raw fork (no fork handlers) patches its own code, never its parent's.
    case "raw-fork":
        ScaleKey.update { times5($0) }
        check(scale(2) == 10, "parent patched before the fork")
        let pid = cfaults_raw_fork()
        if pid == 0 {
            ScaleKey.update { times7($0) }
            let ok = scale(2) == 14 && sumOfScales(10) == 315
            _exit(ok ? 0 : 1)
        }
        check(pid > 0, "raw fork (\(pid))")
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        check(status == 0, "the child patched its own sites (status \(status))")
        check(scale(2) == 10 && sumOfScales(10) == 225 && scaleTail(4) == 20, "the parent's sites are untouched by the child")
        ScaleKey.update { times11($0) }
        check(scale(2) == 22, "the parent still patches")

    // A SIGTRAP handler installed before ours that siglongjmps out: every foreign trap still reaches it.
    case "trap-handler-longjmps":
        check(cfaults_install_jumping_trap_handler() == 0, "jumping SIGTRAP handler installed")
        denyRemap() // the INT3 protocol installs the SIGTRAP handler that chains
        stressEndsCurrent()
        for n in 1...3 { check(cfaults_trap_and_jump() == 1, "foreign trap \(n) reached the jumping handler") }
        stressEndsCurrent()
        check(cfaults_trap_and_jump() == 1, "a foreign trap after more updates reached it too")

    // A counting SIGTRAP handler installed before ours: it sees every foreign trap, none of ours.
    case "trap-handler-returns":
        check(cfaults_install_counting_trap_handler() == 0, "counting SIGTRAP handler installed")
        denyRemap()
        stressEndsCurrent()
        raise(SIGTRAP)
        raise(SIGTRAP)
        check(cfaults_counted_traps() == 2, "the handler counted exactly the two foreign traps (\(cfaults_counted_traps()))")

    // SIGTRAP ignored (SIG_IGN) by the program: updates still safe, a foreign trap still ignored.
    case "trap-ignored":
        check(cfaults_set_trap_disposition(1) == 0, "SIGTRAP set to SIG_IGN")
        stressEndsCurrent()
        denyRemap()
        stressEndsCurrent()
        raise(SIGTRAP)
        check(true, "a foreign SIGTRAP was ignored")

    // SIGTRAP at SIG_DFL: updates safe; a foreign trap still ends the process with SIGTRAP (the test
    // expects that death).
    case "trap-default":
        check(cfaults_set_trap_disposition(0) == 0, "SIGTRAP set to SIG_DFL")
        denyRemap()
        stressEndsCurrent()
        print("\(passed) passed, \(failed) failed before the foreign trap")
        raise(SIGTRAP)
        check(false, "a foreign SIGTRAP at SIG_DFL must end the process")

    // A signal handler that updates a key, interrupting an update on the same thread: fails loudly.
    case "update-from-handler":
        signal(SIGUSR1) { _ in HookKey.disable() }
        let storm = SignalStorm()
        storm.start()
        for n in 0..<200_000 {
            if n % 2 == 0 { ScaleKey.update { times5($0) } } else { ScaleKey.reset() }
        }
        storm.finish()
        check(false, "200000 updates with handlers updating never interrupted the runtime")

    default:
        check(false, "unknown fault \(name)")
    }
}

/// TracerPid from /proc/self/status (0 when no debugger is attached), parsed by MachineCode's
/// `ProcessStatus`, as the runtime does.
func tracerPid() -> Int {
    let fd = open("/proc/self/status", O_RDONLY)
    guard fd >= 0 else { return 0 }
    defer { close(fd) }
    var bytes = [UInt8](repeating: 0, count: 4096)
    let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    guard n > 0 else { return 0 }
    return ProcessStatus(text: String(decoding: bytes[0..<n], as: UTF8.self)).tracerPid ?? 0
}
