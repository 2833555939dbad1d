// Keys written by hand in the shape of the `@StaticCall` expansion (see StaticCallRuntime's docs). They
// share with it what the runtime and the patcher depend on: a forwarder to an `@inline(never)` trampoline
// whose symbol starts with `__dtrace_staticcall_`, the fast path (call the storage's word when it is a
// target), a statically initialised `StaticCallStorage`, an `@inline(never)` address helper given closure
// literals, and registration through `StaticCallRuntime.register` with a trampoline thunk and the default
// body. They differ in the rest: the slow path is inside the trampoline (no `_slow` function); the symbols
// are `__dtrace_staticcall_IntegrationMain_<name>`, without the macros' hash, so the runtime can reach these
// trampolines only through their thunks, never by symbol; the names are `_scale_trampoline` and so on;
// there is no `staticcall_keys` record (`patchAll()` covers them only once used); and each key is an enum
// of static methods instead of a `$name` conforming to `StaticCallKeyProtocol` (no `target`, `state`,
// `restore` or `withTarget`; `update` calls `StaticCallRuntime.update(_:to:)`, which does not map the
// disabled or constant functions back to their states).
import StaticCall

// MARK: scale(_:) — @StaticCall func scale(_ x: Int) -> Int { x &* 3 }

func scale(_ x: Int) -> Int { _scale_trampoline(x) }
typealias _scale_Thin = @convention(thin) (Int) -> Int
// __dtrace… symbol: LLVM function merging never merges a caller of it (see StaticCallRuntime).
@_silgen_name("__dtrace_staticcall_IntegrationMain_scale")
@inline(never) func _scale_trampoline(_ x: Int) -> Int {
    let w = _scale_storage.word
    if StaticCallStorage.isDirectTarget(w) { return unsafeBitCast(w, to: _scale_Thin?.self)!(x) }
    switch _scale_storage.dispatch(w, register: _scale_register) {
    case let .call(p): return unsafeBitCast(p, to: _scale_Thin?.self)!(x)
    case let .constant(c): return Int(truncatingIfNeeded: c)
    case .disabled: preconditionFailure("scale(_:) cannot be disabled")
    }
}
let _scale_storage = StaticCallStorage()
func _scale_default(_ x: Int) -> Int { x &* 3 }
@inline(never) func _scale_address(_ f: _scale_Thin) -> UInt { unsafeBitCast(f, to: UInt.self) }
@inline(never) func _scale_register() {
    StaticCallRuntime.register(_scale_storage, name: "scale(_:)", trampolineThunk: _scale_address({ _scale_trampoline($0) }),
                               defaultTarget: _scale_address({ _scale_default($0) }),
                               capabilities: StaticCallCapabilities(constantWidth: .bits64))
}
enum ScaleKey {
    static func ensure() { if !StaticCallRuntime.isRegistered(_scale_storage) { _scale_register() } }
    static func update(_ f: _scale_Thin) { ensure(); StaticCallRuntime.update(_scale_storage, to: _scale_address(f)) }
    static func update(returning value: Int) { ensure(); StaticCallRuntime.setConstant(_scale_storage, bits: UInt64(bitPattern: Int64(value)), width: .bits64) }
    static func reset() { ensure(); StaticCallRuntime.reset(_scale_storage) }
}

// MARK: hook(_:) — @StaticCall func hook(_ x: Int) {}   (Void: may be disabled)

func hook(_ x: Int) { _hook_trampoline(x) }
typealias _hook_Thin = @convention(thin) (Int) -> Void
// __dtrace… symbol: LLVM function merging never merges a caller of it (see StaticCallRuntime).
@_silgen_name("__dtrace_staticcall_IntegrationMain_hook")
@inline(never) func _hook_trampoline(_ x: Int) {
    let w = _hook_storage.word
    if StaticCallStorage.isDirectTarget(w) { return unsafeBitCast(w, to: _hook_Thin?.self)!(x) }
    switch _hook_storage.dispatch(w, register: _hook_register) {
    case let .call(p): return unsafeBitCast(p, to: _hook_Thin?.self)!(x)
    case .constant: preconditionFailure("hook(_:) returns nothing")
    case .disabled: return
    }
}
let _hook_storage = StaticCallStorage()
func _hook_default(_ x: Int) {}
@inline(never) func _hook_address(_ f: _hook_Thin) -> UInt { unsafeBitCast(f, to: UInt.self) }
@inline(never) func _hook_register() {
    StaticCallRuntime.register(_hook_storage, name: "hook(_:)", trampolineThunk: _hook_address({ _hook_trampoline($0) }),
                               defaultTarget: _hook_address({ _hook_default($0) }),
                               capabilities: StaticCallCapabilities(canDisable: true))
}
enum HookKey {
    static func ensure() { if !StaticCallRuntime.isRegistered(_hook_storage) { _hook_register() } }
    static func update(_ f: _hook_Thin) { ensure(); StaticCallRuntime.update(_hook_storage, to: _hook_address(f)) }
    static func disable() { ensure(); StaticCallRuntime.disable(_hook_storage) }
    static func reset() { ensure(); StaticCallRuntime.reset(_hook_storage) }
}

// MARK: enabled() — @StaticCall func enabled() -> Bool { false }   (a static-key-like Bool)

