public import Instrumentation
import StaticCall
public import Tracing

/// swift-distributed-tracing's `withSpan`, behind a static key that the application turns off when no
/// tracer is bootstrapped.
///
/// With no tracer, `withSpan` still finds the tracer (a reader lock and dynamic casts over the
/// bootstrapped instrument), reads the clock, starts and ends a no-op span, and binds its context as
/// the task-local context for the operation: about 3,700 instructions per span here
/// (`Benchmarks/RESULTS.md`, group "trace"). After ``skipSpansUnlessBootstrapped()`` has found no tracer,
/// a ``withSpan(_:ofKind:at:function:file:line:_:)`` site is one `jmp` to its operation (the kernel's
/// `static_branch_unlikely()`).
///
/// **On until the application says otherwise.** A library can adopt these calls without changing what
/// its users get: every span is exactly swift-distributed-tracing's until the root application calls
/// ``skipSpansUnlessBootstrapped()``, after its `InstrumentationSystem.bootstrap` (or its decision not to
/// bootstrap). The key cannot see a tracer bound later, so:
///
/// - bootstrap before calling ``skipSpansUnlessBootstrapped()`` (or call it again after);
/// - a tracer that conforms only to swift-distributed-tracing's deprecated `LegacyTracer` is not seen;
/// - bind a scoped tracer with `withTracer(_:_:)` rather than swift-distributed-tracing's
///   `withTracer`, which the key cannot see: under it, skipped sites stay skipped.
public enum StaticTracing {
    /// Whether ``withSpan(_:ofKind:at:function:file:line:_:)`` sites start spans (through
    /// swift-distributed-tracing's `withSpan`). On by default; ``skipSpansUnlessBootstrapped()`` turns it
    /// off when no tracer is bootstrapped, and `withTracer(_:_:)` turns it on for its
    /// scope (a counted enable, `static_key_slow_inc()`).
    @StaticKey public static var spans = true

    /// The application's opt-in: turns ``spans`` off when no tracer is bootstrapped, on when one is.
    /// Call it once the `InstrumentationSystem` is bootstrapped, or it is decided that it will not be.
    /// Returns whether spans are skipped now.
    @discardableResult
    public static func skipSpansUnlessBootstrapped() -> Bool {
        // What `withSpan` asks for: the first tracer of the instrument (the search its deprecated
        // `legacyTracer` makes); none means it would use a NoOpTracer. A tracer that conforms only to the
        // deprecated `LegacyTracer` counts as none.
        let tracer = InstrumentationSystem._findInstrument(where: { $0 is any Tracer })
        spans = tracer != nil
        return tracer == nil
    }

    /// swift-distributed-tracing's `withTracer`, with ``spans`` on for its scope: the sites skipped since
    /// ``skipSpansUnlessBootstrapped()`` start spans in it (other threads' sites too, all through the
    /// full `withSpan`, which finds the tracer only in this task).
    public static func withTracer<Result, Failure: Error>(
        _ tracer: any Tracer,
        _ operation: () throws(Failure) -> Result
    ) throws(Failure) -> Result {
        $spans.increment()
        defer { $spans.decrement() }
        return try Tracing.withTracer(tracer, operation)
    }

    /// The `async` `withTracer(_:_:)`.
    public nonisolated(nonsending) static func withTracer<Result, Failure: Error>(
        _ tracer: any Tracer,
        _ operation: nonisolated(nonsending) () async throws(Failure) -> Result
    ) async throws(Failure) -> Result {
        $spans.increment()
        defer { $spans.decrement() }
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
