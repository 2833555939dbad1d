// Images: a plugin with its own keys and its own copy of StaticCall, loaded and unloaded while the host
// patches its own keys (the kernel's static_call_add_module/del, and one runtime per process).
//
//   staticcall-integration plugin [--rounds N] [--int3] [--plugin-path PATH] [--targets-path PATH]
//   staticcall-integration plugin-churn [--rounds N] [--plugin-path PATH] [--targets-path PATH]
#if canImport(Glibc)
import Glibc
#endif
import CFaults
import CStaticCall
import MachineCode
import StaticCall
import Synchronization

typealias PluginExercise = @convention(c) (Int, UnsafeRawPointer, @convention(c) (Int) -> Int) -> Int
typealias PluginTouch = @convention(c) (Int) -> Int

/// The file given by option `name`, or else `file` beside this executable.
func productPath(_ file: String, option name: String) -> String {
    if let path = option(name) { return path }
    var buffer = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    let exe = n > 0 ? String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : "."
    return String(exe[..<(exe.lastIndex(of: "/") ?? exe.endIndex)]) + "/" + file
}

/// The Swift plugin, with its own keys and its own copy of StaticCall.
func pluginPath() -> String { productPath("libStaticCallTestPlugin.so", option: "--plugin-path") }
/// The C library of targets, which dlclose really unmaps.
func cTargetsPath() -> String { productPath("libStaticCallTestTargets.so", option: "--targets-path") }

/// One loaded object's executable segments compared with its file: the addresses whose bytes differ.
/// Nil if the object is not loaded (or its file cannot be read).
func textDifferences(ofObjectNamed path: String) -> [UInt64]? {
    final class Box { var found: (bias: UInt64, headers: [ProgramHeader])? ; let path: String; init(_ p: String) { path = p } }
    let box = Box(path)
    withExtendedLifetime(box) {
        _ = cstaticcall_iterate_objects({ object, context in
            let box = Unmanaged<Box>.fromOpaque(context!).takeUnretainedValue()
            guard let object, let name = object.pointee.name, String(cString: name) == box.path,
                  let phdr = object.pointee.program_headers else { return 0 }
            let count = Int(object.pointee.program_header_count)
            let headers = try? ProgramHeader.parse(UnsafeRawBufferPointer(start: phdr, count: count * 56), count: count, entrySize: 56)
            box.found = (UInt64(object.pointee.bias), headers ?? [])
            return 1
        }, Unmanaged.passUnretained(box).toOpaque())
    }
    guard let (bias, headers) = box.found else { return nil }
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var differences: [UInt64] = []
    for ph in headers where ph.type == ProgramHeader.load && ph.isExecutable && ph.isReadable && ph.fileSize > 0 {
        var file = [UInt8](repeating: 0, count: Int(ph.fileSize))
        guard pread(fd, &file, file.count, off_t(ph.offset)) == file.count else { return nil }
        let live = UnsafeRawBufferPointer(start: UnsafeRawPointer(bitPattern: UInt(bias &+ ph.virtualAddress)), count: file.count)
        for i in 0..<file.count where live[i] != file[i] { differences.append(bias &+ ph.virtualAddress &+ UInt64(i)) }
    }
    return differences
}

func isLoaded(_ path: String) -> Bool { textDifferences(ofObjectNamed: path) != nil }

/// Every difference between the plugin's text and its file lies in the five bytes of a site that the
/// report lists for one of the plugin's keys.
func onlySitesDiffer(_ differences: [UInt64], report: StaticCallReport) -> Bool {
    let sites = ["pluginScale(_:)", "pluginFlag"].compactMap { report[$0] }
        .flatMap { $0.patchedSites.map(UInt64.init) + $0.unpatched.map { UInt64($0.address) } }
    return differences.allSatisfy { d in sites.contains { d >= $0 && d < $0 + 5 } }
}

/// Whether `text` contains `word`, in plain byte loops: no generic code that the Swift runtime would
/// instantiate for the first time while an unloaded Swift image is still in its conformance tables.
func mentions(_ text: String, _ word: String) -> Bool {
    let t = Array(text.utf8), w = Array(word.utf8)
    guard w.count <= t.count else { return false }
    for i in 0...(t.count - w.count) where Array(t[i..<(i + w.count)]) == w { return true }
    return false
}

