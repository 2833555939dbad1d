public import Logging
import StaticCall

/// A `Logger` behind the level keys: the statements of swift-log's call-site API (`trace(…)` …
/// `critical(…)`, `log(level:…)`), each `if <level's key> { logger.<level>(…) }`, for ``StaticLogger``
/// (a stored `Logger`) and ``StaticLogger/current`` (swift-log's task-local `Logger.current`, read only
/// when the statement's level is on).
public protocol StaticLogging {
    /// The `Logger` a statement goes to, asked for only when its level is on.
    var logger: Logger { get }
}

/// swift-log's task-local logger (`Logger.current`, bound by `withLogger`) behind the level keys: while a
/// statement's level is off, the task-local is not read either (a read costs more than the statement's
/// jump). `StaticLogger.current.trace("…")` for `Logger.current.trace("…")`.
public struct TaskLocalStaticLogger: StaticLogging, Sendable {
    @inlinable public init() {}

    /// `Logger.current`: the logger of the innermost `withLogger` scope, or swift-log's unbound default.
    @inlinable public var logger: Logger { Logger.current }
}

extension StaticLogger {
    /// The task-local logger (`Logger.current`) behind the level keys, read only when a statement's level
    /// is on.
    @inlinable public static var current: TaskLocalStaticLogger { TaskLocalStaticLogger() }
}

/// A `Logger` whose statements below the process's run-time level ceiling cost one jump: swift-log's
/// call-site API, gated by static keys (``StaticLogLevels``).
///
/// Adopting it is a type change: `logger.trace("…", metadata: …)` keeps its labels, autoclosures and
/// `#fileID`/`#function`/`#line` defaults. Each method is `@inlinable`, and its body is `if <level's
/// key> { logger.<level>(…) }`: in an optimized build each statement in your module is its own call site
/// of the level's key, which the runtime patches into a `jmp` past the statement while the level is off
/// (the message and metadata are not evaluated, the `Logger` is not touched) and into a `jmp` into it
/// while it is on. What reaches the `Logger` is exactly what swift-log gets from the same statement, and
/// its handler's `logLevel` still filters it.
///
/// ```swift
/// var logger = StaticLogger(label: "db")
/// logger.trace("row", metadata: ["id": "\(id)"])   // a jmp past it while trace is off
/// StaticLogLevels.minimumLevel = .trace              // on, in every thread, at once
/// ```
public struct StaticLogger: StaticLogging, Sendable {
    /// The `Logger` the statements go to, for APIs that take one.
    public var logger: Logger

    /// Wraps `logger`.
    public init(_ logger: Logger) {
        self.logger = logger
    }

    /// A `Logger(label:)`, wrapped.
    public init(label: String) {
        self.logger = Logger(label: label)
    }

    /// A `Logger(label:factory:)`, wrapped.
    public init(label: String, factory: (String) -> any LogHandler) {
        self.logger = Logger(label: label, factory: factory)
    }

    /// A `Logger(label:factory:)` whose factory takes the metadata provider, wrapped.
    public init(label: String, factory: (String, Logger.MetadataProvider?) -> any LogHandler) {
        self.logger = Logger(label: label, factory: factory)
    }

    /// A `Logger(label:metadataProvider:)`, wrapped.
    public init(label: String, metadataProvider: Logger.MetadataProvider) {
        self.logger = Logger(label: label, metadataProvider: metadataProvider)
    }

    /// The logger's label.
    @inlinable
    public var label: String { logger.label }

    /// The logger's handler's level (`Logger.logLevel`): it filters what passes the ceiling. Setting it
    /// below ``StaticLogLevels/minimumLevel`` lowers the ceiling to it (``StaticLogLevels/lower(to:)``), so
    /// that `logger.logLevel = .debug` makes debug statements appear as it does with a `Logger`; it never
    /// raises the ceiling (other loggers may still need the lower level).
    @inlinable
    public var logLevel: Logger.Level {
        get { logger.logLevel }
        set {
            logger.logLevel = newValue
            StaticLogLevels.lower(to: newValue)
        }
    }

