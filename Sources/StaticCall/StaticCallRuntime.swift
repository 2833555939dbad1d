import CStaticCall
internal import MachineCode

/// The low-level API that `@StaticCall` and `@StaticKey` expansions call. Use the macros instead; this is
/// documented so that the expansions are readable and so that tests can declare keys by hand.
///
/// A key is identified by the address of its `StaticCallStorage` global. Function values cross this API
/// as addresses of `@convention(thin)` functions: generated code converts a closure literal with a
/// per-key `@inline(never)` helper (the only conversion shape that avoids the compiler crash in
/// ARCHITECTURE.md, LoadableByAddress compiler crash).
///
/// The shape of an expansion, for `@StaticCall func scale(_ x: Int) -> Int { x &* 3 }` (abbreviated; the
/// exact text is in Tests/StaticCallMacrosTests):
///
/// ```swift
/// func scale(_ x: Int) -> Int { _staticcallTrampoline_scale(x) }      // forwarder, inlined by -O
///
/// @_silgen_name("__dtrace_staticcall_scale_<hash>")                   // see below
/// @inline(never) func _staticcallTrampoline_scale(_ a0: Int) -> Int { // every site calls this
///     #if arch(x86_64)
///     return _staticcallKey_scale.entry(a0)                           // the target, or the slow path
///     #else                                                           // (and a static method, anywhere):
///     typealias Function = @convention(thin) (Int) -> Int
///     let w = _staticcallStorage_scale.word                           // an acquire load
///     if StaticCallStorage.isDirectTarget(w) { return unsafeBitCast(w, to: Function?.self)!(a0) }
///     return _staticcallSlowPath_scale(a0)
///     #endif
/// }
/// @_silgen_name("__dtrace_staticcall_scale_<hash>_slow")
/// @inline(never) func _staticcallSlowPath_scale(_ a0: Int) -> Int {   // first call, constant, disabled
///     switch _staticcallStorage_scale.dispatch(_staticcallStorage_scale.word, register: _staticcallRegister_scale) { … }
/// }
/// func _staticcallDefault_scale(_ x: Int) -> Int { x &* 3 }           // the original body
/// let _staticcallStorage_scale = StaticCallStorage()                  // statically initialised
/// @inline(never) func _staticcallAddress_scale(_ f: @convention(thin) (Int) -> Int) -> UInt { unsafeBitCast(f, to: UInt.self) }
/// #if compiler(>=6.3) && os(Linux)                                    // read by StaticCalls.patchAll()
/// @section("staticcall_keys") @used
/// private let _staticcallRecord_scale: @convention(c) () -> Void = { _staticcallRegister_scale() }
/// #endif
/// @inline(never) func _staticcallRegister_scale() {
///     StaticCallRuntime.register(_staticcallStorage_scale, name: "scale(_:)",
///         trampolineThunk: _staticcallKey_scale.trampolineAddress(),       // { a0 in _staticcallTrampoline_scale(a0) }
///         defaultTarget: _staticcallAddress_scale({ a0 in _staticcallDefault_scale(a0) }),
///         capabilities: StaticCallCapabilities(canDisable: false, constantWidth: .bits64),
///         entry: &_staticcallKey_scale.entry,                          // kept equal to the target, or the slow path
///         slowPath: _staticcallAddress_scale({ a0 in _staticcallSlowPath_scale(a0) }))
/// }
/// struct _staticcallKey_scale: StaticCallKeyProtocol {                // update, target, state, restore, …
///     @exclusivity(unchecked) nonisolated(unsafe) static var entry: Function = { a0 in _staticcallSlowPath_scale(a0) }
///     …
/// }
/// var $scale: _staticcallKey_scale { _staticcallKey_scale() }
/// ```
///
/// `<hash>` is an FNV-1a hash of the key's name, signature, file and line, so that each declaration's
/// trampoline symbol is unique (the runtime finds a trampoline by it in instrumented builds). The symbol
/// names start with `__dtrace`: Swift's LLVM function-merging pass never merges a function that calls such
/// a symbol (its rule for patchpoints). That keeps both the trampolines of same-signature keys and the
/// callers that differ only in which key they call from being folded into one body that takes the callee
/// as a parameter, which would leave no patchable call instruction.
// @_documentation: used only by the macros' expansions (pointfree's packages hide theirs the same way).
@_documentation(visibility: internal)
public enum StaticCallRuntime {
    /// Registers a key; later calls for the same storage do nothing. The analogue of the kernel's
    /// static_call_init() for one key: its sites are discovered, proven and patched to `defaultTarget`.
    ///
    /// - Parameters:
    ///   - trampolineThunk: the address of a thunk that forwards to the trampoline (`{ _staticcallTrampoline_scale($0) }`).
    ///   - defaultTarget: the address of the default body (a thunk is fine: it is followed).
    public static func register(_ storage: borrowing StaticCallStorage, name: String, trampolineThunk: UInt,
                                defaultTarget: UInt, capabilities: StaticCallCapabilities = .init()) {
        withUnsafePointer(to: storage) {
            ProcessRuntime.register($0, name: name, trampolineThunk: UInt64(trampolineThunk),
                                    defaultTarget: UInt64(defaultTarget), capabilities: capabilities)
        }
    }

