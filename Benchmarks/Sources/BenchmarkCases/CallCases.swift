// Case group 1, "call": the same loop, `s &+= f(i)`, with `f` reached through each mechanism a Swift
// programmer could use to retarget a global function at run time. Every loop is `@inline(never)` with a
// C-style symbol (`@_silgen_name`, so the callgrind script can name it) and returns its sum so that the
// optimizer keeps it.
import CBenchmarkCases
import StaticCall
import Synchronization

// MARK: The mechanisms

/// The static call: after patching, each site is `call work`.
@StaticCall
public func staticWork(_ x: Int) -> Int { work(x) }

// The peers are internal globals, each with a public setter as a library would have: the optimizer
// then sees that they can hold anything (without a setter it would fold a never-assigned global into
// its initial value, and the peer would measure nothing).

/// A global closure variable.
nonisolated(unsafe) var closureWork: (Int) -> Int = { work($0) }
public func setClosureWork(_ f: @escaping (Int) -> Int) { closureWork = f }

/// A protocol existential.
public protocol Worker { func work(_ x: Int) -> Int }
public struct DefaultWorker: Worker {
    public init() {}
    public func work(_ x: Int) -> Int { BenchmarkCases.work(x) }
}
nonisolated(unsafe) var worker: any Worker = DefaultWorker()
public func setWorker(_ w: any Worker) { worker = w }

/// A raw function pointer in an `Atomic` (its bit pattern), loaded with acquire ordering at each call.
public typealias WorkPointer = @convention(c) (Int) -> Int
public let atomicWorkPointer = Atomic<UInt>(0)
public func installAtomicWorkPointer() {
    let f: WorkPointer = { work($0) }
    atomicWorkPointer.store(unsafeBitCast(f, to: UInt.self), ordering: .releasing)
}

/// A C function pointer, pointing at a C function, as C code would hold it.
nonisolated(unsafe) var cWorkPointer: WorkPointer = cstaticbench_work
public func setCWorkPointer(_ p: WorkPointer) { cWorkPointer = p }

/// A `dynamic` function; `BenchmarkReplacements` replaces it with `@_dynamicReplacement(for:)`.
public dynamic func dynamicWork(_ x: Int) -> Int { otherWork(x) }

// MARK: The loops

@_silgen_name("staticbench_call_direct") // a C-style symbol for callgrind's --toggle-collect
@inline(never)
public func callDirect(_ n: Int) -> Int {
    var s = 0
    for i in 0..<n { s &+= work(i) }
    return s
}

@_silgen_name("staticbench_call_static") // a C-style symbol for callgrind's --toggle-collect
@inline(never)
public func callStatic(_ n: Int) -> Int {
    var s = 0
    for i in 0..<n { s &+= staticWork(i) }
    return s
}

@_silgen_name("staticbench_call_closure") // a C-style symbol for callgrind's --toggle-collect
@inline(never)
public func callClosure(_ n: Int) -> Int {
    var s = 0
    for i in 0..<n { s &+= closureWork(i) }
    return s
}

@_silgen_name("staticbench_call_existential") // a C-style symbol for callgrind's --toggle-collect
@inline(never)
public func callExistential(_ n: Int) -> Int {
    var s = 0
    for i in 0..<n { s &+= worker.work(i) }
    return s
}

@_silgen_name("staticbench_call_atomic_pointer") // a C-style symbol for callgrind's --toggle-collect
@inline(never)
public func callAtomicPointer(_ n: Int) -> Int {
    var s = 0
    for i in 0..<n {
        let f = unsafeBitCast(atomicWorkPointer.load(ordering: .acquiring), to: WorkPointer.self)
        s &+= f(i)
    }
    return s
}

@_silgen_name("staticbench_call_dynamic_replacement") // a C-style symbol for callgrind's --toggle-collect
@inline(never)
public func callDynamicReplacement(_ n: Int) -> Int {
    var s = 0
    for i in 0..<n { s &+= dynamicWork(i) }
    return s
}

@_silgen_name("staticbench_call_c_pointer") // a C-style symbol for callgrind's --toggle-collect
@inline(never)
public func callCFunctionPointer(_ n: Int) -> Int {
    var s = 0
    for i in 0..<n { s &+= cWorkPointer(i) }
    return s
}
