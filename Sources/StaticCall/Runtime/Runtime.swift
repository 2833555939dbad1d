#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#else
#error("unsupported platform: StaticCall needs Glibc, Musl or Darwin")
#endif
import CStaticCall
import MachineCode
import Synchronization

/// What this process can do, decided once (the analogue of the kernel's boot-time feature checks).
struct Capability {
    var mode: StaticCallMode
    var reason: String?
    /// How text is written: "page-remap (…)" or "int3 (…)".
    var writer: String?
}

/// The registry and the patcher. Every method does its work under `lock` (a batch's closure and the
/// calls of key records run outside it); calls through trampolines never take it.
final class Runtime: @unchecked Sendable {
    static let shared: Runtime = {
        // Marked from before the stored properties' initializers run: see ProcessRuntime.server.
        ProcessLifecycle.initializing { Runtime() }
    }()

    /// `shared`, for the entry points other copies of StaticCall call (they reach this copy without its
    /// `ProcessRuntime.server`): checked the same way.
    static var served: Runtime {
        ProcessRuntime.stopIfInitializing()
        return shared
    }

    let lock = UpdateLock()
    private var keys: [UInt: KeyRecord] = [:]
    private var order: [UInt] = []
    private var objects: [UInt64: ObjectCache] = [:] // by load bias + name hash
    /// The loader's generation that `listed` reflects (refreshed at every entry, under the loader lock).
    private var generation: Loader.Generation?
    /// Every loaded object, except those whose copy of StaticCall reported them unloading.
    private var listed: [LoadedObjectInfo] = []
    /// Objects being unloaded (their destructors have run; the loader has not unlinked them yet).
    private var dying: [LoadedObjectInfo] = []
    private var capabilityCache: Capability?
    private let transaction = PatchTransaction()
    private let stubs = StubPool()
    /// The process this state belongs to: a child made without fork handlers finds a different pid.
    private var pid = getpid()
    /// The thread running the runtime's own code under the lock (never a batch's closure), or 0.
    private let busyThread = Atomic<UInt>(0)
    /// Threads inside `StaticCalls.batch`, with their nesting depth, and the changes each one asked for:
    /// applied when its outermost batch returns, in one transaction. The lock is not held while a batch's
    /// closure runs, so the closure may wait for other threads that update keys.
    private var batching: [UInt: Int] = [:]
    private var pending: [UInt: [PendingChange]] = [:]
    /// While > 0, scheduled keys are not flushed (while a finished batch's changes are applied).
    private var flushHeld = 0
    /// Threads running a scoped override (`withTarget`, `withValue`, a test trait) inside a batch: their
    /// changes apply at once, not when the batch ends (which would be after the scope ended).
    private var unbatched: [UInt: Int] = [:]
    /// The executable ranges of the objects unloaded so far (the last `unloadedKept`): a target in one
    /// of them (a state saved before the unload, restored after) would call unmapped code. Only the
    /// last 64 unloads are remembered; code mapped there since by anything but the loader (a JIT) is
    /// refused as well.
    private var unloadedText: [Range<UInt64>] = []
    private static let unloadedKept = 64
    private var dirty: [UInt] = []
    private var siteOwners: [UInt64: UInt] = [:]
    /// followForwarders() results, by target (see there).
    private var forwarders: [UInt64: UInt64] = [:]
    private var trampolineOwners: [UInt64: UInt] = [:]
    /// Every proven site of every key, by address (rebuilt when discovery finds sites).
    private var sortedSites: [PatchSite] = []
    private var sortedSitesStale = false

    private init() {
        ProcessLifecycle.watchExit() // after main() began: exit() then runs it before the loader's destructors
        // fork(): the child must find the lock free and (Linux) re-register for membarrier (a new mm).
        // Children made without fork handlers are caught by the pid check in flush().
        pthread_atfork(
            { Runtime.shared.lock.lock() },
            { Runtime.shared.lock.unlock() },
            {
                let runtime = Runtime.shared
                runtime.lock.reinitializeInChild()
                runtime.busyThread.store(0, ordering: .relaxed)
                runtime.resetAfterFork()
            })
    }

    // MARK: - Capability

    var capability: Capability {
        exclusive {
            if let c = capabilityCache { return c }
            let c = probeCapability()
            capabilityCache = c
            debugLog("mode \(c.mode)\(c.reason.map { " (\($0))" } ?? "")\(c.writer.map { ", writer \($0)" } ?? "")")
            return c
        }
    }

