// A key defined in a second module, written by hand in the shape of the `@StaticCall` expansion of
// `public func mix(_ a: Int, _ b: Int) -> Int { a &+ b }`. It shares with the macros' output, and differs
// from it, as the keys of IntegrationTests/Main/Keys.swift do (its symbol has the module's name and no
// hash); and its peers are public, where the macros keep them internal (the trampoline
// `@usableFromInline`).
import StaticCall

public func mix(_ a: Int, _ b: Int) -> Int { _mix_trampoline(a, b) }

public typealias _mix_Thin = @convention(thin) (Int, Int) -> Int

// __dtrace… symbol: LLVM function merging never merges a caller of it (see StaticCallRuntime).
@_silgen_name("__dtrace_staticcall_IntegrationSupport_mix")
@inline(never)
public func _mix_trampoline(_ a: Int, _ b: Int) -> Int {
    let w = _mix_storage.word
    if StaticCallStorage.isDirectTarget(w) { return unsafeBitCast(w, to: _mix_Thin?.self)!(a, b) }
    switch _mix_storage.dispatch(w, register: _mix_register) {
    case let .call(p): return unsafeBitCast(p, to: _mix_Thin?.self)!(a, b)
    case let .constant(c): return Int(truncatingIfNeeded: c)
    case .disabled: preconditionFailure("mix(_:_:) cannot be disabled")
    }
}

public let _mix_storage = StaticCallStorage()

func _mix_default(_ a: Int, _ b: Int) -> Int { a &+ b }

@inline(never) public func _mix_address(_ f: _mix_Thin) -> UInt { unsafeBitCast(f, to: UInt.self) }

@inline(never) public func _mix_register() {
    StaticCallRuntime.register(_mix_storage, name: "mix(_:_:)", trampolineThunk: _mix_address({ _mix_trampoline($0, $1) }),
                               defaultTarget: _mix_address({ _mix_default($0, $1) }),
                               capabilities: StaticCallCapabilities(constantWidth: .bits64))
}

/// What `$mix` will be.
public enum MixKey {
    public static func update(_ f: _mix_Thin) {
        if !StaticCallRuntime.isRegistered(_mix_storage) { _mix_register() }
        StaticCallRuntime.update(_mix_storage, to: _mix_address(f))
    }
    public static func reset() {
        if !StaticCallRuntime.isRegistered(_mix_storage) { _mix_register() }
        StaticCallRuntime.reset(_mix_storage)
    }
}

/// Callers inside the defining module: a loop and a tail position.
@inline(never) public func sumOfMixes(_ n: Int) -> Int {
    var s = 0
    for i in 0..<n { s &+= mix(i, 1) }
    return s
}

@inline(never) public func mixTail(_ a: Int) -> Int { mix(a, 2) }
