import CStaticCall
internal import MachineCode

/// The copy of StaticCall that serves this process: the analogue, for images, of the kernel having
/// exactly one static_call core however many modules use it.
///
/// Every image that links StaticCall statically (an executable, each `.dynamic` library product, each
/// plugin) carries its own copy of this module. The first copy to be used publishes a table of plain C
/// entry points (`cstaticcall_runtime_v1`, Images.c) in a process-wide slot (`cstaticcall_process_runtime_v1`,
/// a `STB_GNU_UNIQUE` symbol, so the dynamic linker gives every image the same one) from its image's
/// constructor, and every later copy calls through that table
/// instead of starting a runtime of its own, as language runtimes do with their versioned rendezvous
/// symbols. So one registry, one update lock and one SIGTRAP handler serve every key in the process,
/// `report()` lists them all, and the serving image is pinned (`RTLD_NODELETE`) so that it outlives
/// every key. A copy that finds a table of another ABI version cannot share it: it runs its own keys in
/// indirect mode (it never writes text that the other runtime may be patching) and says why.
enum ProcessRuntime {
    enum Server {
        /// This copy serves the process (or runs alone in indirect mode: see `incompatibility`).
        case local
        /// Another copy does: every call goes through its table.
        case remote(UnsafePointer<cstaticcall_runtime_v1>)
    }

    // Set once, before any use (a lazy global's initialiser runs exactly once); read-only afterwards.
    nonisolated(unsafe) private static let claimed: Server = claim()

    /// Who serves this process. Every entry point starts here: a signal handler that interrupted this
    /// thread inside one of the one-time initializers (this one, `KeyRegistry.shared`) is stopped with a
    /// message rather than left waiting for itself (the initializer marks its thread in C).
    static var server: Server {
        stopIfInitializing()
        return claimed
    }

    /// Stops (with the re-entry message) a signal handler that interrupted this thread inside one of this
    /// copy's one-time initializers; also the first thing every entry point other copies call does.
    static func stopIfInitializing() {
        if ProcessLifecycle.isInitializingOnThisThread { KeyRegistry.stopReentered() }
    }
    /// Why this copy's keys run in indirect mode on their own, if another copy's ABI differs.
    nonisolated(unsafe) static var incompatibility: String? {
        if case .local = server { return incompatibilityReason }
        return nil
    }
    nonisolated(unsafe) private static var incompatibilityReason: String?

    /// The image's constructor (Images.c) has already claimed the slot unless another copy was first.
    private static func claim() -> Server {
        ProcessLifecycle.initializing(claimMarked)
    }

    private static func claimMarked() -> Server {
        guard let mine = RuntimeSlot.own, let winner = RuntimeSlot.claim(mine), winner != mine else {
            ProcessLifecycle.watchExit() // now, after main() began: see Images.c
            return .local
        }
        let table = winner.pointee
        let layout = table.abi == UInt32(CSTATICCALL_RUNTIME_ABI) && Int(table.size) >= requiredTableSize
            ? (Int(table.storage_size), Int(table.word_encoding)) : nil
        if let reason = refusal(abi: table.abi, size: Int(table.size), version: table.version.map { String(cString: $0) },
                                storage: layout) {
            debugLog(reason)
            incompatibilityReason = reason
            return .local
        }
        return .remote(winner)
    }

    /// The least of the table this copy needs: everything up to `set_entry` (0.5.0), which it can do
    /// without (a key whose entry is never handed over stays on the slow path, which is always right).
    static let requiredTableSize = MemoryLayout<cstaticcall_runtime_v1>.offset(of: \.set_entry)!

    /// Whether the serving table has `set_entry`.
    static func hasSetEntry(_ table: UnsafePointer<cstaticcall_runtime_v1>) -> Bool {
        Int(table.pointee.size) >= requiredTableSize + MemoryLayout<UInt>.size
    }

