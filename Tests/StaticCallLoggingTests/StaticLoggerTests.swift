import Logging
import StaticCall
import StaticCallLogging
import Synchronization
import Testing

/// What a handler received: every field of each event, as text (`LogEvent` is not `Equatable`).
final class RecordingHandlerStorage: Sendable {
    let events = Mutex<[String]>([])
    func record(_ event: LogEvent) {
        let error = event.error.map { "\($0)" } ?? "-"
        let line = "\(event.level) \(event.message) error=\(error) metadata=\(event.metadata ?? [:]) source=\(event.source) \(event.file) \(event.function) \(event.line)"
        events.withLock { $0.append(line) }
    }
    var count: Int { events.withLock { $0.count } }
    func take() -> [String] { events.withLock { let e = $0; $0 = []; return e } }
}

struct RecordingHandler: LogHandler {
    let storage: RecordingHandlerStorage
    var logLevel: Logger.Level = .trace
    var metadata: Logger.Metadata = [:]
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) { storage.record(event) }
}

struct TestError: Error, CustomStringConvertible { var description: String { "test error" } }

/// The level keys are process-wide: the tests that set them run one at a time.
@Suite("StaticLogger: swift-log statements behind run-time level keys", .serialized)
struct StaticLoggerTests {
    static func loggers(level: Logger.Level = .trace) -> (plain: Logger, gated: StaticLogger, storage: RecordingHandlerStorage) {
        let storage = RecordingHandlerStorage()
        var plain = Logger(label: "test") { _ in RecordingHandler(storage: storage) }
        plain.logLevel = level
        plain[metadataKey: "request"] = "42"
        return (plain, StaticLogger(plain), storage)
    }

    @Test func enabledStatementsEmitExactlyWhatSwiftLogEmits() {
        StaticLogLevels.minimumLevel = .trace
        defer { StaticLogLevels.minimumLevel = .info }
        let (plain, gated, storage) = Self.loggers()
        // Each pair on one line: the same #fileID, #function and #line. Every overload of every level.
        var pairs: [([String], [String])] = []
        func pair(_ a: () -> Void, _ b: () -> Void) {
            a(); let first = storage.take()
            b(); let second = storage.take()
            pairs.append((first, second))
        }
        let e = TestError()
        pair({ plain.trace("t", error: e, metadata: ["k": "v"], source: "s") }, { gated.trace("t", error: e, metadata: ["k": "v"], source: "s") })
        pair({ plain.trace("t", metadata: ["k": "v"], source: "s") }, { gated.trace("t", metadata: ["k": "v"], source: "s") })
        pair({ plain.trace("t", metadata: ["k": "v"]) }, { gated.trace("t", metadata: ["k": "v"]) })
        pair({ plain.debug("d", error: e, metadata: ["k": "v"], source: "s") }, { gated.debug("d", error: e, metadata: ["k": "v"], source: "s") })
        pair({ plain.debug("d", source: "s") }, { gated.debug("d", source: "s") })
        pair({ plain.debug("d") }, { gated.debug("d") })
        pair({ plain.info("i", error: e) }, { gated.info("i", error: e) })
        pair({ plain.info("i", metadata: ["k": "v"], source: "s") }, { gated.info("i", metadata: ["k": "v"], source: "s") })
        pair({ plain.info("i") }, { gated.info("i") })
        pair({ plain.notice("n", error: e, source: "s") }, { gated.notice("n", error: e, source: "s") })
        pair({ plain.notice("n", source: "s") }, { gated.notice("n", source: "s") })
        pair({ plain.notice("n") }, { gated.notice("n") })
        pair({ plain.warning("w", error: e) }, { gated.warning("w", error: e) })
        pair({ plain.warning("w", metadata: ["k": "v"], source: "s") }, { gated.warning("w", metadata: ["k": "v"], source: "s") })
        pair({ plain.warning("w") }, { gated.warning("w") })
        pair({ plain.error("e", error: e, metadata: ["k": "v"]) }, { gated.error("e", error: e, metadata: ["k": "v"]) })
        pair({ plain.error("e", source: "s") }, { gated.error("e", source: "s") })
        pair({ plain.error("e") }, { gated.error("e") })
        pair({ plain.critical("c", error: e) }, { gated.critical("c", error: e) })
        pair({ plain.critical("c", metadata: ["x": "y"], source: "s") }, { gated.critical("c", metadata: ["x": "y"], source: "s") })
        pair({ plain.critical("c") }, { gated.critical("c") })
        pair({ plain.log(level: .debug, "l", error: e, metadata: ["k": "v"], source: "s") }, { gated.log(level: .debug, "l", error: e, metadata: ["k": "v"], source: "s") })
        pair({ plain.log(level: .notice, "l", metadata: ["k": "v"], source: "s") }, { gated.log(level: .notice, "l", metadata: ["k": "v"], source: "s") })
        pair({ plain.log(level: .trace, "l", metadata: ["k": "v"]) }, { gated.log(level: .trace, "l", metadata: ["k": "v"]) })
        #expect(pairs.count == 24)
        for (a, b) in pairs {
            #expect(a.count == 1)
            #expect(a == b)
        }
    }

