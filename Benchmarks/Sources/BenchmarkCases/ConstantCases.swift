// Case group 4, "constant": a tunable read in a loop, as `update(returning:)` (each site becomes
// `mov $imm,%eax`) and as a closure variable returning a captured constant.
import StaticCall

/// A tunable; `update(returning: 128)` turns its sites into immediate loads.
@StaticCall
public func batchLimit() -> Int { 64 }

/// The closure peer, set to a closure capturing the constant.
nonisolated(unsafe) var batchLimitClosure: () -> Int = { 64 }

public func setConstants(_ value: Int) {
    $batchLimit.update(returning: value)
    batchLimitClosure = { value }
}

@_silgen_name("staticbench_constant_static") // a C-style symbol for callgrind's --toggle-collect
@inline(never)
public func constantStatic(_ n: Int) -> Int {
    var s = 0
    for i in 0..<n { s &+= batchLimit() ^ i }
    return s
}

@_silgen_name("staticbench_constant_closure") // a C-style symbol for callgrind's --toggle-collect
@inline(never)
public func constantClosure(_ n: Int) -> Int {
    var s = 0
    for i in 0..<n { s &+= batchLimitClosure() ^ i }
    return s
}