    /// The logger's metadata provider (`Logger.metadataProvider`).
    @inlinable
    public var metadataProvider: Logger.MetadataProvider? { logger.metadataProvider }

    /// The logger's metadata item for `metadataKey` (`Logger[metadataKey:]`).
    @inlinable
    public subscript(metadataKey metadataKey: String) -> Logger.Metadata.Value? {
        get { logger[metadataKey: metadataKey] }
        set { logger[metadataKey: metadataKey] = newValue }
    }

    /// The logger's handler.
    @inlinable
    public var handler: any LogHandler {
        get { logger.handler }
        set { logger.handler = newValue }
    }
}

extension StaticLogging {
    /// `Logger.log(level:…)` when the level's key is on: for a level known only at run time (a switch
    /// over the level, then that level's key).
    @inlinable
    public func log(
        level: Logger.Level,
        _ message: @autoclosure () -> Logger.Message,
        error: @autoclosure () -> (any Error)? = nil,
        metadata: @autoclosure () -> Logger.Metadata? = nil,
        source: @autoclosure () -> String? = nil,
        file: String = #fileID,
        function: String = #function,
        line: UInt = #line
    ) {
        if StaticLogLevels.isEnabled(level) {
            logger.log(level: level, message(), error: error(), metadata: metadata(), source: source(),
                       file: file, function: function, line: line)
        }
    }

    /// Logs at `level` when the level's key is on.
    @inlinable
    public func log(
        level: Logger.Level,
        _ message: @autoclosure () -> Logger.Message,
        metadata: @autoclosure () -> Logger.Metadata? = nil,
        source: @autoclosure () -> String? = nil,
        file: String = #fileID,
        function: String = #function,
        line: UInt = #line
    ) {
        if StaticLogLevels.isEnabled(level) {
            logger.log(level: level, message(), metadata: metadata(), source: source(), file: file, function: function, line: line)
        }
    }

    /// Logs at `level` when the level's key is on.
    @inlinable
    public func log(
        level: Logger.Level,
        _ message: @autoclosure () -> Logger.Message,
        metadata: @autoclosure () -> Logger.Metadata? = nil,
        file: String = #fileID,
        function: String = #function,
        line: UInt = #line
    ) {
        if StaticLogLevels.isEnabled(level) {
            logger.log(level: level, message(), metadata: metadata(), file: file, function: function, line: line)
        }
    }
}

extension StaticLogging {
    /// `Logger.trace(_:error:metadata:source:file:function:line:)`, when ``StaticLogLevels/trace`` is on; otherwise nothing is evaluated and the statement is one jump.
    @inlinable
    public func trace(
        _ message: @autoclosure () -> Logger.Message,
        error: @autoclosure () -> (any Error)? = nil,
        metadata: @autoclosure () -> Logger.Metadata? = nil,
        source: @autoclosure () -> String? = nil,
        file: String = #fileID,
        function: String = #function,
        line: UInt = #line
    ) {
        // Compiled out below the MaxLogLevel trait's level, as swift-log compiles out Logger.trace's body.
        #if !(MaxLogLevelDebug || MaxLogLevelInfo || MaxLogLevelNotice || MaxLogLevelWarning || MaxLogLevelError || MaxLogLevelCritical || MaxLogLevelNone)
        if StaticLogLevels.trace {
            logger.trace(message(), error: error(), metadata: metadata(), source: source(), file: file, function: function, line: line)
        }
        #endif
    }

    /// `Logger.trace(_:metadata:source:file:function:line:)`, when ``StaticLogLevels/trace`` is on; otherwise nothing is evaluated and the statement is one jump.
    @inlinable
    public func trace(
        _ message: @autoclosure () -> Logger.Message,
        metadata: @autoclosure () -> Logger.Metadata? = nil,
        source: @autoclosure () -> String? = nil,
        file: String = #fileID,
        function: String = #function,
        line: UInt = #line
    ) {
        // Compiled out below the MaxLogLevel trait's level, as swift-log compiles out Logger.trace's body.
        #if !(MaxLogLevelDebug || MaxLogLevelInfo || MaxLogLevelNotice || MaxLogLevelWarning || MaxLogLevelError || MaxLogLevelCritical || MaxLogLevelNone)
        if StaticLogLevels.trace {
            logger.trace(message(), metadata: metadata(), source: source(), file: file, function: function, line: line)
        }
        #endif
    }

