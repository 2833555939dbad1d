// Case group 3, "flag": a loop doing real work, checking a flag that is off. The work is a C function
// the optimizer cannot see into, as most real work is: so the plain `Bool` must be re-read after each
// call (with a Swift `work` it knows to be pure, the optimizer hoists the read out of the loop).
import CBenchmarkCases
import StaticCall
import Synchronization

/// A static key: each `if keyFlag` site becomes one `jmp` to the side taken (else `mov $0,%eax`).
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

// More loop shapes for the flag group (issue #15: a disabled key must cost less than a Bool in each).
// "before": the flag is read before the opaque call; "block": the flag guards a block that uses several
// values live across the loop; "on": a key whose default is `true`, read while enabled.

@StaticKey
public var keyFlagOn = true
nonisolated(unsafe) var boolFlagOn = true
public let atomicFlagOn = Atomic<Bool>(true)
/// Written somewhere, as a real flag is: a global never written is folded into a constant by the optimizer.
public func setBoolFlagOn(_ on: Bool) { boolFlagOn = on }

/// Each shape without its `if`: the floor a disabled key is measured against.
@_silgen_name("staticbench_flag_none")
@inline(never)
public func flagNone(_ n: Int) -> Int {
    var s = 0
    for i in 0..<n { s &+= cstaticbench_work(i) }
    return s
}

/// The "before" shape without its `if`: the same loop as `flagNone`, under its own symbol (each case has one).
@_silgen_name("staticbench_flagbefore_none")
@inline(never)
public func flagBeforeNone(_ n: Int) -> Int {
    var s = 0
    for i in 0..<n { s &+= cstaticbench_work(i) }
    return s
}

@_silgen_name("staticbench_flagblock_none")
@inline(never)
public func flagBlockNone(_ n: Int) -> Int {
    var a = 0, b = 1, c = 2
    for i in 0..<n {
        a &+= cstaticbench_work(i)
        b &+= a >> 3
        c &+= b
    }
    return a &+ b &+ c
}

@_silgen_name("staticbench_flagbefore_key")
@inline(never)
public func flagBeforeKey(_ n: Int) -> Int {
    var s = 0
    for i in 0..<n {
        if keyFlag { s &+= otherWork(i) }
        s &+= cstaticbench_work(i)
    }
    return s
}

@_silgen_name("staticbench_flagbefore_bool")
@inline(never)
public func flagBeforeBool(_ n: Int) -> Int {
    var s = 0
    for i in 0..<n {
        if boolFlag { s &+= otherWork(i) }
        s &+= cstaticbench_work(i)
    }
    return s
}

@_silgen_name("staticbench_flagbefore_atomic")
@inline(never)
public func flagBeforeAtomic(_ n: Int) -> Int {
    var s = 0
    for i in 0..<n {
        if atomicFlag.load(ordering: .relaxed) { s &+= otherWork(i) }
        s &+= cstaticbench_work(i)
    }
    return s
}

@_silgen_name("staticbench_flagblock_key")
@inline(never)
public func flagBlockKey(_ n: Int) -> Int {
    var a = 0, b = 1, c = 2
    for i in 0..<n {
        a &+= cstaticbench_work(i)
        if keyFlag { b &+= otherWork(a); c ^= b &* i; a &+= c }
        b &+= a >> 3
        c &+= b
    }
    return a &+ b &+ c
}

@_silgen_name("staticbench_flagblock_bool")
@inline(never)
public func flagBlockBool(_ n: Int) -> Int {
    var a = 0, b = 1, c = 2
    for i in 0..<n {
        a &+= cstaticbench_work(i)
        if boolFlag { b &+= otherWork(a); c ^= b &* i; a &+= c }
        b &+= a >> 3
        c &+= b
    }
    return a &+ b &+ c
}

@_silgen_name("staticbench_flagblock_atomic")
@inline(never)
public func flagBlockAtomic(_ n: Int) -> Int {
    var a = 0, b = 1, c = 2
    for i in 0..<n {
        a &+= cstaticbench_work(i)
        if atomicFlag.load(ordering: .relaxed) { b &+= otherWork(a); c ^= b &* i; a &+= c }
        b &+= a >> 3
        c &+= b
    }
    return a &+ b &+ c
}

@_silgen_name("staticbench_flagon_key")
@inline(never)
public func flagOnKey(_ n: Int) -> Int {
    var s = 0
    for i in 0..<n {
        s &+= cstaticbench_work(i)
        if keyFlagOn { s &+= otherWork(i) }
    }
    return s
}

@_silgen_name("staticbench_flagon_bool")
@inline(never)
public func flagOnBool(_ n: Int) -> Int {
    var s = 0
    for i in 0..<n {
        s &+= cstaticbench_work(i)
        if boolFlagOn { s &+= otherWork(i) }
    }
    return s
}

@_silgen_name("staticbench_flagon_atomic")
@inline(never)
public func flagOnAtomic(_ n: Int) -> Int {
    var s = 0
    for i in 0..<n {
        s &+= cstaticbench_work(i)
        if atomicFlagOn.load(ordering: .relaxed) { s &+= otherWork(i) }
    }
    return s
}