    /// Registers a static call whose trampoline jumps through `entry` (the generated key's `entry`, a
    /// `var` of the function's thin type, statically the address of `slowPath`): as `register(_:name:
    /// trampolineThunk:defaultTarget:capabilities:)`, and from then on the runtime keeps `entry` equal to
    /// the key's target while it holds a plain target, and to `slowPath` otherwise. On x86-64 the trampoline
    /// is then one load and one jump in every mode: the analogue of the kernel's generic static_call(),
    /// which calls through `key.func` (elsewhere it keeps the acquire load and test of the word).
    public static func register(_ storage: borrowing StaticCallStorage, name: String, trampolineThunk: UInt,
                                defaultTarget: UInt, capabilities: StaticCallCapabilities = .init(),
                                entry: UnsafeMutableRawPointer, slowPath: UInt) {
        register(storage, name: name, trampolineThunk: trampolineThunk, defaultTarget: defaultTarget, capabilities: capabilities)
        withUnsafePointer(to: storage) {
            ProcessRuntime.setEntry($0, entry: entry.assumingMemoryBound(to: UInt.self), slowPath: slowPath)
        }
    }

    /// Registers a static key (a `Bool` read whose call sites become immediate loads): the analogue of
    /// DEFINE_STATIC_KEY_TRUE/FALSE. Its sites are patched to load `initialValue` at once.
    public static func registerStaticKey(_ storage: borrowing StaticCallStorage, name: String, trampolineThunk: UInt,
                                         defaultTarget: UInt, initialValue: Bool) {
        withUnsafePointer(to: storage) {
            ProcessRuntime.register($0, name: name, trampolineThunk: UInt64(trampolineThunk), defaultTarget: UInt64(defaultTarget),
                                    capabilities: StaticCallCapabilities(constantWidth: .bits8),
                                    initialState: .constant(initialValue ? 1 : 0, .bits8))
        }
    }

    /// static_branch_enable() (`true`: the count becomes at least 1) and static_branch_disable() (`false`: 0).
    public static func setStaticKey(_ storage: borrowing StaticCallStorage, _ enabled: Bool) {
        _ = withUnsafePointer(to: storage) { p in ProcessRuntime.adjustStaticKey(p, enabled ? .enable : .disable) }
    }

    /// static_key_slow_inc(): enabled while the count is above zero.
    public static func incrementStaticKey(_ storage: borrowing StaticCallStorage) {
        _ = withUnsafePointer(to: storage) { p in ProcessRuntime.adjustStaticKey(p, .increment) }
    }

    /// static_key_slow_dec(): a decrement at zero stays at zero, noted in the report and warned about.
    public static func decrementStaticKey(_ storage: borrowing StaticCallStorage) {
        _ = withUnsafePointer(to: storage) { p in ProcessRuntime.adjustStaticKey(p, .decrement) }
    }

    /// static_key_count().
    public static func staticKeyCount(_ storage: borrowing StaticCallStorage) -> Int {
        withUnsafePointer(to: storage) { ProcessRuntime.staticKeyCount($0) }
    }