    /// Why a table published by another copy cannot be used by this one, or nil (pure: unit-tested).
    static func refusal(abi: UInt32, size: Int, version: String?, storage: (size: Int, encoding: Int)? = nil) -> String? {
        if abi != UInt32(CSTATICCALL_RUNTIME_ABI) {
            return "another copy of StaticCall (\(version ?? "unknown version"), runtime ABI \(abi)) serves this process and this copy speaks ABI \(CSTATICCALL_RUNTIME_ABI): this copy's keys stay on their trampolines"
        }
        if size < requiredTableSize {
            return "another copy of StaticCall (\(version ?? "unknown version")) serves this process with an older table (\(size) bytes, this copy needs \(requiredTableSize)): this copy's keys stay on their trampolines"
        }
        if let storage, storage.size != MemoryLayout<StaticCallStorage>.size || storage.encoding != Int(CSTATICCALL_WORD_ENCODING) {
            return "another copy of StaticCall (\(version ?? "unknown version")) serves this process with another key layout (storage \(storage.size) bytes, word encoding \(storage.encoding); this copy: \(MemoryLayout<StaticCallStorage>.size), \(CSTATICCALL_WORD_ENCODING)): this copy's keys stay on their trampolines"
        }
        return nil
    }

    // MARK: - The entry points, local or remote


    static func register(_ storage: UnsafePointer<StaticCallStorage>, name: String, trampolineThunk: UInt64,
                         defaultTarget: UInt64, capabilities: StaticCallCapabilities, initialState: KeyState? = nil) {
        switch server {
        case .local:
            KeyRegistry.shared.register(storage, name: name, trampolineThunk: trampolineThunk, defaultTarget: defaultTarget,
                                    capabilities: capabilities, initialState: initialState)
        case let .remote(table):
            name.withCString { cName in
                if var state = initialState.map(Self.wire) {
                    table.pointee.register_key(storage, cName, trampolineThunk, defaultTarget, capabilities.canDisable ? 1 : 0,
                                               UInt32(capabilities.constantWidth?.rawValue ?? 0), &state)
                } else {
                    table.pointee.register_key(storage, cName, trampolineThunk, defaultTarget, capabilities.canDisable ? 1 : 0,
                                               UInt32(capabilities.constantWidth?.rawValue ?? 0), nil)
                }
            }
        }
    }

    static func setEntry(_ storage: UnsafePointer<StaticCallStorage>, entry: UnsafeMutablePointer<UInt>, slowPath: UInt) {
        switch server {
        case .local: KeyRegistry.shared.setEntry(storage, entry: entry, slowPath: slowPath)
        case let .remote(table):
            // A 0.4.0 table has no set_entry: the entry then stays on the slow path.
            if hasSetEntry(table) { table.pointee.set_entry(storage, entry, UInt64(slowPath)) }
        }
    }

    static func setState(_ storage: UnsafePointer<StaticCallStorage>, _ state: KeyState) {
        switch server {
        case .local: KeyRegistry.shared.setState(storage, state)
        case let .remote(table): table.pointee.set_state(storage, wire(state))
        }
    }

    enum StaticKeyOperation: Int32 {
        case disable = 0, enable = 1, increment = 2, decrement = 3

        /// The new count, and what was wrong with the change if the key's users disagree (pure).
        func apply(_ count: Int) -> (count: Int, problem: String?) {
            switch self {
            case .disable:
                return (0, count > 1 ? "assigned false (disable()) while \(count) counted enables were held: they were dropped" : nil)
            case .enable:
                return (max(count, 1), nil)
            case .increment:
                return (count + 1, nil)
            case .decrement:
                return count > 0 ? (count - 1, nil) : (0, "decrement() at a count of 0 (more decrement() than increment() calls, or the key was assigned meanwhile): it stays 0")
            }
        }
    }

    @discardableResult
    static func adjustStaticKey(_ storage: UnsafePointer<StaticCallStorage>, _ operation: StaticKeyOperation) -> Int {
        switch server {
        case .local: return KeyRegistry.shared.adjustStaticKey(storage, operation)
        case let .remote(table): return Int(table.pointee.adjust_static_key(storage, operation.rawValue))
        }
    }

    static func setStaticKeyCount(_ storage: UnsafePointer<StaticCallStorage>, _ count: Int) {
        switch server {
        case .local: KeyRegistry.shared.setStaticKeyCount(storage, count)
        case let .remote(table): table.pointee.set_static_key_count(storage, Int64(count))
        }
    }

    static func staticKeyCount(_ storage: UnsafePointer<StaticCallStorage>) -> Int {
        switch server {
        case .local: return KeyRegistry.shared.staticKeyCount(storage)
        case let .remote(table): return Int(table.pointee.static_key_count(storage))
        }
    }

