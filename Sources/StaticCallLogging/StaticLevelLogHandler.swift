public import Logging

/// A `LogHandler` that keeps ``StaticLogLevels/minimumLevel`` in step with its own `logLevel`: for programs
/// that change `logger.logLevel` at run time (an admin endpoint, a signal) and want ``StaticLogger``
/// statements of the new level to reach the handler at once.
///
/// Wrap the handler at bootstrap: `LoggingSystem.bootstrap { StaticLevelLogHandler(StreamLogHandler.standardOutput(label: $0)) }`.
///
/// The ceiling is process-wide and loggers may disagree. Two policies (``Policy``):
/// - ``Policy/lowers`` (the default): the handler only ever *lowers* the ceiling, when created and when
///   its level is set below it. One logger at `.trace` and another at `.info` need the trace key on; the
///   second one's handler then filters its trace statements as swift-log does (at a plain `Logger`'s
///   cost). Raising is left to the program (``StaticLogLevels/minimumLevel``), since one handler cannot
///   know whether another still needs the lower level. Note that a level set on a temporary copy of a
///   logger lowers the ceiling for good.
/// - ``Policy/follows``: every level set on the handler, and the level of every handler created (each
///   logger the bootstrapped factory makes), becomes the process's ceiling, raised or lowered:
///   the global override swift-log's documentation allows ("a change in logLevel to one Logger might in
///   certain cases have no effect"). The last level set wins; statements of other loggers below it are
///   not emitted, whatever their handlers' levels.
public struct StaticLevelLogHandler: LogHandler {
    /// How a handler's level moves the process's ceiling.
    public enum Policy: Sendable {
        /// Lowers it to the handler's level when that is below it; never raises it.
        case lowers
        /// Sets it to the handler's level, raising or lowering it.
        case follows
    }

    /// The handler that writes.
    public var wrapped: any LogHandler
    /// How this handler's level moves the ceiling.
    public let policy: Policy

    /// Wraps `handler`, moving the ceiling to its level as `policy` says.
    public init(_ handler: any LogHandler, policy: Policy = .lowers) {
        self.wrapped = handler
        self.policy = policy
        move(to: handler.logLevel)
    }

    public var logLevel: Logger.Level {
        get { wrapped.logLevel }
        set {
            wrapped.logLevel = newValue
            move(to: newValue)
        }
    }

    public var metadata: Logger.Metadata {
        get { wrapped.metadata }
        set { wrapped.metadata = newValue }
    }

    public var metadataProvider: Logger.MetadataProvider? {
        get { wrapped.metadataProvider }
        set { wrapped.metadataProvider = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { wrapped[metadataKey: key] }
        set { wrapped[metadataKey: key] = newValue }
    }

    public func log(event: LogEvent) {
        wrapped.log(event: event)
    }

    private func move(to level: Logger.Level) {
        switch policy {
        case .lowers: StaticLogLevels.lower(to: level)
        case .follows: StaticLogLevels.follow(level)
        }
    }
}
