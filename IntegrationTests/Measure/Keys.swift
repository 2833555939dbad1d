// Keys in the exact shape `@StaticCall` generates (see StaticCallRuntime).
import StaticCall

// measured(_:): the callgrind subject. Its default target is a real function, so a patched site
// becomes `call measuredTarget`, byte for byte what a direct call is.
@inline(never) func measuredTarget(_ x: Int) -> Int { x &* 3 &+ 1 }

func measured(_ x: Int) -> Int { _measured_trampoline(x) }
typealias _measured_Thin = @convention(thin) (Int) -> Int
// __dtrace… symbol: LLVM function merging never merges a caller of it (see StaticCallRuntime).
@_silgen_name("__dtrace_staticcall_Measure_measured")
@inline(never) func _measured_trampoline(_ x: Int) -> Int {
    let w = _measured_storage.word
    if StaticCallStorage.isDirectTarget(w) { return unsafeBitCast(w, to: _measured_Thin?.self)!(x) }
    switch _measured_storage.dispatch(w, register: _measured_register) {
    case let .call(p): return unsafeBitCast(p, to: _measured_Thin?.self)!(x)
    case let .constant(c): return Int(truncatingIfNeeded: c)
    case .disabled: preconditionFailure()
    }
}
let _measured_storage = StaticCallStorage()
@inline(never) func _measured_address(_ f: _measured_Thin) -> UInt { unsafeBitCast(f, to: UInt.self) }
@inline(never) func _measured_register() {
    StaticCallRuntime.register(_measured_storage, name: "measured(_:)", trampoline: _measured_address({ _measured_trampoline($0) }),
                               defaultTarget: _measured_address({ measuredTarget($0) }),
                               capabilities: StaticCallCapabilities(constantWidth: .bits64))
}

// tenSites(_:): a key with exactly ten call sites, for update latency.
func tenSites(_ x: Int) -> Int { _tenSites_trampoline(x) }
typealias _tenSites_Thin = @convention(thin) (Int) -> Int
// __dtrace… symbol: LLVM function merging never merges a caller of it (see StaticCallRuntime).
@_silgen_name("__dtrace_staticcall_Measure_tenSites")
@inline(never) func _tenSites_trampoline(_ x: Int) -> Int {
    let w = _tenSites_storage.word
    if StaticCallStorage.isDirectTarget(w) { return unsafeBitCast(w, to: _tenSites_Thin?.self)!(x) }
    switch _tenSites_storage.dispatch(w, register: _tenSites_register) {
    case let .call(p): return unsafeBitCast(p, to: _tenSites_Thin?.self)!(x)
    case let .constant(c): return Int(truncatingIfNeeded: c)
    case .disabled: preconditionFailure()
    }
}
let _tenSites_storage = StaticCallStorage()
@inline(never) func _tenSites_address(_ f: _tenSites_Thin) -> UInt { unsafeBitCast(f, to: UInt.self) }
@inline(never) func _tenSites_register() {
    StaticCallRuntime.register(_tenSites_storage, name: "tenSites(_:)", trampoline: _tenSites_address({ _tenSites_trampoline($0) }),
                               defaultTarget: _tenSites_address({ $0 &+ 1 }))
}
func updateTenSites(_ f: _tenSites_Thin) {
    if !StaticCallRuntime.isRegistered(_tenSites_storage) { _tenSites_register() }
    StaticCallRuntime.update(_tenSites_storage, to: _tenSites_address(f))
}

@inline(never) func site0(_ x: Int) -> Int { tenSites(x) &+ 0x10 }
@inline(never) func site1(_ x: Int) -> Int { tenSites(x) &+ 0x11 }
@inline(never) func site2(_ x: Int) -> Int { tenSites(x) &+ 0x12 }
@inline(never) func site3(_ x: Int) -> Int { tenSites(x) &+ 0x13 }
@inline(never) func site4(_ x: Int) -> Int { tenSites(x) &+ 0x14 }
@inline(never) func site5(_ x: Int) -> Int { tenSites(x) &+ 0x15 }
@inline(never) func site6(_ x: Int) -> Int { tenSites(x) &+ 0x16 }
@inline(never) func site7(_ x: Int) -> Int { tenSites(x) &+ 0x17 }
@inline(never) func site8(_ x: Int) -> Int { tenSites(x) &+ 0x18 }
@inline(never) func site9(_ x: Int) -> Int { tenSites(x) &+ 0x19 }