    /// Whether `register` has run for this storage (a relaxed check, for generated code).
    @inlinable
    public static func isRegistered(_ storage: borrowing StaticCallStorage) -> Bool { storage.word != 0 }

    /// Retargets every site at `target`. The analogue of static_call_update().
    public static func update(_ storage: borrowing StaticCallStorage, to target: UInt) {
        withUnsafePointer(to: storage) { ProcessRuntime.setState($0, .target(UInt64(target))) }
    }

    /// Turns every call site into a NOP (tail sites return at once). The analogue of static_call_update(name, NULL).
    public static func disable(_ storage: borrowing StaticCallStorage) {
        withUnsafePointer(to: storage) { ProcessRuntime.setState($0, .disabled) }
    }

    /// Makes every call site load `bits` instead of calling. The analogue of DEFINE_STATIC_CALL_RET0, generalised.
    public static func setConstant(_ storage: borrowing StaticCallStorage, bits: UInt64, width: StaticCallConstantWidth) {
        withUnsafePointer(to: storage) { ProcessRuntime.setState($0, .constant(bits, width.machine)) }
    }

    /// Back to the default target.
    public static func reset(_ storage: borrowing StaticCallStorage) {
        withUnsafePointer(to: storage) { p in
            guard let d = ProcessRuntime.defaultTarget(of: p) else { return }
            ProcessRuntime.setState(p, .target(d))
        }
    }

    /// The current state, or nil if the key is not registered. The analogue of static_call_query().
    /// (Generated code asks `if case .disabled? = StaticCallRuntime.state(storage)`.)
    public static func state(_ storage: borrowing StaticCallStorage) -> StaticCallState? {
        withUnsafePointer(to: storage) { p in
            ProcessRuntime.state(of: p).map { StaticCallState($0, defaultTarget: ProcessRuntime.defaultTarget(of: p)) }
        }
    }

    /// The current target's address, or nil when the key is disabled, constant or unregistered.
    public static func target(_ storage: borrowing StaticCallStorage) -> UInt? {
        guard case let .target(t)? = withUnsafePointer(to: storage, { ProcessRuntime.state(of: $0) }) else { return nil }
        return UInt(t)
    }

    // MARK: - State, restore, and targets in every state

    /// `$f.state`: the key's state as a value (the default body for a key never registered).
    public static func callState(_ storage: borrowing StaticCallStorage) -> StaticCallState {
        withUnsafePointer(to: storage) { p in
            guard let state = ProcessRuntime.state(of: p) else { return .defaultBody }
            return StaticCallState(state, defaultTarget: ProcessRuntime.defaultTarget(of: p))
        }
    }

    /// `$f.restore(_:)`: gives the key back `state` exactly. Does nothing for a key not registered (the
    /// generated `restore` registers it first).
    public static func restore(_ storage: borrowing StaticCallStorage, _ state: StaticCallState) {
        withUnsafePointer(to: storage) { p in
            guard let d = ProcessRuntime.defaultTarget(of: p) else { return }
            ProcessRuntime.setState(p, state.keyState(defaultTarget: d))
        }
    }

    /// `$f.target`: a function that behaves as the key does now, in every state, and that `update(to:)`
    /// turns back into that state: the current target; while disabled, a function that does nothing;
    /// while constant, a function that returns the constant (`thunk`, the trampoline's thunk, if none can be made: it
    /// behaves the same, but cannot be restored with `update(to:)`). The analogue of static_call_query().
    public static func currentFunction(_ storage: borrowing StaticCallStorage, trampolineThunk thunk: UInt) -> UInt {
        switch withUnsafePointer(to: storage, { ProcessRuntime.state(of: $0) }) {
        case let .target(t)?: return UInt(t)
        case .disabled?: return ShimFunctions.disabledTarget
        case let .constant(bits, _)?: return ConstantFunctions.address(returning: bits).map { UInt($0) } ?? thunk
        case nil: return thunk
        }
    }