    /// Decides the mode once: page remapping, probed on the page of a function of our own that is never
    /// called (rewritten with its own bytes); else the INT3 protocol (whose writers are probed one at a
    /// time, `mprotect` only if `/proc/self/mem` is refused); else indirect, with every reason.
    private func probeCapability() -> Capability {
        #if os(Linux) && arch(x86_64) && canImport(Glibc) && !STATICCALL_FORCE_PORTABLE
        if Environment.modeCap == .indirect { return Capability(mode: .indirect, reason: "STATICCALL_MODE=indirect", writer: nil) }
        if let reason = ProcessRuntime.incompatibility { return Capability(mode: .indirect, reason: reason, writer: nil) }
        guard let remapRefusal = probeRemap() else {
            return Capability(mode: .inline, reason: nil, writer: transaction.remapper.name)
        }
        transaction.remapRefusal = remapRefusal
        if let int3Refusal = transaction.int3.setUp() {
            return Capability(mode: .indirect, reason: "page remap refused (\(remapRefusal)); INT3 protocol refused (\(int3Refusal))", writer: nil)
        }
        return Capability(mode: .inline, reason: "page remap refused (\(remapRefusal)); using the INT3 protocol", writer: transaction.int3.writerName)
        #else
        _ = Environment.modeCap // read (and a misspelling warned about) on every platform
        return Capability(mode: .indirect, reason: "inline patching is implemented for x86-64 Linux with glibc only; this build is the portable one", writer: nil)
        #endif
    }

    /// Why pages cannot be remapped in this process, or nil once a page of our own has been (replaced by
    /// the file's own bytes: the probe page holds no patched site yet). A transient error (descriptors or
    /// memory short for a moment) is tried again, twice.
    private func probeRemap() -> String? {
        let probe = ShimFunctions.probe
        let page = PageRemapper.pageSize
        var attempt = 0
        while true {
            attempt += 1
            guard probe != 0, let object = object(containing: probe) else { return "the probe function is in no loaded object" }
            do throws(PatchError) {
                let file = try object.mappedFile.get()
                let start = probe & ~(page - 1)
                guard let location = file.location(of: start, pageSize: page) else { return "the probe function is outside \(file.path)'s text" }
                // One edit, the probe function's own first byte, so that filling the new page is tried too.
                try transaction.remapper.replace(at: start, size: Int(page), file: file, offset: location.offset,
                                                 edits: [TextEdit(address: probe, bytes: readText(at: probe, count: 1))]) {
                    PatchTransaction.foreignDifferences($0, live: start, sites: [])
                }
                return nil
            } catch {
                if !error.isTransient || attempt == 3 { return "\(error)" }
            }
        }
    }

    /// In a child process after fork (with or without fork handlers).
    private func resetAfterFork() {
        pid = getpid()
        transaction.resetAfterFork()
        // Only the forking thread exists in the child: batches other threads had open are gone with
        // them (a new thread may get the same pthread_t and must not inherit their queues).
        let me = currentThread()
        batching = batching.filter { $0.key == me }
        pending = pending.filter { $0.key == me }
        unbatched = unbatched.filter { $0.key == me }
    }

    /// Stops the process after a signal handler re-entered the runtime, with only async-signal-safe
    /// calls: the interrupted transaction may hold the loader's lock, and `fatalError` in a debug build
    /// prints a symbolized backtrace (`dladdr`), which would wait for that lock forever (seen: a debug
    /// build of the fault matrix's program hung instead of stopping).
    static func stopReentered() -> Never {
        let message: StaticString = "StaticCall: re-entered from a signal handler: an update, a key's first call or another StaticCall API was used in a handler that interrupted StaticCall on the same thread. In signal handlers, only call keys that have been called before (see the README, \"Signal handlers\").\n"
        message.withUTF8Buffer { _ = write(2, $0.baseAddress, $0.count) }
        abort()
    }

    /// Runs `body` under the update lock as the runtime's own work, with the loader's list locked (no
    /// object can be unmapped while the runtime reads or writes it) and brought up to date first. A
    /// signal handler that calls into the runtime while its thread is already inside it would run a
    /// second transaction over the first, or wait for itself: that is stopped at once, with a message.
    private func exclusive<R>(_ body: () -> R) -> R {
        let me = currentThread()
        if busyThread.load(ordering: .relaxed) == me {
            Self.stopReentered()
        }
        lock.lock()
        busyThread.store(me, ordering: .relaxed)
        defer {
            busyThread.store(0, ordering: .relaxed)
            lock.unlock()
        }
        if getpid() != pid { resetAfterFork() } // a child made by a raw fork, clone or _Fork()
        return Loader.withLock {
            refreshObjects()
            return body()
        }
    }

    // MARK: - Objects (the kernel's static_call_add_module/del)

    /// Brings `listed` up to date when the loader's generation moved. After an unload, everything that
    /// lived in an object no longer listed is forgotten (a reloaded object is a new object: its keys'
    /// storage reads 0 again, and its text and unwind tables may differ), and keys whose target was there
    /// go back to their default.
    private func refreshObjects() {
        let now = Loader.generation
        guard now != generation else { return }
        let unloaded = generation != nil && generation?.subs != now.subs
        generation = now
        if unloaded { dying = [] } // the loader finished unloading them
        let before = listed
        listed = loadedObjects().filter { !dying.contains($0) }
        forwarders = [:] // a chain may have crossed an object that changed
        stubs.objectsChanged()
        if unloaded {
            // Rebuilt on demand: an object at a familiar address may be another file. The main executable
            // (listed first, with an empty name) is never unloaded: its cache, the costly one, is kept.
            objects = objects.filter { $0.value.info.name.isEmpty && listed.first == $0.value.info }
            forget(gone: before.filter { !listed.contains($0) })
        } else {
            objects = objects.filter { entry in listed.contains(entry.value.info) }
        }
    }

