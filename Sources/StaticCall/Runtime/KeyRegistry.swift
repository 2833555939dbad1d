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
internal import MachineCode
import Synchronization

/// This copy of StaticCall's runtime: the registry of keys and their states, and the patcher that brings
/// their sites to those states (the kernel's static_call core). `ProcessRuntime` sends every call here
/// when this copy serves the process; `StaticCallRuntime` is only the entry points of generated code.
/// Every method does its work under `lock` (a batch's closure and the calls of key records run outside
/// it); calls through trampolines never take it.
final class KeyRegistry: @unchecked Sendable {
    static let shared: KeyRegistry = {
        // Marked from before the stored properties' initializers run: see ProcessRuntime.server.
        ProcessLifecycle.initializing { KeyRegistry() }
    }()

    /// `shared`, for the entry points other copies of StaticCall call (they reach this copy without its
    /// `ProcessRuntime.server`): checked the same way.
    static var served: KeyRegistry {
        ProcessRuntime.stopIfInitializing()
        return shared
    }

    let lock = UpdateLock()
    private var keys: [UInt: KeyRecord] = [:]
    private var order: [UInt] = []
    /// The loaded objects, and which key owns each site and trampoline (brought up to date at every entry).
    private let registry = SiteRegistry()
    /// What this process can do: decided at the runtime's first entry (`exclusive`), then fixed.
    private var decided: Capability?
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
    private var dirty: [UInt] = []

    private init() {
        ProcessLifecycle.watchExit() // after main() began: exit() then runs it before the loader's destructors
        // fork(): the child must find the lock free and (Linux) re-register for membarrier (a new mm).
        // Children made without fork handlers are caught by the pid check in flush().
        pthread_atfork(
            { KeyRegistry.shared.lock.lock() },
            { KeyRegistry.shared.lock.unlock() },
            {
                let runtime = KeyRegistry.shared
                runtime.lock.reinitializeInChild()
                runtime.busyThread.store(0, ordering: .relaxed)
                runtime.resetAfterFork()
            })
    }

    // MARK: - Capability

    /// What this process can do (the mode, and how text is written).
    /// The first read (before any other entry) is the runtime's first entry, which probes; every later
    /// read is a plain read of the decided value, with no refresh of the objects and no transaction.
    var capability: Capability {
        // `decided` is written once, before this flag is set: reading it after an acquiring load of the
        // flag races with no write. (An atomic flag, not a lock: a fork never finds it held.)
        if isDecided.load(ordering: .acquiring) { return decided! }
        return exclusive { decided! }
    }
    private let isDecided = Atomic<Bool>(false)

