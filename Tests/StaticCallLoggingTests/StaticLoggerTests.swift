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
        // Each pair on one line: the same #fileID, #function and #line.
        plain.trace("t", metadata: ["k": "v"]); let t1 = storage.take(); gated.trace("t", metadata: ["k": "v"]); let t2 = storage.take()
        plain.debug("d", error: TestError(), metadata: ["k": "v"], source: "src"); let d1 = storage.take(); gated.debug("d", error: TestError(), metadata: ["k": "v"], source: "src"); let d2 = storage.take()
        plain.info("i", source: "s"); let i1 = storage.take(); gated.info("i", source: "s"); let i2 = storage.take()
        plain.notice("n"); let n1 = storage.take(); gated.notice("n"); let n2 = storage.take()
        plain.warning("w", error: TestError()); let w1 = storage.take(); gated.warning("w", error: TestError()); let w2 = storage.take()
        plain.error("e"); let e1 = storage.take(); gated.error("e"); let e2 = storage.take()
        plain.critical("c", metadata: ["x": "y"]); let c1 = storage.take(); gated.critical("c", metadata: ["x": "y"]); let c2 = storage.take()
        plain.log(level: .debug, "l", metadata: ["k": "v"]); let l1 = storage.take(); gated.log(level: .debug, "l", metadata: ["k": "v"]); let l2 = storage.take()
        for (a, b) in [(t1, t2), (d1, d2), (i1, i2), (n1, n2), (w1, w2), (e1, e2), (c1, c2), (l1, l2)] {
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
}