    @Test func statementsBelowTheCeilingEvaluateNothingAndReachNoHandler() {
        StaticLogLevels.minimumLevel = .info
        let (_, gated, storage) = Self.loggers()
        let evaluated = Atomic<Int>(0)
        func message(_ text: String) -> Logger.Message {
            evaluated.add(1, ordering: .relaxed)
            return "\(text)"
        }
        gated.trace(message("t"), metadata: ["k": "\(message("m"))"])
        gated.debug(message("d"))
        gated.log(level: .trace, message("l"))
        #expect(evaluated.load(ordering: .relaxed) == 0)
        #expect(storage.count == 0)
        gated.info(message("i"))
        gated.critical(message("c"))
        #expect(evaluated.load(ordering: .relaxed) == 2)
        #expect(storage.count == 2)
    }

    @Test func theHandlersLevelStillFiltersWhatPassesTheCeiling() {
        StaticLogLevels.minimumLevel = .trace
        defer { StaticLogLevels.minimumLevel = .info }
        let (_, gated, storage) = Self.loggers(level: .warning)
        gated.trace("t")
        gated.info("i")
        gated.error("e")
        #expect(storage.take().count == 1)
    }

    @Test(arguments: Logger.Level.allCases)
    func minimumLevelReadsBackWhatWasSet(_ level: Logger.Level) {
        defer { StaticLogLevels.minimumLevel = .info }
        StaticLogLevels.minimumLevel = level
        #expect(StaticLogLevels.minimumLevel == level)
        for other in Logger.Level.allCases {
            #expect(StaticLogLevels.isEnabled(other) == (other >= level))
        }
    }

    @Test func theWrapperForwardsLabelLevelAndMetadata() {
        var (_, gated, _) = Self.loggers(level: .notice)
        #expect(gated.label == "test")
        #expect(gated.logLevel == .notice)
        gated.logLevel = .debug
        #expect(gated.logger.logLevel == .debug)
        #expect(gated[metadataKey: "request"] == "42")
        gated[metadataKey: "user"] = "ann"
        #expect(gated.logger[metadataKey: "user"] == "ann")
    }

    @Test func settingTheLoggersLevelLowersTheCeilingAsWithALogger() {
        StaticLogLevels.minimumLevel = .info
        defer { StaticLogLevels.minimumLevel = .info }
        var (_, gated, storage) = Self.loggers(level: .info)
        gated.debug("before")
        gated.logLevel = .debug
        gated.debug("after")
        #expect(storage.take().count == 1)
        #expect(StaticLogLevels.minimumLevel == .debug)
        gated.logLevel = .error
        #expect(StaticLogLevels.minimumLevel == .debug)
    }