    /// Probes once, at the first entry, with the loader's list up to date.
    private func decideCapability() {
        let c = Capability.probe(transaction) { registry.object(containing: $0) }
        decided = c
        isDecided.store(true, ordering: .releasing)
        debugLog(c.logLine)
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
            if decided == nil { decideCapability() }
            return body()
        }
    }

    // MARK: - Objects (the kernel's static_call_add_module/del)

    /// Brings the registry's list of objects up to date. After an unload, everything that lived in an
    /// object no longer listed is forgotten (a reloaded object is a new object: its keys' storage reads 0
    /// again, and its text and unwind tables may differ), and keys whose target was there go back to
    /// their default.
    private func refreshObjects() {
        let refresh = registry.refresh()
        guard refresh.changed else { return }
        stubs.objectsChanged()
        if refresh.unloaded { forget(gone: refresh.gone) }
    }

    /// An image holding a copy of StaticCall is being unloaded (its destructor runs before the loader
    /// unmaps it): its keys and sites are forgotten and keys whose target is in it are moved off it now,
    /// while its code is still mapped. Nothing happens during exit().
    func imageUnloading(anchor: UInt64) {
        guard !ProcessLifecycle.isExiting else { return }
        exclusive {
            guard let info = registry.unloading(anchor: anchor) else { return }
            forget(gone: [info])
        }
    }

    /// Drops every key whose storage is in no listed object any more (or reads 0: its object was
    /// unloaded and loaded again), with its sites; sends keys whose target was in `gone` back to their
    /// default target, with a note in the report; patches what changed.
    private func forget(gone: [LoadedObjectInfo]) {
        var forgottenSites: [UInt64] = []
        for id in order {
            guard let record = keys[id] else { continue }
            let alive: Bool
            if let home = record.home {
                // The word is read only once the object is known to be listed (the loader is locked).
                alive = registry.listed.contains(home) && record.storage.pointee._word.load(ordering: .relaxed) != 0
            } else {
                alive = true // storage outside every object (never seen in practice): kept
            }
            guard !alive else { continue }
            debugLog("forgetting \(record.name): \(record.home?.name ?? "its object") was unloaded")
            keys[id] = nil
            dirty.removeAll { $0 == id }
            forgottenSites += registry.release(record)
        }
        order.removeAll { keys[$0] == nil }
        if !forgottenSites.isEmpty {
            transaction.int3.forget(forgottenSites, allSites: registry.sites.map(\.address))
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
        exclusive {
            let id = UInt(bitPattern: storage)
            if let known = keys[id] {
                // A word of 0 under a known record: its object was unloaded and loaded again at the same
                // address between two entries (the refresh dropped it unless the word says otherwise).
                guard known.storage.pointee._word.load(ordering: .acquiring) == 0 else { return }
                let stale = registry.release(known)
                if !stale.isEmpty { transaction.int3.forget(stale, allSites: registry.sites.map(\.address)) }
                keys[id] = nil
                order.removeAll { $0 == id }
            }
            let record = KeyRecord(storage: storage, name: name, trampolineThunk: trampolineThunk,
                                   defaultTarget: defaultTarget, capabilities: capabilities)
            record.home = registry.home(of: UInt64(UInt(bitPattern: storage)))
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
        func isOwn(_ a: UInt64) -> Bool { a == record.trampoline || registry.hasSite(of: record.id, near: a) }
        let end = registry.followForwarders(t)
        return isOwn(t) || isOwn(end) || registry.isInstrumentedForwarder(end, of: record)
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
        case let .constant(_, width) where record.capabilities.constantWidth?.machine != width:
            warn("\(record.name) cannot return a constant of \(width.rawValue) bits: the update was ignored")
            return false
        case let .target(t) where callsItself(record, t):
            warn("\(record.name) cannot target its own trampoline (it would call itself): the update was ignored")
            return false
        case let .target(t) where registry.isUnloadedText(t):
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
        // The target followed through pure forwarders, as patched sites call it: the trampoline's jump
        // (indirect mode, unpatched sites) then lands on the function itself, not on a closure thunk that
        // jumps to a default body that jumps to it (`SiteRegistry.followForwarders` says why that is
        // always the same function).
        // Only while this copy serves the process: a copy running alone beside another (incompatible)
        // one does not know that one's sites, and could follow past a jump it patches.
        let follows = ProcessRuntime.incompatibility == nil
        let word = record.word(statistics: Environment.statistics) { follows ? self.registry.followForwarders($0) : $0 }
        record.storage.pointee._word.store(word, ordering: .releasing)
        publishEntry(record, word: word)
    }

    /// The trampoline's jump follows the word: after it, so that a trampoline that jumps to the slow path
    /// finds the new word there (the kernel's generic static_call_update() writes key.func alone).
    private func publishEntry(_ record: KeyRecord, word: UInt) {
        guard let entry = record.entry else { return }
        // Only a change is stored: this runtime is the entry's only writer (under the lock), and a debug
        // build, which counts calls, then writes it once, at registration (fewer stores for a thread
        // sanitizer to pair with the trampoline's plain read).
        let value = KeyRecord.entryWord(for: word, slowPath: record.slowPath)
        if entry.pointee != value { cstaticcall_store_release(entry, value) }
    }

    /// Takes over a key's trampoline jump (`StaticCallRuntime.register(_:entry:slowPath:)`), and sets it at once.
    func setEntry(_ storage: UnsafePointer<StaticCallStorage>, entry: UnsafeMutablePointer<UInt>, slowPath: UInt) {
        exclusive {
            guard let record = keys[UInt(bitPattern: storage)] else { return }
            record.entry = entry
            record.slowPath = slowPath
            publishEntry(record, word: storage.pointee._word.load(ordering: .acquiring))
        }
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
            if let owner = registry.owner(ofSite: address), let record = keys[owner], !records.contains(where: { $0 === record }) { records.append(record) }
        }
        discover(records.filter { !$0.discovered })
        // Discovery may have found a conflict that sends an already-patched key back to its trampoline.
        records += dirty.compactMap { keys[$0] }.filter { r in !records.contains { $0 === r } }
        dirty = []
        guard decided?.mode == .inline else {
            for record in records {
                for site in record.sites { site.status = .onTrampoline(record.problem == nil ? .indirectMode : .keyProblem) }
            }
            return []
        }
        // Every site goes to the transaction, those whose bytes do not change too: it checks each one's
        // live bytes, so that a site someone else wrote since (another patcher, a debugger's breakpoint)
        // is neither counted as holding its state nor written over.
        var writes: [PlannedWrite] = []
        writes.reserveCapacity(records.reduce(0) { $0 + $1.sites.count })
        // Targets out of rel32 reach of a site (functions of another image) need far-jump stubs within
        // reach. Planning notes them; they are then made all at once and only the sites that asked are
        // planned again, with the stubs that now exist (the usual update needs none: one pass).
        var needs: [(target: UInt64, text: Range<UInt64>, image: Range<UInt64>?)] = []
        var replan: [(write: Int, record: KeyRecord, state: KeyState)] = []
        for record in records {
            let state = effectiveState(of: record)
            for site in record.sites {
                var askedForStub = false
                let (instruction, bytes, status) = plan(site, of: record, state: state) { far, text in
                    needs.append((far, text, site.image))
                    askedForStub = true
                }
                if askedForStub { replan.append((writes.count, record, state)) }
                writes.append(PlannedWrite(site: site, new: bytes, instruction: instruction, status: status))
            }
        }
        if !needs.isEmpty {
            stubs.prepare(needs)
            for (k, record, state) in replan {
                let site = writes[k].site
                let (instruction, bytes, status) = plan(site, of: record, state: state) { _, _ in }
                writes[k] = PlannedWrite(site: site, new: bytes, instruction: instruction, status: status)
            }
        }
        guard !writes.isEmpty else { return [] }
        let failed = transaction.apply(writes, file: { address in
            self.registry.object(containing: address)?.mappedFile ?? .failure(.refused("0x\(String(address, radix: 16)) is in no loaded object"))
        }, sites: registry.sites, addresses: registry.siteAddresses)
        if !failed.isEmpty {
            warn("\(failed.count) site\(failed.count == 1 ? "" : "s") did not take the update: \(failed[0])\(failed.count > 1 ? " (and \(failed.count - 1) more; see StaticCalls.report())" : "")")
        }
        return failed
    }

    /// The key's state with its target followed through pure forwarders (computed once per flush).
    private func effectiveState(of record: KeyRecord) -> KeyState {
        if case let .target(t) = record.state { return .target(registry.followForwarders(t)) }
        return record.state
    }

    /// What `site` should hold now: the key's state inline, or the trampoline (with the reason).
    /// `missingStub(target, text)` hears of each target out of the site's rel32 reach that has no
    /// far-jump stub within it yet (the site then stays on its trampoline, with the reason).
    private func plan(_ site: PatchSite, of record: KeyRecord, state: KeyState,
                      missingStub: (UInt64, Range<UInt64>) -> Void) -> (SiteInstruction, SiteBytes, SiteStatus) {
        let trampoline = record.trampoline ?? 0
        let original = site.originalInstruction ?? .call(trampoline)
        if record.problem != nil { return (original, site.original, .onTrampoline(.keyProblem)) }
        var stubMissing = false // the planner asked for a far-jump stub that does not exist
        var (instruction, reason) = SitePlanner.plan(state, kind: site.kind, site: site.address, trampoline: trampoline,
                                                     branch: site.branch, stub: { far in
            guard let text = site.text else { return nil }
            let stub = self.stubs.existing(far, site: site.address, text: text)
            if stub == nil {
                stubMissing = true
                missingStub(far, text)
            }
            return stub
        }, constantFunction: ConstantFunctions.address(returning:))
        if let why = reason, stubMissing, let text = site.text, let refusal = stubs.refusal(for: text) {
            reason = "\(why) (\(refusal))"
        }
        guard let bytes = instruction.encode(at: site.address) else {
            return (original, site.original, .onTrampoline(.cannotEncode("\(instruction)")))
        }
        return (instruction, bytes, reason.map { .onTrampoline(.planner($0)) } ?? .inline)
    }

    // MARK: - Discovery

    /// Finds the records' trampolines and sites (`SiteRegistry.discover`). A conflict found there sends
    /// another key back to its trampoline at the next flush; in indirect mode the new sites say so.
    private func discover(_ records: [KeyRecord]) {
        let found = registry.discover(records, owner: { keys[$0] })
        for id in found.sentBack where !dirty.contains(id) { dirty.append(id) }
        guard found.foundSites else { return }
        transaction.int3.knownSitesStale = true
        if decided?.mode != .inline {
            for record in records { for site in record.sites where site.status == .onTrampoline(.notYetPatched) { site.status = .onTrampoline(.indirectMode) } }
        }
    }

    // MARK: - Report

    /// The state of every key and site, as the last transactions left them (`ReportBuilder`).
    func report() -> StaticCallReport {
        exclusive {
            ReportBuilder.report(order.compactMap { keys[$0] }, capability: decided!) { t in
                let followed = registry.followForwarders(t)
                return Symbolizer.name(of: followed, in: registry.object(containing: followed))
            }
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