    /// An image holding a copy of StaticCall is being unloaded (its destructor runs before the loader
    /// unmaps it): its keys and sites are forgotten and keys whose target is in it are moved off it now,
    /// while its code is still mapped. Nothing happens during exit().
    func imageUnloading(anchor: UInt64) {
        guard !ProcessLifecycle.isExiting else { return }
        exclusive {
            guard let info = listed.first(where: { $0.containsLoaded(anchor) }) else { return }
            dying.append(info)
            listed.removeAll { $0 == info }
            objects = objects.filter { $0.value.info != info }
            forwarders = [:]
            forget(gone: [info])
        }
    }

    /// Drops every key whose storage is in no listed object any more (or reads 0: its object was
    /// unloaded and loaded again), with its sites; sends keys whose target was in `gone` back to their
    /// default target, with a note in the report; patches what changed.
    private func forget(gone: [LoadedObjectInfo]) {
        for object in gone {
            unloadedText += object.programHeaders.filter { $0.type == ProgramHeader.load && $0.isExecutable && $0.memorySize > 0 }
                .map { (object.bias &+ $0.virtualAddress)..<(object.bias &+ $0.virtualAddress &+ $0.memorySize) }
        }
        unloadedText = Array(unloadedText.suffix(Self.unloadedKept))
        var forgottenSites: [UInt64] = []
        for id in order {
            guard let record = keys[id] else { continue }
            let alive: Bool
            if let home = record.home {
                // The word is read only once the object is known to be listed (the loader is locked).
                alive = listed.contains(home) && record.storage.pointee._word.load(ordering: .relaxed) != 0
            } else {
                alive = true // storage outside every object (never seen in practice): kept
            }
            guard !alive else { continue }
            debugLog("forgetting \(record.name): \(record.home?.name ?? "its object") was unloaded")
            keys[id] = nil
            dirty.removeAll { $0 == id }
            for site in record.sites where siteOwners[site.address] == id {
                siteOwners[site.address] = nil
                forgottenSites.append(site.address)
            }
            if let t = record.trampoline, trampolineOwners[t] == id { trampolineOwners[t] = nil }
        }
        order.removeAll { keys[$0] == nil }
        if !forgottenSites.isEmpty {
            sortedSites = keys.values.flatMap(\.sites).sorted { $0.address < $1.address }
            sortedSitesStale = false
            transaction.int3.forget(forgottenSites, allSites: sortedSites.map(\.address))
        }
        var moved: [UInt] = []
        for id in order {
            guard let record = keys[id], case let .target(t) = record.state,
                  let object = gone.first(where: { $0.containsExecutable(t) }) else { continue }
            let note = "its target 0x\(String(t, radix: 16)) was in \(object.name.isEmpty ? "<executable>" : object.name), which was unloaded: it is back on its default target"
            record.notes = Array((record.notes + [note]).suffix(KeyRecord.notesKept))
            warn("\(record.name): \(note)")
            record.state = .target(record.defaultTarget)
            publishWord(record)
            moved.append(id)
        }
        // At once, even inside a batch: until their sites change, they call code that is gone. So may
        // the sites of a key updated earlier in the batch (off a target in the gone object, not yet
        // written): every pending key goes too.
        if !moved.isEmpty || (!gone.isEmpty && !dirty.isEmpty) {
            for id in moved where !dirty.contains(id) { dirty.append(id) }
            _ = flush()
        }
    }

    // MARK: - Keys

    func register(_ storage: UnsafePointer<StaticCallStorage>, name: String, trampolineThunk: UInt64,
                  defaultTarget: UInt64, capabilities: StaticCallCapabilities, initialState: KeyState? = nil) {
        _ = capability // decide the mode (how text is written) before the first patch
        exclusive {
            let id = UInt(bitPattern: storage)
            if let known = keys[id] {
                // A word of 0 under a known record: its object was unloaded and loaded again at the same
                // address between two entries (the refresh dropped it unless the word says otherwise).
                guard known.storage.pointee._word.load(ordering: .acquiring) == 0 else { return }
                keys[id] = nil
                order.removeAll { $0 == id }
            }
            let record = KeyRecord(storage: storage, name: name, trampolineThunk: trampolineThunk,
                                   defaultTarget: defaultTarget, capabilities: capabilities)
            record.home = listed.first { $0.containsLoaded(UInt64(UInt(bitPattern: storage))) }
            if let initialState {
                record.state = initialState
                if case let .constant(bits, _) = initialState { record.enableCount = bits & 1 == 0 ? 0 : 1 }
            }
            keys[id] = record
            order.append(id)
            publishWord(record)
            debugLog("registered \(name)")
            schedule(id)
        }
    }

    /// Changes a key's state: the word first (so unpatched sites and the trampoline already see the new
    /// state), then the sites, as the kernel's __static_call_update() does.
    func setState(_ storage: UnsafePointer<StaticCallStorage>, _ state: KeyState) {
        exclusive {
            if collecting, let record = keys[UInt(bitPattern: storage)] {
                if accepts(record, state) { queue(PendingChange(record: record, change: .state(state))) }
                return
            }
            setStateLocked(storage, state)
        }
    }

