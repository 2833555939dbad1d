public import Instrumentation
import StaticCall
public import Tracing
import Synchronization

/// swift-distributed-tracing's `withSpan`, behind a static key that the application turns off when no
/// tracer is bootstrapped.
///
/// With no tracer, `withSpan` still finds the tracer (a reader lock and dynamic casts over the
/// bootstrapped instrument), starts and ends a no-op span, and binds its context as the task-local
/// context for the operation: about 3,800 instructions per span here (`Benchmarks/RESULTS.md`, group
/// "trace"). After ``skipSpansUnlessBootstrapped()`` has found no tracer, a
/// ``withSpan(_:ofKind:at:function:file:line:_:)`` site is one `jmp` to its operation (the kernel's
/// `static_branch_unlikely()`).
///
/// **On until the application says otherwise.** A library can adopt these calls without changing what
/// its users get: every span is exactly swift-distributed-tracing's until the root application calls
/// ``skipSpansUnlessBootstrapped()``, after its `InstrumentationSystem.bootstrap` (or its decision not to
/// bootstrap). The key cannot see a tracer bound later, so:
///
/// - bootstrap before calling ``skipSpansUnlessBootstrapped()`` (or call it again after), and call it
///   outside any tracer scope (inside one, it finds that scope's tracer);
/// - a tracer that conforms only to swift-distributed-tracing's deprecated `LegacyTracer` is not seen;
/// - bind a scoped tracer with `withTracer(_:_:)` of this type rather than swift-distributed-tracing's,
///   which the key cannot see: under it, skipped sites stay skipped.
///
/// ``spans`` is a counted key (`static_key_slow_inc()`): the default holds one enable, which
/// ``skipSpansUnlessBootstrapped()`` gives up and ``stopSkippingSpans()`` takes back, and each scoped
/// tracer holds one for its scope. Assigning ``spans`` overrides all of them: don't.
public enum StaticTracing {
    /// Whether ``withSpan(_:ofKind:at:function:file:line:_:)`` sites start spans (through
    /// swift-distributed-tracing's `withSpan`): on while any enable is held (see ``StaticTracing``).
    @StaticKey public static var spans = true

    /// Whether ``skipSpansUnlessBootstrapped()`` has given up the default's enable of ``spans``.
    private static let skipping = Mutex(false)

    /// The application's opt-in: gives up the default's enable of ``spans`` when no tracer is bootstrapped
    /// (every site is skipped unless a scoped tracer holds one), takes it back when one is. Call it once
    /// the `InstrumentationSystem` is bootstrapped, or it is decided that it will not be, outside any
    /// tracer scope. Returns whether spans are skipped now (outside scoped tracers).
    @discardableResult
    public static func skipSpansUnlessBootstrapped() -> Bool {
        // What `withSpan` asks for: the instrument's first tracer, none meaning a NoOpTracer. A tracer
        // that conforms only to the deprecated `LegacyTracer` (which `withSpan` also finds) counts as none.
        setSkipping(InstrumentationSystem.tracer is NoOpTracer)
    }

    /// Undoes ``skipSpansUnlessBootstrapped()``: every site starts its span through `withSpan` again.
    public static func stopSkippingSpans() {
        setSkipping(false)
    }

    /// Applied at once even inside `StaticCalls.batch` (queued there, the count could go out of step
    /// with `skipping`: a decrement at 0 is clamped, not remembered).
    @discardableResult
    private static func setSkipping(_ skip: Bool) -> Bool {
        skipping.withLock { skipping in
            StaticCallRuntime.applyingAtOnce {
                if skip && !skipping { $spans.decrement() }
                if !skip && skipping { $spans.increment() }
            }
            skipping = skip
            return skip
        }
    }

    /// swift-distributed-tracing's `withTracer`, holding an enable of ``spans`` for its scope: the sites
    /// skipped since ``skipSpansUnlessBootstrapped()`` start spans in it (other threads' sites too, through
    /// the full `withSpan`, which finds the tracer only in this task). Entering and leaving the first
    /// scope each patch every site (a patch transaction, tens of microseconds): for tests and diagnostics,
    /// not for every request. The enable applies at once, inside `StaticCalls.batch` too.
    public static func withTracer<Result, Failure: Error>(
        _ tracer: any Tracer,
        _ operation: () throws(Failure) -> Result
    ) throws(Failure) -> Result {
        // Applied at once even inside `StaticCalls.batch`: queued there, the increment and the decrement
        // would both land at the batch's end (never on).
        StaticCallRuntime.applyingAtOnce { $spans.increment() }
        defer { StaticCallRuntime.applyingAtOnce { $spans.decrement() } }
        return try Tracing.withTracer(tracer, operation)
    }

    /// The `async` `withTracer(_:_:)` (its enable applied at once, as there).
    public nonisolated(nonsending) static func withTracer<Result, Failure: Error>(
        _ tracer: any Tracer,
        _ operation: nonisolated(nonsending) () async throws(Failure) -> Result
    ) async throws(Failure) -> Result {
        StaticCallRuntime.applyingAtOnce { $spans.increment() }
        defer { StaticCallRuntime.applyingAtOnce { $spans.decrement() } }
        return try await Tracing.withTracer(tracer, operation)
    }

    /// swift-distributed-tracing's `withSpan(_:context:ofKind:at:function:file:line:_:)` with the current
    /// context. While ``spans`` is off, the site is one jump to `operation`, given a ``SkippedSpan``.
    @inlinable
    public static func withSpan<T>(
        _ operationName: String,
        ofKind kind: SpanKind = .internal,
        at instant: @autoclosure () -> some TracerInstant = DefaultTracerClock.now,
        function: String = #function,
        file fileID: String = #fileID,
        line: UInt = #line,
        _ operation: (any Span) throws -> T
    ) rethrows -> T {
        if spans {
            return try Tracing.withSpan(operationName, ofKind: kind, at: instant(), function: function, file: fileID, line: line, operation)
        }
        return try operation(skippedSpan)
    }

