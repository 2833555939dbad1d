// Case group "far": the target is a function of another image (a C shared library), more than ±2 GiB from
// the call sites. A patched site calls a far-jump stub placed within its reach, which jumps on through the
// address it holds; in indirect mode the site calls the trampoline, which calls through the key's word.
#if canImport(Glibc)
import Glibc
#endif
import StaticCall
import StaticCallTestTargets

/// A key pointed at the library's function at start-up (its default body computes the same).
@StaticCall
public func farWork(_ x: Int) -> Int { x &* 19 }

/// The library's function as the loader resolved it: a call written `staticcall_ctarget_times19(i)` goes
/// through this image's PLT, which is near, so only the raw address makes the target far.
public let farTargetAddress = UInt(bitPattern: dlsym(nil, "staticcall_ctarget_times19"))

nonisolated(unsafe) var farPointer: WorkPointer = { $0 }
public func pointFarCasesAtLibc() {
    farPointer = unsafeBitCast(farTargetAddress, to: WorkPointer.self)
    $farWork.update(unsafeBitCast(farTargetAddress, to: type(of: $farWork).Function.self))
}

@_silgen_name("staticbench_far_plt") // a C-style symbol for callgrind's --toggle-collect
@inline(never)
public func farThroughPLT(_ n: Int) -> Int {
    var s = 0
    for i in 0..<n { s &+= staticcall_ctarget_times19(i) }
    return s
}

@_silgen_name("staticbench_far_c_pointer") // a C-style symbol for callgrind's --toggle-collect
@inline(never)
public func farCFunctionPointer(_ n: Int) -> Int {
    var s = 0
    for i in 0..<n { s &+= farPointer(i) }
    return s
}

@_silgen_name("staticbench_far_static") // a C-style symbol for callgrind's --toggle-collect
@inline(never)
public func farStatic(_ n: Int) -> Int {
    var s = 0
    for i in 0..<n { s &+= farWork(i) }
    return s
}
