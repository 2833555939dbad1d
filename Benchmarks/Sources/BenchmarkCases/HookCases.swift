// Case group 2, "disabled hook": a loop doing real work (a C function the optimizer cannot see into,
// as most real work is) with a hook that is off, against
// the same loop without the hook. Two hook shapes: one taking no argument, and one taking the loop
// value (the compiler then moves the argument into place before the call, which a NOP'd site keeps).
import CBenchmarkCases
import StaticCall

nonisolated(unsafe) var hookSink = 0

/// A hook with no argument; `disable()` makes its sites 5-byte NOPs.
@StaticCall
public func tickHook() { hookSink &+= 1 }

/// A hook taking the loop value.
@StaticCall
public func valueHook(_ x: Int) { hookSink &+= x }

/// The closure peers: optionals set to nil.
nonisolated(unsafe) var tickClosure: (() -> Void)? = nil
nonisolated(unsafe) var valueClosure: ((Int) -> Void)? = nil
public func setHookClosures(tick: (() -> Void)?, value: ((Int) -> Void)?) {
    tickClosure = tick
    valueClosure = value
}

@_silgen_name("staticbench_hook_none") // a C-style symbol for callgrind's --toggle-collect
@inline(never)
public func hookNone(_ n: Int) -> Int {
    var s = 0
    for i in 0..<n { s &+= cstaticbench_work(i) }
    return s
}

@_silgen_name("staticbench_hook_static_tick") // a C-style symbol for callgrind's --toggle-collect
@inline(never)
public func hookStaticTick(_ n: Int) -> Int {
    var s = 0
    for i in 0..<n {
        s &+= cstaticbench_work(i)
        tickHook()
    }
    return s
}

@_silgen_name("staticbench_hook_closure_tick") // a C-style symbol for callgrind's --toggle-collect
@inline(never)
public func hookClosureTick(_ n: Int) -> Int {
    var s = 0
    for i in 0..<n {
        s &+= cstaticbench_work(i)
        tickClosure?()
    }
    return s
}

@_silgen_name("staticbench_hook_static_value") // a C-style symbol for callgrind's --toggle-collect
@inline(never)
public func hookStaticValue(_ n: Int) -> Int {
    var s = 0
    for i in 0..<n {
        s &+= cstaticbench_work(i)
        valueHook(i)
    }
    return s
}

@_silgen_name("staticbench_hook_closure_value") // a C-style symbol for callgrind's --toggle-collect
@inline(never)
public func hookClosureValue(_ n: Int) -> Int {
    var s = 0
    for i in 0..<n {
        s &+= cstaticbench_work(i)
        valueClosure?(i)
    }
    return s
}