    /// The span every skipped site passes: one value made once, so that a site neither builds nor
    /// destroys an existential (that cost 20 instructions per span).
    @usableFromInline static let skippedSpan: any Span = SkippedSpan()

    /// The same with an explicit parent `context`. While ``spans`` is off, `operation` runs with a no-op
    /// span of `context`, bound as the task-local context, as `withSpan` does with no tracer.
    @inlinable
    public static func withSpan<T>(
        _ operationName: String,
        context: @autoclosure () -> InstrumentationContext,
        ofKind kind: SpanKind = .internal,
        at instant: @autoclosure () -> some TracerInstant = DefaultTracerClock.now,
        function: String = #function,
        file fileID: String = #fileID,
        line: UInt = #line,
        _ operation: (any Span) throws -> T
    ) rethrows -> T {
        if spans {
            return try Tracing.withSpan(operationName, context: context(), ofKind: kind, at: instant(),
                                        function: function, file: fileID, line: line, operation)
        }
        let parent = context()
        return try InstrumentationContext.$current.withValue(parent) { try operation(NoOpTracer.NoOpSpan(context: parent)) }
    }

    /// ``withSpan(_:context:ofKind:at:function:file:line:_:)`` with the instant first, as
    /// swift-distributed-tracing's `withSpan(_:at:context:ofKind:function:file:line:_:)` takes it.
    @inlinable
    public static func withSpan<T, Instant: TracerInstant>(
        _ operationName: String,
        at instant: @autoclosure () -> Instant,
        context: @autoclosure () -> InstrumentationContext,
        ofKind kind: SpanKind = .internal,
        function: String = #function,
        file fileID: String = #fileID,
        line: UInt = #line,
        _ operation: (any Span) throws -> T
    ) rethrows -> T {
        try withSpan(operationName, context: context(), ofKind: kind, at: instant(), function: function, file: fileID, line: line, operation)
    }

    /// The `async` ``withSpan(_:ofKind:at:function:file:line:_:)``.
    @inlinable
    public static func withSpan<T>(
        _ operationName: String,
        ofKind kind: SpanKind = .internal,
        at instant: @autoclosure () -> some TracerInstant = DefaultTracerClock.now,
        isolation: isolated (any Actor)? = #isolation,
        function: String = #function,
        file fileID: String = #fileID,
        line: UInt = #line,
        _ operation: (any Span) async throws -> T
    ) async rethrows -> T {
        if spans {
            return try await Tracing.withSpan(operationName, ofKind: kind, at: instant(), isolation: isolation,
                                              function: function, file: fileID, line: line, operation)
        }
        return try await operation(skippedSpan)
    }

    /// The `async` ``withSpan(_:context:ofKind:at:function:file:line:_:)``.
    @inlinable
    public static func withSpan<T>(
        _ operationName: String,
        context: @autoclosure () -> InstrumentationContext,
        ofKind kind: SpanKind = .internal,
        at instant: @autoclosure () -> some TracerInstant = DefaultTracerClock.now,
        isolation: isolated (any Actor)? = #isolation,
        function: String = #function,
        file fileID: String = #fileID,
        line: UInt = #line,
        _ operation: (any Span) async throws -> T
    ) async rethrows -> T {
        if spans {
            return try await Tracing.withSpan(operationName, context: context(), ofKind: kind, at: instant(), isolation: isolation,
                                              function: function, file: fileID, line: line, operation)
        }
        let parent = context()
        return try await InstrumentationContext.$current.withValue(parent) { try await operation(NoOpTracer.NoOpSpan(context: parent)) }
    }

    /// The `async` ``withSpan(_:at:context:ofKind:function:file:line:_:)``.
    @inlinable
    public static func withSpan<T, Instant: TracerInstant>(
        _ operationName: String,
        at instant: @autoclosure () -> Instant,
        context: @autoclosure () -> InstrumentationContext,
        ofKind kind: SpanKind = .internal,
        isolation: isolated (any Actor)? = #isolation,
        function: String = #function,
        file fileID: String = #fileID,
        line: UInt = #line,
        _ operation: (any Span) async throws -> T
    ) async rethrows -> T {
        try await withSpan(operationName, context: context(), ofKind: kind, at: instant(), isolation: isolation,
                           function: function, file: fileID, line: line, operation)
    }

    /// The span a skipped site gives its operation: a no-op span, like swift-distributed-tracing's
    /// `NoOpSpan`, whose context is read when asked for (the site reads nothing on its way), so it is the
    /// task-local context of the moment (that of the call, unless read inside a narrower binding), or
    /// `.topLevel`. Unlike `withSpan`, the site binds no context for the operation: inside it,
    /// `InstrumentationContext.current` is the caller's (nil rather than `.topLevel` when there is none).
    public struct SkippedSpan: Span {
        @inlinable public init() {}

        public var context: InstrumentationContext { InstrumentationContext.current ?? .topLevel }
        public var isRecording: Bool { false }
        public var operationName: String {
            get { "noop" }
            nonmutating set {}
        }
        public var attributes: SpanAttributes {
            get { [:] }
            nonmutating set {}
        }
        public func setStatus(_ status: SpanStatus) {}
        public func addLink(_ link: SpanLink) {}
        public func addEvent(_ event: SpanEvent) {}
        public func recordError<Instant: TracerInstant>(_ error: Error, attributes: SpanAttributes, at instant: @autoclosure () -> Instant) {}
        public func end<Instant: TracerInstant>(at instant: @autoclosure () -> Instant) {}
    }
}