    /// `Logger.trace(_:metadata:file:function:line:)`, when ``StaticLogLevels/trace`` is on; otherwise nothing is evaluated and the statement is one jump.
    @inlinable
    public func trace(
        _ message: @autoclosure () -> Logger.Message,
        metadata: @autoclosure () -> Logger.Metadata? = nil,
        file: String = #fileID,
        function: String = #function,
        line: UInt = #line
    ) {
        // Compiled out below the MaxLogLevel trait's level, as swift-log compiles out Logger.trace's body.
        #if !(MaxLogLevelDebug || MaxLogLevelInfo || MaxLogLevelNotice || MaxLogLevelWarning || MaxLogLevelError || MaxLogLevelCritical || MaxLogLevelNone)
        if StaticLogLevels.trace {
            logger.trace(message(), metadata: metadata(), file: file, function: function, line: line)
        }
        #endif
    }
}

extension StaticLogging {
    /// `Logger.debug(_:error:metadata:source:file:function:line:)`, when ``StaticLogLevels/debug`` is on; otherwise nothing is evaluated and the statement is one jump.
    @inlinable
    public func debug(
        _ message: @autoclosure () -> Logger.Message,
        error: @autoclosure () -> (any Error)? = nil,
        metadata: @autoclosure () -> Logger.Metadata? = nil,
        source: @autoclosure () -> String? = nil,
        file: String = #fileID,
        function: String = #function,
        line: UInt = #line
    ) {
        // Compiled out below the MaxLogLevel trait's level, as swift-log compiles out Logger.debug's body.
        #if !(MaxLogLevelInfo || MaxLogLevelNotice || MaxLogLevelWarning || MaxLogLevelError || MaxLogLevelCritical || MaxLogLevelNone)
        if StaticLogLevels.debug {
            logger.debug(message(), error: error(), metadata: metadata(), source: source(), file: file, function: function, line: line)
        }
        #endif
    }

    /// `Logger.debug(_:metadata:source:file:function:line:)`, when ``StaticLogLevels/debug`` is on; otherwise nothing is evaluated and the statement is one jump.
    @inlinable
    public func debug(
        _ message: @autoclosure () -> Logger.Message,
        metadata: @autoclosure () -> Logger.Metadata? = nil,
        source: @autoclosure () -> String? = nil,
        file: String = #fileID,
        function: String = #function,
        line: UInt = #line
    ) {
        // Compiled out below the MaxLogLevel trait's level, as swift-log compiles out Logger.debug's body.
        #if !(MaxLogLevelInfo || MaxLogLevelNotice || MaxLogLevelWarning || MaxLogLevelError || MaxLogLevelCritical || MaxLogLevelNone)
        if StaticLogLevels.debug {
            logger.debug(message(), metadata: metadata(), source: source(), file: file, function: function, line: line)
        }
        #endif
    }

    /// `Logger.debug(_:metadata:file:function:line:)`, when ``StaticLogLevels/debug`` is on; otherwise nothing is evaluated and the statement is one jump.
    @inlinable
    public func debug(
        _ message: @autoclosure () -> Logger.Message,
        metadata: @autoclosure () -> Logger.Metadata? = nil,
        file: String = #fileID,
        function: String = #function,
        line: UInt = #line
    ) {
        // Compiled out below the MaxLogLevel trait's level, as swift-log compiles out Logger.debug's body.
        #if !(MaxLogLevelInfo || MaxLogLevelNotice || MaxLogLevelWarning || MaxLogLevelError || MaxLogLevelCritical || MaxLogLevelNone)
        if StaticLogLevels.debug {
            logger.debug(message(), metadata: metadata(), file: file, function: function, line: line)
        }
        #endif
    }
}