    /// `update(_:)` with a target read from `$f.target`: the functions that stand for the disabled and
    /// constant states give those states back; the key's own trampoline (which would call itself) is
    /// refused with a warning. Any other target is retargeted to.
    public static func update(_ storage: borrowing StaticCallStorage, to target: UInt, trampolineThunk thunk: UInt,
                              capabilities: StaticCallCapabilities) {
        guard let state = keyState(for: target, thunk: thunk, capabilities: capabilities) else {
            warn("an update to a key's own trampoline (its target read while it held a constant no function could be made for) was ignored: it would call itself")
            return
        }
        withUnsafePointer(to: storage) { ProcessRuntime.setState($0, state) }
    }

    /// The state a target stands for (see `update(_:to:trampolineThunk:capabilities:)`); nil for the key's own
    /// trampoline, which stands for no change.
    private static func keyState(for target: UInt, thunk: UInt, capabilities: StaticCallCapabilities) -> KeyState? {
        let t = UInt64(target)
        if target == thunk { return nil }
        if capabilities.canDisable, target == ShimFunctions.disabledTarget { return .disabled }
        if let width = capabilities.constantWidth, let bits = ConstantFunctions.value(returnedBy: t) { return .constant(bits, width.machine) }
        return .target(t)
    }

    /// `$flag.state`: the static key's count (the initial value's for a key never registered).
    public static func staticKeyState(_ storage: borrowing StaticCallStorage, initialValue: Bool) -> StaticKeyState {
        withUnsafePointer(to: storage) { p in
            guard ProcessRuntime.state(of: p) != nil else { return StaticKeyState(initialValue) }
            return StaticKeyState(count: ProcessRuntime.staticKeyCount(p))
        }
    }

    /// `$flag.restore(_:)`: gives the static key back its count exactly. The key must be registered (the
    /// generated `restore` registers it first).
    public static func restoreStaticKey(_ storage: borrowing StaticCallStorage, _ state: StaticKeyState) {
        withUnsafePointer(to: storage) { ProcessRuntime.setStaticKeyCount($0, state.count) }
    }

    /// Runs `body` with the calling thread's updates applied at once, even inside `StaticCalls.batch`:
    /// what scoped overrides (`withTarget`, `withValue`, test traits) use, so that an override is in
    /// effect while its scope runs and gone when the scope ends.
    public static func applyingAtOnce(_ body: () -> Void) {
        ProcessRuntime.unbatched(body)
    }

    /// The key's identity within the process: the address of its storage.
    public static func identity(_ storage: borrowing StaticCallStorage) -> UInt {
        withUnsafePointer(to: storage) { UInt(bitPattern: $0) }
    }

    /// The state `update(to: target)` gives a key (see there), without changing it. The key's own
    /// trampoline stands for no change: the key's current state.
    public static func state(_ storage: borrowing StaticCallStorage, targeting target: UInt, trampolineThunk thunk: UInt,
                             capabilities: StaticCallCapabilities) -> StaticCallState {
        guard let state = keyState(for: target, thunk: thunk, capabilities: capabilities) else { return callState(storage) }
        return StaticCallState(state, defaultTarget: nil)
    }
}

/// What every `$name` of a `@StaticCall` function is: the key, for code that works with any key (a test
/// trait that overrides one). Conformances are generated by the macro; do not add your own.
public protocol StaticCallKeyProtocol: Sendable {
    /// The `@convention(thin)` function type of the key's targets.
    associatedtype Function
    /// The key's name, as `StaticCalls.report()` shows it: "checksum(_:)".
    var name: String { get }
    /// The key's state as a value.
    var state: StaticCallState { get }
    /// Gives the key back a state read from `state`, exactly.
    func restore(_ state: StaticCallState)
    /// The state `update(target)` would give the key.
    func state(targeting target: Function) -> StaticCallState
    /// Identifies the key within the process.
    var _storageAddress: UInt { get }
}

/// What every `$name` of a `@StaticKey` variable is (see `StaticCallKeyProtocol`).
public protocol StaticKeyProtocol: Sendable {
    /// The key's name, as `StaticCalls.report()` shows it.
    var name: String { get }
    /// The key's state as a value (its counted enables).
    var state: StaticKeyState { get }
    /// Gives the key back a state read from `state`, exactly.
    func restore(_ state: StaticKeyState)
    /// Identifies the key within the process.
    var _storageAddress: UInt { get }
}