    @Test func aFollowingLevelHandlerRaisesAndLowersTheCeiling() {
        StaticLogLevels.minimumLevel = .info
        defer { StaticLogLevels.minimumLevel = .info }
        var inner = RecordingHandler(storage: RecordingHandlerStorage())
        inner.logLevel = .notice
        var handler = StaticLevelLogHandler(inner, policy: .follows)
        #expect(StaticLogLevels.minimumLevel == .notice)
        handler.logLevel = .trace
        #expect(StaticLogLevels.minimumLevel == .trace)
        handler.logLevel = .error
        #expect(StaticLogLevels.minimumLevel == .error)
    }

    @Test func twoThreadsLoweringAtOnceEndAtTheLowerLevel() async {
        for _ in 0..<50 {
            StaticLogLevels.minimumLevel = .error
            async let a: Void = StaticLogLevels.lower(to: .debug)
            async let b: Void = StaticLogLevels.lower(to: .trace)
            _ = await (a, b)
            #expect(StaticLogLevels.minimumLevel == .trace)
        }
        StaticLogLevels.minimumLevel = .info
    }

    @Test func aLevelHandlerLowersTheCeilingAndNeverRaisesIt() {
        StaticLogLevels.minimumLevel = .info
        defer { StaticLogLevels.minimumLevel = .info }
        let storage = RecordingHandlerStorage()
        var inner = RecordingHandler(storage: storage)
        inner.logLevel = .debug
        var handler = StaticLevelLogHandler(inner)
        #expect(StaticLogLevels.minimumLevel == .debug)
        handler.logLevel = .trace
        #expect(StaticLogLevels.minimumLevel == .trace)
        handler.logLevel = .error
        #expect(StaticLogLevels.minimumLevel == .trace)
        #expect(handler.logLevel == .error)
        let logger = StaticLogger(Logger(label: "h") { _ in handler })
        logger.error("e")
        logger.info("i")
        #expect(storage.take().count == 1)
    }

    @Test func theTaskLocalLoggerIsTheOneWithLoggerBindsAndEmitsWhatSwiftLogEmits() {
        StaticLogLevels.minimumLevel = .trace
        defer { StaticLogLevels.minimumLevel = .info }
        let storage = RecordingHandlerStorage()
        let logger = Logger(label: "task-local") { _ in RecordingHandler(storage: storage) }
        withLogger(logger) { _ in
            // Each pair on one line: the same #fileID, #function and #line.
            Logger.current.trace("t", metadata: ["k": "v"]); let plain = storage.take(); StaticLogger.current.trace("t", metadata: ["k": "v"])
            #expect(plain.count == 1, "the bound logger received it")
            #expect(storage.take() == plain)
            Logger.current.info("i", source: "s"); let plainInfo = storage.take(); StaticLogger.current.info("i", source: "s")
            #expect(storage.take() == plainInfo)
        }
        #expect(storage.count == 0)
    }

    @Test func aStatementAsksForItsLoggerOnlyWhenItsLevelIsOn() {
        /// A logger source that counts how often it is asked (as `Logger.current` would be read).
        final class Asked: Sendable { let count = Atomic<Int>(0) }
        struct Counting: StaticLogging {
            let asked = Asked()
            let base: Logger
            var logger: Logger { asked.count.add(1, ordering: .relaxed); return base }
        }
        let (plain, _, storage) = Self.loggers()
        let counting = Counting(base: plain)
        StaticLogLevels.minimumLevel = .info
        defer { StaticLogLevels.minimumLevel = .info }
        counting.trace("off")
        counting.debug("off")
        #expect(counting.asked.count.load(ordering: .relaxed) == 0)
        counting.info("on")
        #expect(counting.asked.count.load(ordering: .relaxed) == 1)
        #expect(storage.count == 1)
    }

}