extension StaticLogging {
    /// `Logger.info(_:error:metadata:source:file:function:line:)`, when ``StaticLogLevels/info`` is on; otherwise nothing is evaluated and the statement is one jump.
    @inlinable
    public func info(
        _ message: @autoclosure () -> Logger.Message,
        error: @autoclosure () -> (any Error)? = nil,
        metadata: @autoclosure () -> Logger.Metadata? = nil,
        source: @autoclosure () -> String? = nil,
        file: String = #fileID,
        function: String = #function,
        line: UInt = #line
    ) {
        // Compiled out below the MaxLogLevel trait's level, as swift-log compiles out Logger.info's body.
        #if !(MaxLogLevelNotice || MaxLogLevelWarning || MaxLogLevelError || MaxLogLevelCritical || MaxLogLevelNone)
        if StaticLogLevels.info {
            logger.info(message(), error: error(), metadata: metadata(), source: source(), file: file, function: function, line: line)
        }
        #endif
    }

    /// `Logger.info(_:metadata:source:file:function:line:)`, when ``StaticLogLevels/info`` is on; otherwise nothing is evaluated and the statement is one jump.
    @inlinable
    public func info(
        _ message: @autoclosure () -> Logger.Message,
        metadata: @autoclosure () -> Logger.Metadata? = nil,
        source: @autoclosure () -> String? = nil,
        file: String = #fileID,
        function: String = #function,
        line: UInt = #line
    ) {
        // Compiled out below the MaxLogLevel trait's level, as swift-log compiles out Logger.info's body.
        #if !(MaxLogLevelNotice || MaxLogLevelWarning || MaxLogLevelError || MaxLogLevelCritical || MaxLogLevelNone)
        if StaticLogLevels.info {
            logger.info(message(), metadata: metadata(), source: source(), file: file, function: function, line: line)
        }
        #endif
    }

    /// `Logger.info(_:metadata:file:function:line:)`, when ``StaticLogLevels/info`` is on; otherwise nothing is evaluated and the statement is one jump.
    @inlinable
    public func info(
        _ message: @autoclosure () -> Logger.Message,
        metadata: @autoclosure () -> Logger.Metadata? = nil,
        file: String = #fileID,
        function: String = #function,
        line: UInt = #line
    ) {
        // Compiled out below the MaxLogLevel trait's level, as swift-log compiles out Logger.info's body.
        #if !(MaxLogLevelNotice || MaxLogLevelWarning || MaxLogLevelError || MaxLogLevelCritical || MaxLogLevelNone)
        if StaticLogLevels.info {
            logger.info(message(), metadata: metadata(), file: file, function: function, line: line)
        }
        #endif
    }
}

extension StaticLogging {
    /// `Logger.notice(_:error:metadata:source:file:function:line:)`, when ``StaticLogLevels/notice`` is on; otherwise nothing is evaluated and the statement is one jump.
    @inlinable
    public func notice(
        _ message: @autoclosure () -> Logger.Message,
        error: @autoclosure () -> (any Error)? = nil,
        metadata: @autoclosure () -> Logger.Metadata? = nil,
        source: @autoclosure () -> String? = nil,
        file: String = #fileID,
        function: String = #function,
        line: UInt = #line
    ) {
        // Compiled out below the MaxLogLevel trait's level, as swift-log compiles out Logger.notice's body.
        #if !(MaxLogLevelWarning || MaxLogLevelError || MaxLogLevelCritical || MaxLogLevelNone)
        if StaticLogLevels.notice {
            logger.notice(message(), error: error(), metadata: metadata(), source: source(), file: file, function: function, line: line)
        }
        #endif
    }