/// Every site of `name` is patched and calls or jumps to `target`, directly or through a far-jump stub.
func sitesReach(_ name: String, _ target: UInt64) -> Bool {
    guard let k = StaticCalls.report()[name], k.sitesFound > 0, k.sitesPatched == k.sitesFound else { return false }
    return k.patchedSites.allSatisfy { address in
        let bytes = Array(UnsafeRawBufferPointer(start: UnsafeRawPointer(bitPattern: address), count: 5))
        let destination: UInt64
        switch SiteInstruction.recognise(bytes, at: UInt64(address)) {
        case let .call(d)?, let .jump(d)?: destination = d
        default: return false
        }
        if destination == target { return true }
        let stub = UnsafeRawBufferPointer(start: UnsafeRawPointer(bitPattern: UInt(destination)), count: FarJumpStub.size)
        return FarJumpStub.target(of: stub) == target
    }
}

let hostScaleCaller: @convention(c) (Int) -> Int = { scale($0) }

/// Updates host keys and reads the report from another thread until stopped.
final class HostUpdater: @unchecked Sendable {
    let stop = Atomic<Bool>(false)
    let rounds = Atomic<Int>(0)
    private var worker: Worker?

    /// One round of the loop (run once on the main thread first, so that nothing in it runs for the first
    /// time while a plugin is unmapped: see pluginRounds()).
    func step(_ i: Int) {
        if i % 2 == 0 { HookKey.disable() } else { HookKey.update { hookB.wrappingAdd($0, ordering: .relaxed) } }
        if i % 3 == 0 { OffsetKey.update { $0 &+ 1 } } else { OffsetKey.update { $0 &+ 2 } }
        hook(1)
        blackHole(offset(1))
        if i % 8 == 0 { blackHole(StaticCalls.report()) }
    }

    func start() {
        for i in 0..<8 { step(i) }
        let w = Worker { [self] in
            var i = 0
            while !stop.load(ordering: .relaxed) {
                step(i)
                i += 1
                rounds.store(i, ordering: .relaxed)
                // A pause between steps. Back to back, this thread took the update lock (and the loader's,
                // which an update holds through dl_iterate_phdr) again before a woken waiter could run,
                // so the main thread's dlopen, patchAll() and updates waited seconds for their turn:
                // neither lock hands over to a waiter (README, "Update latency and fairness").
                usleep(100)
            }
        }
        worker = w
        w.start()
    }

    func finish() {
        stop.store(true, ordering: .relaxed)
        worker?.join()
    }
}

/// What the runtime's object bookkeeping costs, measured before other threads start (so no lock is
/// contended): the first StaticCall call after a dlopen (the loader's generation moved: the object list
/// is read again) against one where nothing changed; the first update to a function of the new library
/// (its unwind index, a stub page, the patch) against the same update again; the first call after its
/// dlclose (the key moved back to its default). Printed, not checked: timing on a shared machine.
func measureImageCosts(_ cPath: String) {
    func microseconds(_ body: () -> Void) -> String {
        let start = monotonicSeconds()
        body()
        return String(format1: (monotonicSeconds() - start) * 1e6)
    }
    final class Count { var n = 0 }
    let count = Count()
    withExtendedLifetime(count) {
        _ = cstaticcall_iterate_objects({ _, context in
            Unmanaged<Count>.fromOpaque(context!).takeUnretainedValue().n += 1
            return 0
        }, Unmanaged.passUnretained(count).toOpaque())
    }
    guard let library = dlopen(cPath, RTLD_NOW | RTLD_LOCAL), let function = dlsym(library, "staticcall_ctarget_times19") else { return }
    let refresh = microseconds { blackHole(StaticCallRuntime.state(_hook_storage)) }
    let steady = microseconds { blackHole(StaticCallRuntime.state(_hook_storage)) }
    let firstUpdate = microseconds { StaticCallRuntime.update(_scale_storage, to: UInt(bitPattern: function)) }
    ScaleKey.reset()
    let againUpdate = microseconds { StaticCallRuntime.update(_scale_storage, to: UInt(bitPattern: function)) }
    dlclose(library)
    let afterUnload = microseconds { blackHole(StaticCallRuntime.state(_hook_storage)) }
    print("  images (\(count.n + 1) objects loaded): first StaticCall call after a dlopen \(refresh) µs, next call \(steady) µs; first update to the new library's function \(firstUpdate) µs, the same update again \(againUpdate) µs; first call after its dlclose (key moved back to its default) \(afterUnload) µs")
    check(scale(2) == 6, "after the measurement, the key is back on its default")
}

