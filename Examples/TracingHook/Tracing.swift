// The trace point and its tracer. (Keys are declared outside main.swift: its top-level variables belong
// to the main actor, and a static key is read from any thread.)
import StaticCall
import Synchronization

/// Called at every event worth tracing. Its default body does nothing; `disable()` goes further: each
/// call site becomes a NOP, so not even the call is made.
@StaticCall
func traceEvent(_ name: StaticString, _ value: Int) {}

/// Verbose tracing: a static key, read as an immediate at each `if` (no load of a global flag).
@StaticKey
var verboseTracing = false

/// The events the tracer recorded.
let recorded = Mutex<[String]>([])

/// The tracer: a global function, so the closure that targets it captures nothing.
func record(_ name: StaticString, _ value: Int) {
    recorded.withLock { $0.append("\(name)=\(value)") }
}