    /// Whether `t` is the key's own trampoline, or a thunk that only forwards to it (the key's own sites
    /// begin within its first bytes, as `followForwarders` sees them): a key targeting either calls
    /// itself forever. (A target that calls the key in its body recurses like any function that calls
    /// itself; only forwarding thunks, which is what `$f.update { f($0) }` compiles to, are caught.)
    private func callsItself(_ record: KeyRecord, _ t: UInt64) -> Bool {
        if t == record.trampolineThunk || t == record.trampoline { return true }
        if !record.discovered {
            discover([record]) // its sites and trampoline, for the checks below
            // A conflict found there sends another key back to its trampoline: at once if allowed here.
            if !dirty.isEmpty && mayFlush { _ = flush() }
        }
        // Every forwarder on the way, and where the chain ends (a forwarder whose jump is one of the
        // key's own sites, such as the key's forwarder itself: `{ f($0) }` compiled to `jmp f`).
        func isOwn(_ a: UInt64) -> Bool {
            a == record.trampoline || (a..<(a &+ 16)).contains { siteOwners[$0] == record.id }
        }
        return isOwn(t) || isOwn(followForwarders(t)) || isInstrumentedForwarder(followForwarders(t), of: record)
    }

    /// Whether a sanitizer or coverage runtime is in the process (its entry points are exported), so that
    /// forwarders may be longer than a jump. Elsewhere a short function that calls the key is the user's
    /// own (a recursive target such as `{ n in n < 2 ? n : fib(n - 1) }`), not a forwarder.
    private static let isInstrumented: Bool = ([String])(["__tsan_func_entry", "__asan_init", "__msan_init", "__ubsan_handle_add_overflow",
                                               "__llvm_profile_runtime", "__sanitizer_cov_trace_pc_guard"]).contains { (name: String) in
        dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) != nil
    }

    /// The key's forwarder in an instrumented build: a short function (instrumentation calls around one
    /// call of the key) that holds one of the key's own sites past the first 16 bytes. As a target it
    /// would call the key forever.
    private func isInstrumentedForwarder(_ a: UInt64, of record: KeyRecord) -> Bool {
        guard Self.isInstrumented, let range = object(containing: a)?.function(containing: a), range.start == a, range.end &- range.start <= 96 else {
            return false
        }
        return record.sites.contains { range.contains($0.address) }
    }

    /// Whether the calling thread is inside a batch, whose changes are applied when it ends (and not in
    /// a scoped override inside it, whose changes apply at once).
    private var collecting: Bool {
        let me = currentThread()
        return batching[me] != nil && unbatched[me] == nil
    }

    /// Whether a change made now may be patched now (not while a batch collects or is being applied).
    private var mayFlush: Bool { flushHeld == 0 && !collecting }

    /// Adds a change to the calling thread's batch.
    private func queue(_ change: PendingChange) { pending[currentThread(), default: []].append(change) }

    /// The count a static key will have once the calling thread's batch is applied.
    private func projectedCount(of record: KeyRecord) -> Int {
        var count = record.enableCount
        for change in pending[currentThread()] ?? [] where change.record === record {
            switch change.change {
            case .state: break
            case let .count(operation): count = operation.apply(count).count
            case let .setCount(n): count = n
            }
        }
        return count
    }

    /// Whether `state` is one `record` can take; a wrong one is refused with a warning (a key declared
    /// by hand with the wrong capabilities, a state saved from another key), never a crash.
    private func accepts(_ record: KeyRecord, _ state: KeyState) -> Bool {
        switch state {
        case .disabled where !record.capabilities.canDisable:
            warn("\(record.name) cannot be disabled (only non-throwing Void functions can): the update was ignored")
            return false
        case let .constant(_, width) where record.capabilities.constantWidth != width:
            warn("\(record.name) cannot return a constant of \(width.rawValue) bits: the update was ignored")
            return false
        case let .target(t) where callsItself(record, t):
            warn("\(record.name) cannot target its own trampoline (it would call itself): the update was ignored")
            return false
        case let .target(t) where unloadedText.contains(where: { $0.contains(t) }) && !listed.contains(where: { $0.containsExecutable(t) }):
            // A saved state restored after its target's image was unloaded: calling it would crash.
            warn("\(record.name): target 0x\(String(t, radix: 16)) was in an object that has been unloaded: the update was ignored")
            return false
        default:
            return true
        }
    }

    private func setStateLocked(_ storage: UnsafePointer<StaticCallStorage>, _ state: KeyState) {
        do {
            guard let record = keys[UInt(bitPattern: storage)] else {
                preconditionFailure("StaticCall: key updated before registration")
            }
            guard accepts(record, state) else { return }
            guard record.state != state else { return }
            record.state = state
            record.updates += 1
            publishWord(record)
            schedule(record.id)
        }
    }

    /// static_key_slow_inc()/dec() and static_branch_enable()/disable(), under the update lock: the key
    /// holds the constant `count > 0`. Returns the new count (inside a batch: the count it will have).
    ///
    /// Two subsystems may disagree about a key (one counts enables, another assigns it): that is a bug
    /// the kernel warns about (static_key_disable() on a counted key, a decrement below zero), never a
    /// crash. Here too: assignment wins (`false` drops every counted enable, `true` keeps a count of at
    /// least 1), a decrement at zero stays at zero, and each is written to the key's notes in `report()`
    /// and warned about once per key.
    @discardableResult
    func adjustStaticKey(_ storage: UnsafePointer<StaticCallStorage>, _ operation: ProcessRuntime.StaticKeyOperation) -> Int {
        exclusive {
            guard let record = keys[UInt(bitPattern: storage)] else { preconditionFailure("StaticCall: static key used before registration") }
            if collecting {
                queue(PendingChange(record: record, change: .count(operation)))
                return projectedCount(of: record)
            }
            return adjustLocked(record, operation)
        }
    }

    /// Sets a static key's count exactly (restoring a saved state).
    func setStaticKeyCount(_ storage: UnsafePointer<StaticCallStorage>, _ count: Int) {
        exclusive {
            guard let record = keys[UInt(bitPattern: storage)] else { preconditionFailure("StaticCall: static key used before registration") }
            if collecting {
                queue(PendingChange(record: record, change: .setCount(max(count, 0))))
                return
            }
            setCountLocked(record, max(count, 0))
        }
    }

    @discardableResult
    private func adjustLocked(_ record: KeyRecord, _ operation: ProcessRuntime.StaticKeyOperation) -> Int {
        let (count, problem) = operation.apply(record.enableCount)
        if let problem { noteMisuse(record, problem) }
        setCountLocked(record, count)
        return count
    }

    private func setCountLocked(_ record: KeyRecord, _ count: Int) {
        record.enableCount = count
        setStateLocked(record.storage, .constant(count > 0 ? 1 : 0, .bits8))
    }

    /// A disagreement about a static key: noted in the report every time, warned about once per key.
    private func noteMisuse(_ record: KeyRecord, _ problem: String) {
        record.notes = Array((record.notes + [problem]).suffix(KeyRecord.notesKept))
        if !record.misuseWarned {
            record.misuseWarned = true
            warn("\(record.name): \(problem) (further ones only in StaticCalls.report())")
        }
    }

    func staticKeyCount(_ storage: UnsafePointer<StaticCallStorage>) -> Int {
        exclusive { keys[UInt(bitPattern: storage)]?.enableCount ?? 0 }
    }

    func state(of storage: UnsafePointer<StaticCallStorage>) -> KeyState? {
        exclusive { keys[UInt(bitPattern: storage)]?.state }
    }

    func defaultTarget(of storage: UnsafePointer<StaticCallStorage>) -> UInt64? {
        exclusive { keys[UInt(bitPattern: storage)]?.defaultTarget }
    }

    private func publishWord(_ record: KeyRecord) {
        if case let .constant(bits, _) = record.state {
            record.storage.pointee._constant.store(bits, ordering: .releasing)
        }
        record.storage.pointee._word.store(record.word(statistics: Environment.statistics), ordering: .releasing)
    }

    // MARK: - Batches

    /// Runs `body` with the calling thread's changes collected, then applies them in order in one
    /// transaction (the kernel's text_poke_queue()/text_poke_finish()). The lock is not held while `body`
    /// runs: other threads update keys meanwhile (each in its own transaction), and `body` may wait for
    /// them. The changes are applied when `body` returns or throws: what was asked for is never lost.
    func batch<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        let me = currentThread()
        exclusive { batching[me, default: 0] += 1 }
        defer {
            exclusive {
                batching[me]! -= 1
                guard batching[me] == 0 else { return }
                batching[me] = nil
                let changes = pending.removeValue(forKey: me) ?? []
                flushHeld += 1
                for change in changes {
                    // A key forgotten meanwhile (its image was unloaded; another may be at its address now)
                    // has nothing left to change.
                    guard let record = keys[UInt(bitPattern: change.storage)], record === change.record else { continue }
                    switch change.change {
                    case let .state(state): setStateLocked(change.storage, state)
                    case let .count(operation): adjustLocked(record, operation)
                    case let .setCount(count): setCountLocked(record, count)
                    }
                }
                flushHeld -= 1
                _ = flush()
            }
        }
        return try body()
    }

    /// Runs `body` with the calling thread's changes applied at once even inside a batch: a scoped
    /// override (`withTarget`) must be in effect while its scope runs and gone when it ends.
    func unbatched<R>(_ body: () -> R) -> R {
        let me = currentThread()
        exclusive { unbatched[me, default: 0] += 1 }
        defer {
            exclusive {
                unbatched[me]! -= 1
                if unbatched[me] == 0 { unbatched[me] = nil }
            }
        }
        return body()
    }

    /// Registers every key whose image left a record (the macros put one per key in its image's
    /// `staticcall_keys` section; each image's constructor hands its records to the serving copy), as
    /// one batch: one discovery and one transaction for all of them. The analogue of the kernel's
    /// static_call_init() walking `__start_static_call_sites`. Runs outside the lock: a record calls its
    /// key's registration, which may come back through another copy's table.
    func registerRecordedKeys() {
        batch {
            KeyRecords.registerAll()
        }
    }

    private func schedule(_ id: UInt) {
        if !dirty.contains(id) { dirty.append(id) }
        if mayFlush { _ = flush() }
    }

    /// Discovers and patches every registered key now.
    func patchAll() throws(StaticCallError) {
        _ = capability
        registerRecordedKeys()
        let failed = exclusive {
            for id in order where !dirty.contains(id) { dirty.append(id) }
            return flush()
        }
        if !failed.isEmpty { throw .patchFailed(failed.joined(separator: "; ")) }
    }

    /// One patch transaction for every dirty key (the kernel's text_poke_queue()/text_poke_finish()).
    /// Returns one message per site that did not take its key's state.
    private func flush() -> [String] {
        if getpid() != pid { resetAfterFork() } // a child made by a raw fork, clone or _Fork()
        let ids = dirty
        dirty = []
        guard !ids.isEmpty else { return [] }
        var records = ids.compactMap { keys[$0] }
        // Sites left trapped by a failed INT3 transaction are tried again at every transaction (page
        // remapping finishes them), whatever key changed.
        for address in transaction.int3.trapped.keys {
            if let owner = siteOwners[address], let record = keys[owner], !records.contains(where: { $0 === record }) { records.append(record) }
        }
        discover(records.filter { !$0.discovered })
        // Discovery may have found a conflict that sends an already-patched key back to its trampoline.
        records += dirty.compactMap { keys[$0] }.filter { r in !records.contains { $0 === r } }
        dirty = []
        guard capabilityCache?.mode == .inline else { return [] }
        // Targets out of rel32 reach of some site (functions of another image) get stubs within reach
        // first, all at once; then every site is planned with the stubs that exist.
        var needs: [(target: UInt64, text: Range<UInt64>, image: Range<UInt64>?)] = []
        for record in records where record.problem == nil {
            let state = effectiveState(of: record)
            for site in record.sites {
                guard let text = site.text else { continue }
                _ = SitePlanner.plan(state, kind: site.kind, site: site.address, trampoline: record.trampoline ?? 0, stub: { far in
                    if self.stubs.existing(far, site: site.address, text: text) == nil { needs.append((far, text, site.image)) }
                    return nil
                }, constantFunction: ConstantFunctions.address(returning:))
            }
        }
        if !needs.isEmpty { stubs.prepare(needs) }
        var writes: [PlannedWrite] = []
        for record in records {
            let state = effectiveState(of: record)
            for site in record.sites {
                let (instruction, bytes, reason) = plan(site, of: record, state: state)
                site.reason = reason
                if bytes != site.current { writes.append(PlannedWrite(site: site, new: bytes, instruction: instruction)) }
            }
        }
        guard !writes.isEmpty else { return [] }
        if sortedSitesStale {
            sortedSites = keys.values.flatMap(\.sites).sorted { $0.address < $1.address }
            sortedSitesStale = false
        }
        let failed = transaction.apply(writes, file: { address in
            self.object(containing: address)?.mappedFile ?? .failure(.refused("0x\(String(address, radix: 16)) is in no loaded object"))
        }, sites: sortedSites)
        if !failed.isEmpty {
            warn("\(failed.count) site\(failed.count == 1 ? "" : "s") did not take the update: \(failed[0])\(failed.count > 1 ? " (and \(failed.count - 1) more; see StaticCalls.report())" : "")")
        }
        return failed
    }

    /// The key's state with its target followed through pure forwarders (computed once per flush).
    private func effectiveState(of record: KeyRecord) -> KeyState {
        if case let .target(t) = record.state { return .target(followForwarders(t)) }
        return record.state
    }

    /// What `site` should hold now: the key's state inline, or the trampoline (with the reason).
    private func plan(_ site: PatchSite, of record: KeyRecord, state: KeyState) -> (SiteInstruction, [UInt8], String?) {
        let trampoline = record.trampoline ?? 0
        let original = site.originalInstruction ?? .call(trampoline)
        if let problem = record.problem { return (original, site.original, problem) }
        var (instruction, reason) = SitePlanner.plan(state, kind: site.kind, site: site.address, trampoline: trampoline, stub: { far in
            site.text.flatMap { self.stubs.existing(far, site: site.address, text: $0) }
        }, constantFunction: ConstantFunctions.address(returning:))
        if let why = reason, why.contains("stub"), let text = site.text, let refusal = stubs.refusal(for: text) {
            reason = "\(why) (\(refusal))"
        }
        guard let bytes = instruction.encode(at: site.address) else { return (original, site.original, "cannot encode \(instruction)") }
        return (instruction, bytes, reason)
    }

    // MARK: - Discovery

    /// The listed object whose text holds `address` (its cache built on first use), or nil.
    private func object(containing address: UInt64) -> ObjectCache? {
        if let hit = objects.values.first(where: { $0.info.containsExecutable(address) }) { return hit }
        guard let info = listed.first(where: { $0.containsExecutable(address) }) else { return nil }
        let cache = ObjectCache(info)
        objects[info.bias ^ UInt64(truncatingIfNeeded: info.name.hashValue)] = cache
        return cache
    }

    /// Follows a target that only forwards (`{ f($0) }` compiles to `jmp f` in -O) to where it goes.
    /// Never past a forwarder whose jump is one of our sites: that jump's bytes change with its own key,
    /// so a site patched past it would keep calling that key's old state. Such a chain ends at the
    /// forwarder itself, whose jump is then always current. (The original jump of a site not yet known
    /// goes to its trampoline, which is not a forwarder: chains discovered later are safe as well.)
    /// Remembered per target (every flush plans every dirty key).
    private func followForwarders(_ target: UInt64) -> UInt64 {
        if let known = forwarders[target] { return known }
        var t = target
        for _ in 0..<4 {
            // A forwarder's jump is within its first 14 bytes (endbr64, push/mov/pop frame, jmp).
            if (t..<(t + 16)).contains(where: { siteOwners[$0] != nil }) { break }
            guard let cache = object(containing: t), let bytes = cache.functionBytes(startingAt: t),
                  let next = SiteDiscovery.forwardedTarget(bytes, at: t, allowSingleCall: false),
                  object(containing: next) != nil else { break }
            t = next
        }
        forwarders[target] = t
        return t
    }

    /// An instrumented build (sanitizers, coverage) or an unoptimized one adds calls to the thunk and to
    /// the key's forwarder, so following jumps can end at the forwarder, or nowhere. A function with more
    /// than one direct branch target is checked against the symbol table (read only then): the
    /// trampoline is the one function among it and its targets whose symbol is this key's trampoline.
    /// Without such a symbol (a stripped file) the function found is kept, or nil.
    private func trampolineBySymbol(from function: UInt64, of record: KeyRecord) -> UInt64? {
        guard let object = object(containing: function), let bytes = object.functionBytes(startingAt: function) else {
            return function == record.trampolineThunk ? nil : function
        }
        let targets = SiteDiscovery.directBranchTargets(bytes, at: function) ?? []
        let plain = function != record.trampolineThunk
        guard targets.count > 1 || !plain else { return function }
        if let found = TrampolineSymbol.trampoline(of: record.name, among: targets.union([function]), symbolsAt: { object.trampolineSymbols[$0] ?? [] }) {
            return found
        }
        if plain { return function }
        // The thunk itself is instrumented: its targets may be the (instrumented) forwarder. One level more.
        var found: Set<UInt64> = []
        for target in targets {
            guard let owner = self.object(containing: target), let body = owner.functionBytes(startingAt: target),
                  let next = SiteDiscovery.directBranchTargets(body, at: target),
                  let t = TrampolineSymbol.trampoline(of: record.name, among: next, symbolsAt: { owner.trampolineSymbols[$0] ?? [] }) else { continue }
            found.insert(t)
        }
        return found.count == 1 ? found.first : nil
    }

    private func discover(_ records: [KeyRecord]) {
        guard Engine.isBuilt else { // nothing to find: the mode's reason says why
            for record in records { record.discovered = true }
            return
        }
        var byObject: [ObjectIdentifier: (ObjectCache, [KeyRecord])] = [:]
        for record in records {
            record.discovered = true
            guard let thunkObject = object(containing: record.trampolineThunk),
                  let thunk = thunkObject.functionBytes(startingAt: record.trampolineThunk) else {
                record.problem = "the trampoline thunk 0x\(String(record.trampolineThunk, radix: 16)) is not a known function"
                continue
            }
            // -O: the thunk is `jmp trampoline`; -Onone: its only direct call is to the trampoline.
            // The optimizer may route the thunk through the public forwarder (`jmp f` where f is `jmp
            // trampoline`): follow pure forwarders to the function that is not one.
            let forwarded = SiteDiscovery.forwardedTarget(thunk, at: record.trampolineThunk, allowSingleCall: true)
                .map { trampolineBySymbol(from: followForwarders($0), of: record) }
                ?? trampolineBySymbol(from: record.trampolineThunk, of: record)
            guard let trampoline = forwarded,
                  let object = object(containing: trampoline), object.functionBytes(startingAt: trampoline) != nil else {
                let targets = SiteDiscovery.directBranchTargets(thunk, at: record.trampolineThunk) ?? []
                let specialized = targets.contains { target in
                    (thunkObject.trampolineSymbols[target] ?? []).contains {
                        TrampolineSymbol.specializedTrampoline($0).map { TrampolineSymbol.symbol($0, canBelongTo: record.name) } ?? false
                    }
                }
                record.problem = specialized
                    ? "the optimizer specialized its trampoline (as for an existential parameter not written with `any`): "
                        + "its call sites call a copy with another signature, which no target of the key has"
                    : "could not find the trampoline from its thunk at 0x\(String(record.trampolineThunk, radix: 16)) "
                        + "(not a plain jump, as in an instrumented build, and no single target of it has a trampoline's symbol: a stripped file?)"
                continue
            }
            // Two keys resolving to one trampoline means the optimizer merged their slow paths: no site
            // of it could be patched for one key without breaking the other. Both stay indirect.
            if let owner = trampolineOwners[trampoline], owner != record.id, let other = keys[owner] {
                record.problem = "its trampoline 0x\(String(trampoline, radix: 16)) is shared with \(other.name) (merged by the optimizer)"
                if other.problem == nil {
                    other.problem = "its trampoline 0x\(String(trampoline, radix: 16)) is shared with \(record.name) (merged by the optimizer)"
                    if !dirty.contains(owner) { dirty.append(owner) }
                }
                continue
            }
            trampolineOwners[trampoline] = record.id
            record.trampoline = trampoline
            record.thunkRange = thunkObject.function(containing: record.trampolineThunk)
            let key = ObjectIdentifier(object)
            byObject[key, default: (object, [])].1.append(record)
        }
        // Direct calls never cross objects (those go through the PLT), so each trampoline's sites are
        // in its own object: one scan per object for all its new keys.
        for (_, (object, group)) in byObject {
            let byTrampoline = Dictionary(grouping: group, by: { $0.trampoline! })
            for (candidate, proof) in object.discover(trampolines: Array(byTrampoline.keys)) {
                guard let record = byTrampoline[candidate.trampoline]?.first else { continue }
                if let owner = siteOwners[candidate.address], owner != record.id { continue }
                // The registration thunk's own jump is not a call site of the program.
                if record.thunkRange?.contains(candidate.address) == true { continue }
                switch proof {
                case .proven:
                    let bytes = readText(at: candidate.address, count: 5)
                    record.sites.append(PatchSite(address: candidate.address, kind: candidate.kind, original: bytes,
                                                  text: object.info.executableRange, image: object.info.loadedRange))
                    siteOwners[candidate.address] = record.id
                    transaction.int3.knownSitesStale = true
                    sortedSitesStale = true
                    forwarders = [:] // a remembered chain may end past this new site
                case let .unproven(reason):
                    record.unproven.append((candidate.address, reason))
                    debugLog("\(record.name): candidate 0x\(String(candidate.address, radix: 16)) not proven: \(reason)")
                }
            }
            for record in group {
                debugLog("\(record.name): trampoline 0x\(String(record.trampoline!, radix: 16)) in \(object.displayName): \(record.sites.count) sites proven, \(record.unproven.count) unproven")
            }
        }
    }

    // MARK: - Report

    func report() -> StaticCallReport {
        let capability = self.capability
        return exclusive {
            let entries = order.compactMap { keys[$0] }.map { record -> StaticCallReport.Key in
                let target: String
                switch record.state {
                case let .target(t) where t == record.defaultTarget: target = "<default body>"
                case let .target(t):
                    let followed = followForwarders(t)
                    target = Symbolizer.name(of: followed, in: object(containing: followed))
                case .disabled: target = "<disabled>"
                case let .constant(bits, width): target = "<constant \(Self.render(bits, width))>"
                }
                let inline = capability.mode == .inline && record.problem == nil
                var patched: [UInt] = []
                var unpatched: [(address: UInt, reason: String)] = []
                let state = effectiveState(of: record)
                for site in record.sites {
                    let (_, planned, reason) = plan(site, of: record, state: state)
                    if inline && reason == nil && site.reason == nil && site.current == planned {
                        patched.append(UInt(site.address))
                    } else {
                        let why = site.reason ?? reason ?? record.problem
                            ?? (capability.mode == .indirect ? "indirect mode: \(capability.reason ?? "inline patching unavailable")" : "not yet patched")
                        unpatched.append((UInt(site.address), why))
                    }
                }
                unpatched += record.unproven.map { (UInt($0.address), $0.reason) }
                return StaticCallReport.Key(
                    name: record.name, target: target, mode: inline ? .inline : .indirect,
                    sitesFound: record.sites.count + record.unproven.count, sitesPatched: patched.count, patchedSites: patched,
                    unpatched: unpatched, updates: record.updates,
                    slowPathCalls: Int(record.storage.pointee._slowPathCalls.load(ordering: .relaxed)),
                    problem: record.problem, notes: record.notes)
            }
            return StaticCallReport(keys: entries, mode: capability.mode, reason: capability.reason,
                                    writer: capability.writer,
                                    emulatedTraps: TrapHandler.emulatedTraps, lateTraps: TrapHandler.lateTraps)
        }
    }

    static func render(_ bits: UInt64, _ width: ConstantWidth) -> String {
        switch width {
        case .bits8: return String(Int8(truncatingIfNeeded: bits))
        case .bits16: return String(Int16(truncatingIfNeeded: bits))
        case .bits32: return String(Int32(truncatingIfNeeded: bits))
        case .bits64: return String(Int64(bitPattern: bits))
        }
    }
}

/// A change a thread asked for inside `StaticCalls.batch`, applied when its batch ends.
struct PendingChange {
    enum Change {
        case state(KeyState)
        case count(ProcessRuntime.StaticKeyOperation)
        case setCount(Int)
    }
    let record: KeyRecord
    let change: Change
    var storage: UnsafePointer<StaticCallStorage> { record.storage }
}

