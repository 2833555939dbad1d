#if canImport(Glibc)
import Glibc
#endif
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

/// The key is process-wide: these tests take turns, and each leaves it on with its default's enable
/// (`stopSkippingSpans()`). The test process bootstraps no InstrumentationSystem (a one-time,
/// process-wide act): tracers are bound with `withTracer`, scoped to the test's task.
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
        defer { StaticTracing.stopSkippingSpans() }
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
        defer { StaticTracing.stopSkippingSpans() }
        StaticTracing.skipSpansUnlessBootstrapped()
        var parent = InstrumentationContext.topLevel
        parent[RequestID.self] = "explicit"
        let unseen = InMemoryTracer()
        let (inside, ofSpan) = withTracer(unseen) {
            StaticTracing.withSpan("op", context: parent) { span in
                (InstrumentationContext.current?[RequestID.self], span.context[RequestID.self])
            }
        }
        #expect(inside == "explicit" && ofSpan == "explicit")
        // swift-distributed-tracing's other argument order: the instant before the context.
        let atFirst = withTracer(unseen) {
            StaticTracing.withSpan("op", at: DefaultTracerClock.now, context: parent) { _ in InstrumentationContext.current?[RequestID.self] }
        }
        #expect(atFirst == "explicit")
        #expect(unseen.finishedSpans.isEmpty, "skipped: a tracer the key cannot see got no span")
    }

    @Test func aScopedTracerBoundByStaticTracingSeesItsSpansAndSwiftDistributedTracingsDoesNot() throws {
        defer { StaticTracing.stopSkippingSpans() }
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
        defer { StaticTracing.stopSkippingSpans() }
        let tracer = InMemoryTracer()
        await withTracer(tracer) {
            await StaticTracing.withSpan("on") { _ in await Task.yield() }
            await StaticTracing.withSpan("at first", at: DefaultTracerClock.now, context: .topLevel) { _ in await Task.yield() }
        }
        StaticTracing.skipSpansUnlessBootstrapped()
        var parent = InstrumentationContext.topLevel
        parent[RequestID.self] = "async"
        let unseen = InMemoryTracer()
        let seen = await withTracer(unseen) {
            await StaticTracing.withSpan("off") { _ in await Task.yield() }
            await StaticTracing.withSpan("off", at: DefaultTracerClock.now, context: .topLevel) { _ in await Task.yield() }
            return await StaticTracing.withSpan("off", context: parent) { _ in
                await Task.yield()
                return InstrumentationContext.current?[RequestID.self]
            }
        }
        #expect(unseen.finishedSpans.isEmpty, "every async overload skipped")
        await StaticTracing.withTracer(tracer) {
            await StaticTracing.withSpan("scoped") { _ in await Task.yield() }
        }
        #expect(tracer.finishedSpans.map(\.operationName) == ["on", "at first", "scoped"])
        #expect(seen == "async")
    }

    @Test func aScopedTracerInsideABatchSeesItsSpans() {
        defer { StaticTracing.stopSkippingSpans() }
        let tracer = InMemoryTracer()
        StaticTracing.skipSpansUnlessBootstrapped()
        StaticCalls.batch {
            StaticTracing.withTracer(tracer) { StaticTracing.withSpan("batched") { _ in } }
        }
        #expect(tracer.finishedSpans.map(\.operationName) == ["batched"], "the scope's enable applied at once")
        #expect(!StaticTracing.spans)
        StaticCalls.batch {
            StaticTracing.stopSkippingSpans()
            #expect(StaticTracing.spans, "the decision applies at once, inside a batch too")
            StaticTracing.skipSpansUnlessBootstrapped()
            #expect(!StaticTracing.spans)
        }
    }

    @Test func theApplicationsDecisionAndScopedTracersCountSeparately() async {
        defer { StaticTracing.stopSkippingSpans() }
        StaticTracing.skipSpansUnlessBootstrapped()
        StaticTracing.withTracer(InMemoryTracer()) {
            // The application changes its mind (a tracer was bootstrapped) while a scope holds an enable.
            StaticTracing.stopSkippingSpans()
        }
        #expect(StaticTracing.spans, "the scope gave back its own enable only")
        // And the other order: the application skips while a scope holds an enable; the scope's spans
        // are still made, and skipping holds after it.
        StaticTracing.stopSkippingSpans()
        let tracer = InMemoryTracer()
        await StaticTracing.withTracer(tracer) {
            // From a task that does not inherit the scope (as another request's would be).
            #expect(await Task.detached { StaticTracing.skipSpansUnlessBootstrapped() }.value)
            StaticTracing.withSpan("scoped") { _ in }
        }
        #expect(tracer.finishedSpans.map(\.operationName) == ["scoped"])
        #expect(!StaticTracing.spans)
    }

    #if canImport(Glibc) // the flip test's threads are pthreads, spelled as glibc declares them
    @Test func operationsRunExactlyOnceWhileTheKeyFlipsUnderThreads() throws {
        // Assigned here (the flips under test); assigning true at the end restores the default's count.
        defer { StaticTracing.spans = true }
        let threads = (0..<2).map { _ in SpanThread() }
        threads.forEach { $0.start() }
        while threads.contains(where: { $0.calls.load(ordering: .relaxed) == 0 }) { sched_yield() }
        let before = threads.map { $0.calls.load(ordering: .relaxed) }
        // At least 200 flips, and on until each thread has made spans meanwhile (a loaded machine may not
        // run a thread for a while; each flip is a patch transaction of tens of microseconds).
        var flips = 0
        func progressed() -> Bool { zip(threads, before).allSatisfy { $0.calls.load(ordering: .relaxed) > $1 } }
        while flips < 200 || (!progressed() && flips < 50_000) {
            StaticTracing.spans = flips % 2 == 1
            flips += 1
        }
        let after = threads.map { $0.calls.load(ordering: .relaxed) }
        threads.forEach { $0.join() }
        for (k, thread) in threads.enumerated() {
            #expect(after[k] > before[k], "thread \(k) made spans while the key flipped")
            #expect(thread.runs == thread.calls.load(ordering: .relaxed), "each operation ran exactly once")
        }
    }
    #endif
}

#if canImport(Glibc)
/// A thread making spans until told to stop, counting its calls and the operations that ran.
final class SpanThread: @unchecked Sendable {
    private var thread = pthread_t()
    let stop = Atomic<Bool>(false)
    let calls = Atomic<Int>(0)
    /// Written by the thread only, read after `join()`.
    private(set) var runs = 0

    func start() {
        pthread_create(&thread, nil, { context in
            let me = Unmanaged<SpanThread>.fromOpaque(context!).takeUnretainedValue()
            var runs = 0
            while !me.stop.load(ordering: .relaxed) {
                StaticTracing.withSpan("loop") { _ in runs += 1 }
                me.calls.add(1, ordering: .relaxed)
            }
            me.runs = runs
            return nil
        }, Unmanaged.passUnretained(self).toOpaque())
    }

    func join() {
        stop.store(true, ordering: .relaxed)
        pthread_join(thread, nil)
    }
}
#endif
