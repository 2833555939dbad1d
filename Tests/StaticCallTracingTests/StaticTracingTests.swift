import Instrumentation
import InMemoryTracing
import StaticCall
import StaticCallTracing
import Synchronization
import Testing
import Tracing

/// A value carried by a context, to tell contexts apart.
enum RequestID: InstrumentationContextKey {
    typealias Value = String
}

struct Failure: Error, Equatable {}

/// The key is process-wide: these tests take turns, and each leaves it on (its default). The test
/// process bootstraps no InstrumentationSystem (a one-time, process-wide act): tracers are bound with
/// `withTracer`, scoped to the test's task.
@Suite("StaticTracing: withSpan as swift-distributed-tracing's until the application skips spans without a tracer", .serialized)
struct StaticTracingTests {
    @Test func spansAreSwiftDistributedTracingsUntilTheApplicationSkipsThem() throws {
        #expect(StaticTracing.spans, "on by default: adopting the calls changes nothing")
        let plain = InMemoryTracer(), ours = InMemoryTracer()
        let a = withTracer(plain) { withSpan("op", ofKind: .server) { span in span.attributes["n"] = 1; return span.isRecording } }
        let b = withTracer(ours) { StaticTracing.withSpan("op", ofKind: .server) { span in span.attributes["n"] = 1; return span.isRecording } }
        #expect(a && b)
        let (p, o) = (try #require(plain.finishedSpans.first), try #require(ours.finishedSpans.first))
        #expect(plain.finishedSpans.count == 1 && ours.finishedSpans.count == 1)
        #expect(o.operationName == p.operationName)
        #expect(o.kind == p.kind)
        #expect(o.attributes == p.attributes)
        // A thrown error is recorded and rethrown, as by withSpan.
        #expect(throws: Failure()) { try withTracer(ours) { try StaticTracing.withSpan("fails") { _ in throw Failure() } } }
        #expect(ours.finishedSpans.last?.errors.count == 1)
    }

    @Test func withoutATracerSkippedSitesRunTheirOperationOnceWithTheCallersContext() throws {
        defer { StaticTracing.spans = true }
        #expect(StaticTracing.skipSpansUnlessBootstrapped(), "no tracer is bootstrapped in the test process")
        #expect(!StaticTracing.spans)
        var context = InstrumentationContext.topLevel
        context[RequestID.self] = "r1"
        var runs = 0
        let seen = InstrumentationContext.$current.withValue(context) {
            StaticTracing.withSpan("op") { span in
                runs += 1
                #expect(!span.isRecording)
                return span.context[RequestID.self]
            }
        }
        #expect(runs == 1)
        #expect(seen == "r1", "the span's context is the caller's, as withSpan gives it")
        #expect(throws: Failure()) { try StaticTracing.withSpan("fails") { _ in throw Failure() } }
    }

    @Test func anExplicitContextIsBoundForTheOperationWhenSkipped() throws {
        defer { StaticTracing.spans = true }
        StaticTracing.skipSpansUnlessBootstrapped()
        var parent = InstrumentationContext.topLevel
        parent[RequestID.self] = "explicit"
        let (inside, ofSpan) = StaticTracing.withSpan("op", context: parent) { span in
            (InstrumentationContext.current?[RequestID.self], span.context[RequestID.self])
        }
        #expect(inside == "explicit" && ofSpan == "explicit")
    }

    @Test func aScopedTracerBoundByStaticTracingSeesItsSpansAndSwiftDistributedTracingsDoesNot() throws {
        defer { StaticTracing.spans = true }
        StaticTracing.skipSpansUnlessBootstrapped()
        let tracer = InMemoryTracer()
        StaticTracing.withTracer(tracer) {
            #expect(StaticTracing.spans, "on for the scope")
            StaticTracing.withSpan("inside") { _ in }
        }
        #expect(!StaticTracing.spans, "off again after it")
        #expect(tracer.finishedSpans.map(\.operationName) == ["inside"])
        // The documented limit: the key cannot see swift-distributed-tracing's own scope.
        let unseen = InMemoryTracer()
        withTracer(unseen) { StaticTracing.withSpan("skipped") { _ in } }
        #expect(unseen.finishedSpans.isEmpty)
    }

    @Test func asyncSpansFollowTheKeyToo() async throws {
        defer { StaticTracing.spans = true }
        let tracer = InMemoryTracer()
        await withTracer(tracer) {
            await StaticTracing.withSpan("on") { _ in await Task.yield() }
        }
        StaticTracing.skipSpansUnlessBootstrapped()
        var parent = InstrumentationContext.topLevel
        parent[RequestID.self] = "async"
        let seen = await StaticTracing.withSpan("off", context: parent) { _ in
            await Task.yield()
            return InstrumentationContext.current?[RequestID.self]
        }
        await StaticTracing.withTracer(tracer) {
            await StaticTracing.withSpan("scoped") { _ in await Task.yield() }
        }
        #expect(tracer.finishedSpans.map(\.operationName) == ["on", "scoped"])
        #expect(seen == "async")
    }

    @Test func operationsRunExactlyOnceWhileTheKeyFlipsUnderThreads() async throws {
        defer { StaticTracing.spans = true }
        let counter = Counter()
        let perThread = 20_000
        async let a: Void = Self.spanLoop(perThread, counter)
        async let b: Void = Self.spanLoop(perThread, counter)
        for i in 0..<200 {
            StaticTracing.spans = i % 2 == 0
            await Task.yield()
        }
        _ = await (a, b)
        #expect(counter.runs.load(ordering: .relaxed) == 2 * perThread)
    }

    final class Counter: Sendable {
        let runs = Atomic<Int>(0)
    }

    static func spanLoop(_ n: Int, _ counter: Counter) async {
        for _ in 0..<n {
            StaticTracing.withSpan("loop") { _ in _ = counter.runs.add(1, ordering: .relaxed) }
        }
    }
}
