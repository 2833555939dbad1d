// Case group "trace" (#16, swift-distributed-tracing): a span around real work while no tracer is
// bootstrapped (the case of every library that instruments itself and every application that does not
// trace), through swift-distributed-tracing's `withSpan` and through StaticTracing's after the
// application has called `skipSpansUnlessBootstrapped()`, against the loop without a span.
import CBenchmarkCases
import StaticCallTracing
import Tracing

@_silgen_name("staticbench_trace_none") // a C-style symbol for callgrind's --toggle-collect
@inline(never)
public func traceNone(_ n: Int) -> Int {
    var s = 0
    for i in 0..<n { s &+= cstaticbench_work(i) }
    return s
}

@_silgen_name("staticbench_trace_plain")
@inline(never)
public func tracePlain(_ n: Int) -> Int {
    var s = 0
    for i in 0..<n {
        s &+= withSpan("work") { _ in cstaticbench_work(i) }
    }
    return s
}

@_silgen_name("staticbench_trace_static")
@inline(never)
public func traceStatic(_ n: Int) -> Int {
    StaticTracing.skipSpansUnlessBootstrapped() // the application's opt-in: no tracer here
    var s = 0
    for i in 0..<n {
        s &+= StaticTracing.withSpan("work") { _ in cstaticbench_work(i) }
    }
    return s
}
