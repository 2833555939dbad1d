public import Logging

/// A `LogHandler` that keeps ``StaticLogLevels/minimumLevel`` at or below its own `logLevel`: for programs
/// that change `logger.logLevel` at run time (an admin endpoint, a signal) and want ``StaticLogger``
/// statements of the new level to reach the handler at once.
///
/// Wrap the handler at bootstrap: `LoggingSystem.bootstrap { StaticLevelLogHandler(StreamLogHandler.standardOutput(label: $0)) }`.
///
/// It only ever *lowers* the ceiling (when created, and when its level is set below it). The ceiling is
/// process-wide and loggers may disagree: one at `.trace` and another at `.info` need the trace key on,
/// and the second one's handler then filters its trace statements as swift-log does (they cost what a
/// plain `Logger`'s do). Raising the level of one handler cannot know whether another still needs the
/// lower level, so raising the ceiling is left to the program: set ``StaticLogLevels/minimumLevel``.
public struct StaticLevelLogHandler: LogHandler {
    /// The handler that writes.
    public var wrapped: any LogHandler

    /// Wraps `handler`, lowering the ceiling to its level if that is below it.
    public init(_ handler: any LogHandler) {
        self.wrapped = handler
        Self.lowerCeiling(to: handler.logLevel)
    }

    public var logLevel: Logger.Level {
        get { wrapped.logLevel }
        set {
            wrapped.logLevel = newValue
            Self.lowerCeiling(to: newValue)
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

    static func lowerCeiling(to level: Logger.Level) {
        if level < StaticLogLevels.minimumLevel { StaticLogLevels.minimumLevel = level }
    }
}