/// A /proc file that could not be opened.
struct ProcFileError: Error {
    var path: String
    var errno: Int32
}

extension String {
    init(format1 value: Double) { self = String(Double(Int(value * 10)) / 10) }

    /// A file of /proc (whose size stat reports as 0), read whole.
    init(contentsOfProcFile path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ProcFileError(path: path, errno: errno) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &buffer, buffer.count)
            guard n > 0 else { break }
            bytes += buffer[0..<n]
        }
        self = String(decoding: bytes, as: UTF8.self)
    }
}

/// The cheapest StaticCall call that takes the runtime's lock (and so refreshes its object list).
enum ProcessStaticKeyProbe {
    static func state() -> StaticCallState? { StaticCallRuntime.state(_hook_storage) }
}

/// Ten rounds (`--rounds`) while another thread updates the host's keys and reads the report:
/// - the Swift plugin is loaded, its keys called and updated, a host key pointed at one of its functions,
///   and closed again (its copy of StaticCall pinned it: it stays mapped, and the next dlopen returns it
///   with its keys as they were);
/// - a C library is loaded, a host key pointed at one of its functions, and closed (really unmapped): the
///   next StaticCall call moves the key back to its default and says why in the report;
/// - after each unload: raise(SIGTRAP) reaches the user's handler, and a forked child calls the keys.
func pluginRounds() {
    let path = pluginPath(), cPath = cTargetsPath()
    let rounds = option("--rounds").flatMap { Int($0) } ?? 10
    if arguments.contains("--int3") { denyRemap() }
    check(scale(2) == 6, "host key at its default before any plugin")
    check(cfaults_install_counting_trap_handler() == 0, "a user's SIGTRAP handler installed")
    measureImageCosts(cPath)
    let updater = HostUpdater()
    updater.start()
    for round in 0..<rounds {
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            check(false, "dlopen \(path): \(String(cString: dlerror()))")
            break
        }
        if round == 0 {
            check(textDifferences(ofObjectNamed: path) == [], "the plugin's text is exactly its file's when first loaded")
            // The plugin's constructor handed its key records to the host's runtime: patchAll() in the host
            // registers and patches the plugin's keys before the plugin ever runs one.
            check(StaticCalls.report()["pluginScale(_:)"] == nil, "the plugin's keys are not registered by loading it")
            do { try StaticCalls.patchAll() } catch { check(false, "patchAll() after dlopen threw \(error)") }
            let upFront = StaticCalls.report()
            check(upFront["pluginScale(_:)"] != nil && upFront["pluginFlag"] != nil, "the host's patchAll() registers the plugin's keys from their records")
            if upFront.mode == .inline, let k = upFront["pluginScale(_:)"] {
                check(k.sitesFound > 0 && k.sitesPatched == k.sitesFound, "and patches their sites (\(k.sitesPatched)/\(k.sitesFound))")
            }
        } else {
            let target = StaticCalls.report()["pluginScale(_:)"]?.target ?? "not in the report"
            check(target != "<default body>" && target != "not in the report", "round \(round): the pinned plugin's key kept its state across dlclose and dlopen (\(target))")
        }
        let exercise = unsafeBitCast(dlsym(handle, "staticcall_plugin_exercise"), to: PluginExercise.self)
        let result = withUnsafePointer(to: _scale_storage) { exercise(round, UnsafeRawPointer($0), hostScaleCaller) }
        check(result == 0, "round \(round): the plugin's keys work, through the host's runtime (first failed check: \(result))")
        check(scale(2) == 26, "round \(round): host sites call the plugin's function")
        let report = StaticCalls.report()
        if report.mode == .inline {
            let k = report["scale(_:)"]
            check(k.map { $0.sitesFound > 0 && $0.sitesPatched == $0.sitesFound } == true,
                  "round \(round): every host site reaches the plugin's function (through stubs: it is out of rel32 reach) \(k.map { "\($0.sitesPatched)/\($0.sitesFound)" } ?? "")")
        }
        let pluginKey = report["pluginScale(_:)"]
        check(pluginKey != nil && report["pluginFlag"] != nil && report["scale(_:)"] != nil && report["hook(_:)"] != nil,
              "round \(round): one report lists the host's and the plugin's keys")
        if report.mode == .inline {
            check(pluginKey.map { $0.sitesFound > 0 && $0.sitesPatched == $0.sitesFound } == true,
                  "round \(round): the plugin's sites are patched (\(pluginKey.map { "\($0.sitesPatched)/\($0.sitesFound)" } ?? "no key"))")
        }
        if let differences = textDifferences(ofObjectNamed: path) {
            check(onlySitesDiffer(differences, report: report), "round \(round): the plugin's text differs from its file only at its proven sites (\(differences.count) bytes)")
        }
        check(dlclose(handle) == 0 && isLoaded(path), "round \(round): dlclose leaves the plugin mapped (pinned by its copy of StaticCall)")
        check(scale(2) == 26, "round \(round): host sites still call the plugin's function after its dlclose")
        ScaleKey.reset()

        // Odd rounds load the library and update the key inside a batch (no lock is held while a
        // batch's body runs; the update is applied when it returns).
        let factor = round % 2 == 0 ? 19 : 23
        var function: UnsafeMutableRawPointer?
        let library: UnsafeMutableRawPointer? = round % 2 == 0 ? dlopen(cPath, RTLD_NOW | RTLD_LOCAL) : StaticCalls.batch {
            let library = dlopen(cPath, RTLD_NOW | RTLD_LOCAL)
            function = library.flatMap { dlsym($0, "staticcall_ctarget_times\(factor)") }
            if let function { StaticCallRuntime.update(_scale_storage, to: UInt(bitPattern: function)) }
            check(scale(2) == 6, "round \(round): inside the batch, the update is not applied yet")
            return library
        }
        guard let library else {
            check(false, "dlopen \(cPath): \(String(cString: dlerror()))")
            break
        }
        if round % 2 == 0 {
            check(textDifferences(ofObjectNamed: cPath) == [], "round \(round): the C library's text is exactly its file's (nothing was written into it)")
            function = dlsym(library, "staticcall_ctarget_times\(factor)")
            StaticCallRuntime.update(_scale_storage, to: UInt(bitPattern: function))
        }
        check(function != nil, "round \(round): dlsym")
        check(scale(2) == 2 * factor && sumOfScales(10) == 45 * factor, "round \(round): host sites call the C library's function")
        if StaticCalls.mode == .inline {
            check(sitesReach("scale(_:)", UInt64(UInt(bitPattern: function))), "round \(round): every host site calls the C library's function through a far-jump stub")
        }
        let savedOnTheLibrary = StaticCallRuntime.callState(_scale_storage)
        let notesBefore = StaticCalls.report()["scale(_:)"]?.notes ?? []
        check(dlclose(library) == 0 && !isLoaded(cPath), "round \(round): dlclose unmapped the C library")
        let after = StaticCalls.report() // the first call into StaticCall since the unload
        let notes = after["scale(_:)"]?.notes ?? []
        // One new note (the report keeps the last eight, so once there are eight the list shifts).
        check(notes.count == min(notesBefore.count + 1, 8) && notes != notesBefore && mentions(notes.last!, "unloaded"),
              "round \(round): the report says the key's target was unloaded (a new note: \(notes.last ?? "none"))")
        check(scale(2) == 6 && sumOfScales(10) == 135, "round \(round): the key is back on its default, never calling the unloaded function")
        // A state saved while the key targeted the library, restored after the unload: refused, not called.
        StaticCallRuntime.restore(_scale_storage, savedOnTheLibrary)
        check(StaticCallRuntime.callState(_scale_storage) == .defaultBody && scale(2) == 6,
              "round \(round): a saved state whose target was unloaded is refused on restore (\(StaticCallRuntime.callState(_scale_storage)))")

        let traps = cfaults_counted_traps()
        raise(SIGTRAP)
        check(cfaults_counted_traps() == traps + 1, "round \(round): raise(SIGTRAP) after the unload reaches the user's handler")
        let pid = fork()
        if pid == 0 { _exit(scale(2) == 6 && sumOfScales(10) == 135 ? 0 : 1) }
        var status: Int32 = -1
        waitpid(pid, &status, 0)
        check(status == 0, "round \(round): a child forked after the unload calls the host's keys (status \(status))")
    }
    updater.finish()
    // Stub pages of one object are consecutive pages of one memfd, which the kernel merges into one
    // mapping: two objects need stubs here (the host's sites, and the plugin's tail sites that jump to
    // the host's return-constant functions), however many rounds ran.
    if StaticCalls.mode == .inline {
        let maps = (try? String(contentsOfProcFile: "/proc/self/maps")) ?? ""
        let stubMappings = maps.split(separator: "\n").filter { mentions(String($0), "staticcall-stubs") }
        check(!stubMappings.isEmpty && stubMappings.count <= 2, "stub pages are \(stubMappings.count) mapping\(stubMappings.count == 1 ? "" : "s") after \(rounds) rounds")
    }
    check(updater.rounds.load(ordering: .relaxed) > 0, "the host updated its own keys meanwhile (\(updater.rounds.load(ordering: .relaxed)) rounds)")
}