    /// `Logger.notice(_:metadata:source:file:function:line:)`, when ``StaticLogLevels/notice`` is on; otherwise nothing is evaluated and the statement is one jump.
    @inlinable
    public func notice(
        _ message: @autoclosure () -> Logger.Message,
        metadata: @autoclosure () -> Logger.Metadata? = nil,
        source: @autoclosure () -> String? = nil,
        file: String = #fileID,
        function: String = #function,
        line: UInt = #line
    ) {
        // Compiled out below the MaxLogLevel trait's level, as swift-log compiles out Logger.notice's body.
        #if !(MaxLogLevelWarning || MaxLogLevelError || MaxLogLevelCritical || MaxLogLevelNone)
        if StaticLogLevels.notice {
            logger.notice(message(), metadata: metadata(), source: source(), file: file, function: function, line: line)
        }
        #endif
    }

    /// `Logger.notice(_:metadata:file:function:line:)`, when ``StaticLogLevels/notice`` is on; otherwise nothing is evaluated and the statement is one jump.
    @inlinable
    public func notice(
        _ message: @autoclosure () -> Logger.Message,
        metadata: @autoclosure () -> Logger.Metadata? = nil,
        file: String = #fileID,
        function: String = #function,
        line: UInt = #line
    ) {
        // Compiled out below the MaxLogLevel trait's level, as swift-log compiles out Logger.notice's body.
        #if !(MaxLogLevelWarning || MaxLogLevelError || MaxLogLevelCritical || MaxLogLevelNone)
        if StaticLogLevels.notice {
            logger.notice(message(), metadata: metadata(), file: file, function: function, line: line)
        }
        #endif
    }
}

extension StaticLogging {
    /// `Logger.warning(_:error:metadata:source:file:function:line:)`, when ``StaticLogLevels/warning`` is on; otherwise nothing is evaluated and the statement is one jump.
    @inlinable
    public func warning(
        _ message: @autoclosure () -> Logger.Message,
        error: @autoclosure () -> (any Error)? = nil,
        metadata: @autoclosure () -> Logger.Metadata? = nil,
        source: @autoclosure () -> String? = nil,
        file: String = #fileID,
        function: String = #function,
        line: UInt = #line
    ) {
        // Compiled out below the MaxLogLevel trait's level, as swift-log compiles out Logger.warning's body.
        #if !(MaxLogLevelError || MaxLogLevelCritical || MaxLogLevelNone)
        if StaticLogLevels.warning {
            logger.warning(message(), error: error(), metadata: metadata(), source: source(), file: file, function: function, line: line)
        }
        #endif
    }

    /// `Logger.warning(_:metadata:source:file:function:line:)`, when ``StaticLogLevels/warning`` is on; otherwise nothing is evaluated and the statement is one jump.
    @inlinable
    public func warning(
        _ message: @autoclosure () -> Logger.Message,
        metadata: @autoclosure () -> Logger.Metadata? = nil,
        source: @autoclosure () -> String? = nil,
        file: String = #fileID,
        function: String = #function,
        line: UInt = #line
    ) {
        // Compiled out below the MaxLogLevel trait's level, as swift-log compiles out Logger.warning's body.
        #if !(MaxLogLevelError || MaxLogLevelCritical || MaxLogLevelNone)
        if StaticLogLevels.warning {
            logger.warning(message(), metadata: metadata(), source: source(), file: file, function: function, line: line)
        }
        #endif
    }

    /// `Logger.warning(_:metadata:file:function:line:)`, when ``StaticLogLevels/warning`` is on; otherwise nothing is evaluated and the statement is one jump.
    @inlinable
    public func warning(
        _ message: @autoclosure () -> Logger.Message,
        metadata: @autoclosure () -> Logger.Metadata? = nil,
        file: String = #fileID,
        function: String = #function,
        line: UInt = #line
    ) {
        // Compiled out below the MaxLogLevel trait's level, as swift-log compiles out Logger.warning's body.
        #if !(MaxLogLevelError || MaxLogLevelCritical || MaxLogLevelNone)
        if StaticLogLevels.warning {
            logger.warning(message(), metadata: metadata(), file: file, function: function, line: line)
        }
        #endif
    }
}