    static func state(of storage: UnsafePointer<StaticCallStorage>) -> KeyState? {
        switch server {
        case .local: return KeyRegistry.shared.state(of: storage)
        case let .remote(table):
            var state = cstaticcall_state()
            return table.pointee.query_state(storage, &state) == 1 ? keyState(state) : nil
        }
    }

    static func defaultTarget(of storage: UnsafePointer<StaticCallStorage>) -> UInt64? {
        switch server {
        case .local: return KeyRegistry.shared.defaultTarget(of: storage)
        case let .remote(table):
            var target: UInt64 = 0
            return table.pointee.default_target(storage, &target) == 1 ? target : nil
        }
    }

    static func batch<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        switch server {
        case .local:
            return try KeyRegistry.shared.batch(body)
        case let .remote(table):
            var result: Result<R, E>?
            throughTable({ table.pointee.batch($0, $1) }) { result = Result { () throws(E) -> R in try body() } }
            return try result!.get()
        }
    }

    static func unbatched(_ body: () -> Void) {
        switch server {
        case .local:
            KeyRegistry.shared.unbatched(body)
        case let .remote(table):
            throughTable({ table.pointee.unbatched($0, $1) }, body)
        }
    }

    /// Runs `body` through an entry of the serving copy's table that calls back a C function with a
    /// context (`batch`, `unbatched`).
    private static func throughTable(_ entry: (@convention(c) (UnsafeMutableRawPointer?) -> Void, UnsafeMutableRawPointer?) -> Void,
                                     _ body: () -> Void) {
        withoutActuallyEscaping(body) { run in
            let box = Callback(run)
            withExtendedLifetime(box) {
                entry({ context in Unmanaged<Callback>.fromOpaque(context!).takeUnretainedValue().run() },
                      Unmanaged.passUnretained(box).toOpaque())
            }
        }
    }

    static func patchAll() throws(StaticCallError) {
        switch server {
        case .local: try KeyRegistry.shared.patchAll()
        case let .remote(table):
            var failure: String?
            withUnsafeMutablePointer(to: &failure) { out in
                table.pointee.patch_all({ context, message in
                    context!.assumingMemoryBound(to: String?.self).pointee = String(cString: message!)
                }, out)
            }
            if let failure { throw .patchFailed(failure) }
        }
    }

    static func report() -> StaticCallReport {
        switch server {
        case .local: return KeyRegistry.shared.report()
        case let .remote(table):
            var report: StaticCallReport?
            withUnsafeMutablePointer(to: &report) { out in
                table.pointee.report({ context, bytes, count in
                    context!.assumingMemoryBound(to: StaticCallReport?.self).pointee =
                        ReportWire.decode(UnsafeRawBufferPointer(start: bytes, count: count))
                }, out)
            }
            return report ?? StaticCallReport(keys: [], mode: .indirect, reason: "the report of the copy of StaticCall that serves this process could not be read",
                                              writer: nil, emulatedTraps: 0, lateTraps: 0)
        }
    }

    static var mode: StaticCallMode {
        switch server {
        case .local: return KeyRegistry.shared.capability.mode
        case let .remote(table): return table.pointee.mode() == 0 ? .inline : .indirect
        }
    }

    // MARK: - This copy's table

    final class Callback {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    static func wire(_ state: KeyState) -> cstaticcall_state {
        switch state {
        case let .target(t): return cstaticcall_state(kind: 0, width: 0, bits: t)
        case .disabled: return cstaticcall_state(kind: 1, width: 0, bits: 0)
        case let .constant(bits, width): return cstaticcall_state(kind: 2, width: UInt32(width.rawValue), bits: bits)
        }
    }

    static func keyState(_ state: cstaticcall_state) -> KeyState? {
        switch state.kind {
        case 0: return .target(state.bits)
        case 1: return .disabled
        case 2: return ConstantWidth(rawValue: Int(state.width)).map { .constant(state.bits, $0) }
        default: return nil
        }
    }

    static func storage(_ p: UnsafeRawPointer?) -> UnsafePointer<StaticCallStorage> {
        p!.assumingMemoryBound(to: StaticCallStorage.self)
    }
}