/// Two threads load, call, update and close the plugin and the C library in a loop (the library is
/// really unmapped whenever both have closed it), while a third points a host key at the library's
/// function and back, and a fourth updates other host keys and reads the report.
func pluginChurn() {
    let path = pluginPath(), cPath = cTargetsPath()
    let rounds = option("--rounds").flatMap { Int($0) } ?? 200
    let failures = Atomic<Int>(0)
    func fail(_ what: String) {
        if failures.wrappingAdd(1, ordering: .relaxed).oldValue < 5 { print("churn: \(what)") }
    }
    ScaleKey.ensure()
    let updater = HostUpdater()
    updater.start()
    let loaders = (0..<2).map { n in
        Worker {
            for round in 0..<rounds {
                guard let plugin = dlopen(path, RTLD_NOW | RTLD_LOCAL), let library = dlopen(cPath, RTLD_NOW | RTLD_LOCAL) else {
                    fail("dlopen")
                    continue
                }
                let touch = unsafeBitCast(dlsym(plugin, "staticcall_plugin_touch"), to: PluginTouch.self)
                if touch(round + n) != 0 { fail("plugin keys wrong in round \(round)") }
                if textDifferences(ofObjectNamed: cPath) != [] { fail("the C library's text differs from its file in round \(round)") }
                if dlclose(library) != 0 || dlclose(plugin) != 0 { fail("dlclose") }
            }
        }
    }
    let retargeter = Worker {
        for round in 0..<rounds {
            guard let library = dlopen(cPath, RTLD_NOW | RTLD_LOCAL), let function = dlsym(library, "staticcall_ctarget_times19") else {
                fail("dlopen")
                continue
            }
            StaticCallRuntime.update(_scale_storage, to: UInt(bitPattern: function))
            if scale(1) != 19 { fail("scale(1) = \(scale(1)) with the C target in round \(round)") }
            ScaleKey.reset()
            if scale(1) != 3 { fail("scale(1) = \(scale(1)) after reset in round \(round)") }
            dlclose(library)
        }
    }
    loaders.forEach { $0.start() }
    retargeter.start()
    loaders.forEach { $0.join() }
    retargeter.join()
    updater.finish()
    check(failures.load(ordering: .relaxed) == 0, "\(2 * rounds) loads by two threads and \(rounds) retargets by a third: every call right, every dlopen and dlclose succeeded")
    check(!isLoaded(cPath), "the C library is unmapped at the end")
    if let library = dlopen(cPath, RTLD_NOW | RTLD_LOCAL) {
        check(textDifferences(ofObjectNamed: cPath) == [], "after the churn, a fresh load of the C library is exactly its file")
        dlclose(library)
    }
    if let differences = textDifferences(ofObjectNamed: path) {
        check(onlySitesDiffer(differences, report: StaticCalls.report()), "after the churn, the plugin's text differs from its file only at proven sites (\(differences.count) bytes)")
    } else {
        check(false, "the plugin is still mapped (pinned)")
    }
    check(offset(1) == 2 || offset(1) == 3, "host keys still right after the churn")
}