extension StaticLogging {
    /// `Logger.error(_:error:metadata:source:file:function:line:)`, when ``StaticLogLevels/error`` is on; otherwise nothing is evaluated and the statement is one jump.
    @inlinable
    public func error(
        _ message: @autoclosure () -> Logger.Message,
        error: @autoclosure () -> (any Error)? = nil,
        metadata: @autoclosure () -> Logger.Metadata? = nil,
        source: @autoclosure () -> String? = nil,
        file: String = #fileID,
        function: String = #function,
        line: UInt = #line
    ) {
        // Compiled out below the MaxLogLevel trait's level, as swift-log compiles out Logger.error's body.
        #if !(MaxLogLevelCritical || MaxLogLevelNone)
        if StaticLogLevels.error {
            logger.error(message(), error: error(), metadata: metadata(), source: source(), file: file, function: function, line: line)
        }
        #endif
    }

    /// `Logger.error(_:metadata:source:file:function:line:)`, when ``StaticLogLevels/error`` is on; otherwise nothing is evaluated and the statement is one jump.
    @inlinable
    public func error(
        _ message: @autoclosure () -> Logger.Message,
        metadata: @autoclosure () -> Logger.Metadata? = nil,
        source: @autoclosure () -> String? = nil,
        file: String = #fileID,
        function: String = #function,
        line: UInt = #line
    ) {
        // Compiled out below the MaxLogLevel trait's level, as swift-log compiles out Logger.error's body.
        #if !(MaxLogLevelCritical || MaxLogLevelNone)
        if StaticLogLevels.error {
            logger.error(message(), metadata: metadata(), source: source(), file: file, function: function, line: line)
        }
        #endif
    }

    /// `Logger.error(_:metadata:file:function:line:)`, when ``StaticLogLevels/error`` is on; otherwise nothing is evaluated and the statement is one jump.
    @inlinable
    public func error(
        _ message: @autoclosure () -> Logger.Message,
        metadata: @autoclosure () -> Logger.Metadata? = nil,
        file: String = #fileID,
        function: String = #function,
        line: UInt = #line
    ) {
        // Compiled out below the MaxLogLevel trait's level, as swift-log compiles out Logger.error's body.
        #if !(MaxLogLevelCritical || MaxLogLevelNone)
        if StaticLogLevels.error {
            logger.error(message(), metadata: metadata(), file: file, function: function, line: line)
        }
        #endif
    }
}

extension StaticLogging {
    /// `Logger.critical(_:error:metadata:source:file:function:line:)`, always (`critical` has no key).
    @inlinable
    public func critical(
        _ message: @autoclosure () -> Logger.Message,
        error: @autoclosure () -> (any Error)? = nil,
        metadata: @autoclosure () -> Logger.Metadata? = nil,
        source: @autoclosure () -> String? = nil,
        file: String = #fileID,
        function: String = #function,
        line: UInt = #line
    ) {
        #if !(MaxLogLevelNone)
        logger.critical(message(), error: error(), metadata: metadata(), source: source(), file: file, function: function, line: line)
        #endif
    }

    /// `Logger.critical(_:metadata:source:file:function:line:)`, always (`critical` has no key).
    @inlinable
    public func critical(
        _ message: @autoclosure () -> Logger.Message,
        metadata: @autoclosure () -> Logger.Metadata? = nil,
        source: @autoclosure () -> String? = nil,
        file: String = #fileID,
        function: String = #function,
        line: UInt = #line
    ) {
        #if !(MaxLogLevelNone)
        logger.critical(message(), metadata: metadata(), source: source(), file: file, function: function, line: line)
        #endif
    }

    /// `Logger.critical(_:metadata:file:function:line:)`, always (`critical` has no key).
    @inlinable
    public func critical(
        _ message: @autoclosure () -> Logger.Message,
        metadata: @autoclosure () -> Logger.Metadata? = nil,
        file: String = #fileID,
        function: String = #function,
        line: UInt = #line
    ) {
        #if !(MaxLogLevelNone)
        logger.critical(message(), metadata: metadata(), file: file, function: function, line: line)
        #endif
    }
}
