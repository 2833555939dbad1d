// The selftest's keys, written by hand in the exact shape `@StaticCall` will generate
// (see `StaticCallRuntime`). `selftestValue(_:)` returns Int (call/constant states); `selftestHook(_:)`
// returns Void (call/NOP states).
import StaticCall

func selftestValue(_ x: Int) -> Int { _selftestValue_trampoline(x) }
typealias _selftestValue_Thin = @convention(thin) (Int) -> Int
@_silgen_name("__dtrace_staticcall_staticcall_selftestValue")
@inline(never) func _selftestValue_trampoline(_ x: Int) -> Int {
    let w = _selftestValue_storage.word
    if StaticCallStorage.isDirectTarget(w) { return unsafeBitCast(w, to: _selftestValue_Thin?.self)!(x) }
    switch _selftestValue_storage.dispatch(w, register: _selftestValue_register) {
    case let .call(p): return unsafeBitCast(p, to: _selftestValue_Thin?.self)!(x)
    case let .constant(c): return Int(truncatingIfNeeded: c)
    case .disabled: preconditionFailure("selftestValue(_:) cannot be disabled")
    }
}
let _selftestValue_storage = StaticCallStorage()
func _selftestValue_default(_ x: Int) -> Int { x &+ 1 }
@inline(never) func _selftestValue_address(_ f: _selftestValue_Thin) -> UInt { unsafeBitCast(f, to: UInt.self) }
@inline(never) func _selftestValue_register() {
    StaticCallRuntime.register(_selftestValue_storage, name: "selftestValue(_:)",
                               trampoline: _selftestValue_address({ _selftestValue_trampoline($0) }),
                               defaultTarget: _selftestValue_address({ _selftestValue_default($0) }),
                               capabilities: StaticCallCapabilities(constantWidth: .bits64))
}
enum SelftestValueKey {
    static func ensure() { if !StaticCallRuntime.isRegistered(_selftestValue_storage) { _selftestValue_register() } }
    static func update(_ f: _selftestValue_Thin) { ensure(); StaticCallRuntime.update(_selftestValue_storage, to: _selftestValue_address(f)) }
    static func update(returning v: Int) { ensure(); StaticCallRuntime.setConstant(_selftestValue_storage, bits: UInt64(bitPattern: Int64(v)), width: .bits64) }
    static func reset() { ensure(); StaticCallRuntime.reset(_selftestValue_storage) }
}

func selftestHook(_ counter: UnsafeMutablePointer<Int>) { _selftestHook_trampoline(counter) }
typealias _selftestHook_Thin = @convention(thin) (UnsafeMutablePointer<Int>) -> Void
@_silgen_name("__dtrace_staticcall_staticcall_selftestHook")
@inline(never) func _selftestHook_trampoline(_ counter: UnsafeMutablePointer<Int>) {
    let w = _selftestHook_storage.word
    if StaticCallStorage.isDirectTarget(w) { return unsafeBitCast(w, to: _selftestHook_Thin?.self)!(counter) }
    switch _selftestHook_storage.dispatch(w, register: _selftestHook_register) {
    case let .call(p): return unsafeBitCast(p, to: _selftestHook_Thin?.self)!(counter)
    case .constant: preconditionFailure("selftestHook(_:) returns nothing")
    case .disabled: return
    }
}
let _selftestHook_storage = StaticCallStorage()
func _selftestHook_default(_ counter: UnsafeMutablePointer<Int>) { counter.pointee &+= 1 }
@inline(never) func _selftestHook_address(_ f: _selftestHook_Thin) -> UInt { unsafeBitCast(f, to: UInt.self) }
@inline(never) func _selftestHook_register() {
    StaticCallRuntime.register(_selftestHook_storage, name: "selftestHook(_:)",
                               trampoline: _selftestHook_address({ _selftestHook_trampoline($0) }),
                               defaultTarget: _selftestHook_address({ _selftestHook_default($0) }),
                               capabilities: StaticCallCapabilities(canDisable: true))
}
enum SelftestHookKey {
    static func ensure() { if !StaticCallRuntime.isRegistered(_selftestHook_storage) { _selftestHook_register() } }
    static func update(_ f: _selftestHook_Thin) { ensure(); StaticCallRuntime.update(_selftestHook_storage, to: _selftestHook_address(f)) }
    static func disable() { ensure(); StaticCallRuntime.disable(_selftestHook_storage) }
    static func reset() { ensure(); StaticCallRuntime.reset(_selftestHook_storage) }
}

// Call sites: an ordinary call and a tail call for each key.
@inline(never) func callValue(_ x: Int) -> Int { selftestValue(x) &+ 1000 }
@inline(never) func tailValue(_ x: Int) -> Int { selftestValue(x) }
@inline(never) func callHook(_ c: UnsafeMutablePointer<Int>) { selftestHook(c); c.pointee &+= 100 }
@inline(never) func tailHook(_ c: UnsafeMutablePointer<Int>) { selftestHook(c) }

func valueTimes2(_ x: Int) -> Int { x &* 2 }
func valueTimes3(_ x: Int) -> Int { x &* 3 }
func hookAdds10(_ c: UnsafeMutablePointer<Int>) { c.pointee &+= 10 }