func enabled() -> Bool { _enabled_trampoline() }
typealias _enabled_Thin = @convention(thin) () -> Bool
// __dtrace… symbol: LLVM function merging never merges a caller of it (see StaticCallRuntime).
@_silgen_name("__dtrace_staticcall_IntegrationMain_enabled")
@inline(never) func _enabled_trampoline() -> Bool {
    let w = _enabled_storage.word
    if StaticCallStorage.isDirectTarget(w) { return unsafeBitCast(w, to: _enabled_Thin?.self)!() }
    switch _enabled_storage.dispatch(w, register: _enabled_register) {
    case let .call(p): return unsafeBitCast(p, to: _enabled_Thin?.self)!()
    case let .constant(c): return c & 1 != 0
    case .disabled: preconditionFailure("enabled() cannot be disabled")
    }
}
let _enabled_storage = StaticCallStorage()
func _enabled_default() -> Bool { false }
@inline(never) func _enabled_address(_ f: _enabled_Thin) -> UInt { unsafeBitCast(f, to: UInt.self) }
@inline(never) func _enabled_register() {
    StaticCallRuntime.register(_enabled_storage, name: "enabled()", trampolineThunk: _enabled_address({ _enabled_trampoline() }),
                               defaultTarget: _enabled_address({ _enabled_default() }),
                               capabilities: StaticCallCapabilities(constantWidth: .bits8))
}
enum EnabledKey {
    static func ensure() { if !StaticCallRuntime.isRegistered(_enabled_storage) { _enabled_register() } }
    static func update(returning value: Bool) { ensure(); StaticCallRuntime.setConstant(_enabled_storage, bits: value ? 1 : 0, width: .bits8) }
}

// MARK: grow(_:_:) — a struct of more than four words (ARCHITECTURE.md, LoadableByAddress compiler crash)

struct Big: Equatable {
    var a: Int
    var b: Double
    var c: String
    var d: [Int]
    var e: Int
}
func grow(_ big: Big, _ by: Int) -> Big { _grow_trampoline(big, by) }
typealias _grow_Thin = @convention(thin) (Big, Int) -> Big
// __dtrace… symbol: LLVM function merging never merges a caller of it (see StaticCallRuntime).
@_silgen_name("__dtrace_staticcall_IntegrationMain_grow")
@inline(never) func _grow_trampoline(_ big: Big, _ by: Int) -> Big {
    let w = _grow_storage.word
    if StaticCallStorage.isDirectTarget(w) { return unsafeBitCast(w, to: _grow_Thin?.self)!(big, by) }
    switch _grow_storage.dispatch(w, register: _grow_register) {
    case let .call(p): return unsafeBitCast(p, to: _grow_Thin?.self)!(big, by)
    case .constant, .disabled: preconditionFailure("grow(_:_:) has no constant or disabled state")
    }
}
let _grow_storage = StaticCallStorage()
func _grow_default(_ big: Big, _ by: Int) -> Big { var b = big; b.a &+= by; return b }
@inline(never) func _grow_address(_ f: _grow_Thin) -> UInt { unsafeBitCast(f, to: UInt.self) }
@inline(never) func _grow_register() {
    StaticCallRuntime.register(_grow_storage, name: "grow(_:_:)", trampolineThunk: _grow_address({ _grow_trampoline($0, $1) }),
                               defaultTarget: _grow_address({ _grow_default($0, $1) }))
}
enum GrowKey {
    static func ensure() { if !StaticCallRuntime.isRegistered(_grow_storage) { _grow_register() } }
    static func update(_ f: _grow_Thin) { ensure(); StaticCallRuntime.update(_grow_storage, to: _grow_address(f)) }
}

// MARK: offset(_:) — a second key with scale's exact signature, which the optimizer must not merge with it

func offset(_ x: Int) -> Int { _offset_trampoline(x) }
typealias _offset_Thin = @convention(thin) (Int) -> Int
// __dtrace… symbol: LLVM function merging never merges a caller of it (see StaticCallRuntime).
@_silgen_name("__dtrace_staticcall_IntegrationMain_offset")
@inline(never) func _offset_trampoline(_ x: Int) -> Int {
    let w = _offset_storage.word
    if StaticCallStorage.isDirectTarget(w) { return unsafeBitCast(w, to: _offset_Thin?.self)!(x) }
    switch _offset_storage.dispatch(w, register: _offset_register) {
    case let .call(p): return unsafeBitCast(p, to: _offset_Thin?.self)!(x)
    case let .constant(c): return Int(truncatingIfNeeded: c)
    case .disabled: preconditionFailure("offset(_:) cannot be disabled")
    }
}
let _offset_storage = StaticCallStorage()
func _offset_default(_ x: Int) -> Int { x &+ 100 }
@inline(never) func _offset_address(_ f: _offset_Thin) -> UInt { unsafeBitCast(f, to: UInt.self) }
@inline(never) func _offset_register() {
    StaticCallRuntime.register(_offset_storage, name: "offset(_:)", trampolineThunk: _offset_address({ _offset_trampoline($0) }),
                               defaultTarget: _offset_address({ _offset_default($0) }),
                               capabilities: StaticCallCapabilities(constantWidth: .bits64))
}
enum OffsetKey {
    static func ensure() { if !StaticCallRuntime.isRegistered(_offset_storage) { _offset_register() } }
    static func update(_ f: _offset_Thin) { ensure(); StaticCallRuntime.update(_offset_storage, to: _offset_address(f)) }
    static func reset() { ensure(); StaticCallRuntime.reset(_offset_storage) }
}
