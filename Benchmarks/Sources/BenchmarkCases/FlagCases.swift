// Case group 3, "flag": a loop doing real work, checking a flag that is off. The work is a C function
// the optimizer cannot see into, as most real work is: so the plain `Bool` must be re-read after each
// call (with a Swift `work` it knows to be pure, the optimizer hoists the read out of the loop).
import CBenchmarkCases
import StaticCall
import Synchronization

/// A static key: reads become `mov $0,%eax` at each site.
@StaticKey
public var keyFlag = false

/// A plain global.
nonisolated(unsafe) var boolFlag = false
public func setBoolFlag(_ on: Bool) { boolFlag = on }

/// An atomic, loaded relaxed.
public let atomicFlag = Atomic<Bool>(false)

@_silgen_name("staticbench_flag_key") // a C-style symbol for callgrind's --toggle-collect
@inline(never)
public func flagKey(_ n: Int) -> Int {
    var s = 0
    for i in 0..<n {
        s &+= cstaticbench_work(i)
        if keyFlag { s &+= otherWork(i) }
    }
    return s
}

@_silgen_name("staticbench_flag_bool") // a C-style symbol for callgrind's --toggle-collect
@inline(never)
public func flagBool(_ n: Int) -> Int {
    var s = 0
    for i in 0..<n {
        s &+= cstaticbench_work(i)
        if boolFlag { s &+= otherWork(i) }
    }
    return s
}

@_silgen_name("staticbench_flag_atomic") // a C-style symbol for callgrind's --toggle-collect
@inline(never)
public func flagAtomic(_ n: Int) -> Int {
    var s = 0
    for i in 0..<n {
        s &+= cstaticbench_work(i)
        if atomicFlag.load(ordering: .relaxed) { s &+= otherWork(i) }
    }
    return s
}
