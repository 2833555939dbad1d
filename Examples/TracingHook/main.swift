// A tracing hook that is off by default and costs a 5-byte NOP at each call site while it is: what the
// kernel's tracepoints do with static keys and static_call_cond(). Turning it on retargets every call
// site to the tracer; turning it off makes them NOPs again. A static key guards work that only verbose
// tracing needs (formatting a description), so that an untraced run never builds it.
//
//   swift run example-tracing-hook
//   STATICCALL_MODE=indirect swift run example-tracing-hook
//
// It checks its own results and exits with 1 if an event was lost or recorded while tracing was off.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import StaticCall

// The program's real work, with its trace points.
func handle(request id: Int) -> Int {
    traceEvent("request.start", id)
    let result = (1...(id % 50 + 1)).reduce(0, +)
    if verboseTracing { print("  request \(id): the sum of 1...\(id % 50 + 1) is \(result)") }
    traceEvent("request.end", result)
    return result
}

func serve(_ ids: Range<Int>) -> Int { ids.reduce(0) { $0 &+ handle(request: $1) } }

var wrong: [String] = []

// Off: every trace point is a NOP.
$traceEvent.disable()
_ = serve(0..<10_000)
let quiet = StaticCalls.report()["traceEvent(_:_:)"]
print("tracing off: \(quiet.map { "\($0.sitesPatched) of \($0.sitesFound) trace points are NOPs (\($0.mode) mode)" } ?? "no report")")
if !recorded.withLock(\.isEmpty) { wrong.append("events were recorded while tracing was off") }

// On: every trace point calls the tracer.
$traceEvent.update { record($0, $1) }
_ = serve(0..<100)
let events = recorded.withLock { $0 }
print("tracing on: \(events.count) events, first \(events.first ?? "none"), last \(events.last ?? "none")")
if events.count != 200 { wrong.append("expected 200 events, recorded \(events.count)") }

// Verbose for one request only, then back to what it was.
$verboseTracing.withValue(true) { _ = handle(request: 7) }
if verboseTracing { wrong.append("verbose tracing stayed on after its scope") }

// Off again.
$traceEvent.disable()
_ = serve(0..<100)
if recorded.withLock(\.count) != 202 { wrong.append("events were recorded after tracing was turned off again") }
print("tracing off again: \(recorded.withLock(\.count)) events in all")

for message in wrong { print("wrong: \(message)") }
exit(wrong.isEmpty ? 0 : 1)
