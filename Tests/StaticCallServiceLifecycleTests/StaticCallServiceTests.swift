import Logging
import ServiceLifecycle
import ServiceLifecycleTestKit
import StaticCall
import StaticCallServiceLifecycle
import Synchronization
import Testing

/// A key of this test program, registered by `StaticCalls.patchAll()` at the service's start-up.
@StaticKey var serviceTestFlag = false

@StaticCall func serviceTestHook(_ x: Int) -> Int { x &+ 1 }

final class Lines: Sendable {
    let lines = Mutex<[String]>([])
    var all: [String] { lines.withLock { $0 } }
}

struct LineHandler: LogHandler {
    let sink: Lines
    var logLevel: Logger.Level = .trace
    var metadata: Logger.Metadata = [:]
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) {
        sink.lines.withLock { $0.append("\(event.level) \(event.message) \(event.metadata ?? [:])") }
    }
}

@Suite("StaticCallService: patch at start-up, log the report, require keys inline", .serialized)
struct StaticCallServiceTests {
    static func logger() -> (Logger, Lines) {
        let lines = Lines()
        return (Logger(label: "service") { _ in LineHandler(sink: lines) }, lines)
    }

    @Test func startUpRegistersEveryKeyLogsTheReportAndWaitsForShutdown() async throws {
        let (logger, lines) = Self.logger()
        let service = StaticCallService(logger: logger)
        #if !(os(Linux) && arch(x86_64) && canImport(Glibc) && !STATICCALL_FORCE_PORTABLE)
        // The portable build reads no registration records (patchAll() registers nothing more): the keys
        // register at their first use, as everywhere without the engine.
        _ = serviceTestFlag
        _ = serviceTestHook(0)
        #endif
        let returned = Lines() // a line once run() has returned
        try await testGracefulShutdown { trigger in
            let running = Task {
                try await service.run()
                returned.lines.withLock { $0.append("returned") }
            }
            while !lines.all.contains(where: { $0.hasPrefix("info static calls:") }) { await Task.yield() }
            try await Task.sleep(for: .milliseconds(50))
            let returnedEarly = !returned.all.isEmpty
            #expect(!returnedEarly, "run() returned before the graceful shutdown")
            trigger.triggerGracefulShutdown()
            try await running.value
            let returnedAfter = !returned.all.isEmpty
            #expect(returnedAfter)
        }
        let report = try #require(StaticCallService.startupReport)
        // patchAll() registered this program's keys from the records the macros leave in the image,
        // before either was used (where the engine is built).
        #expect(report["serviceTestFlag"] != nil && report["serviceTestHook(_:)"] != nil)
        #expect(lines.all.contains { $0.hasPrefix("info static calls: \(report.mode) mode, \(report.keys.count) keys") }, "\(lines.all.prefix(3))")
        #expect(lines.all.contains { $0.contains("static call serviceTestFlag:") })
        #expect(!serviceTestFlag && serviceTestHook(1) == 2)
    }

    @Test func aRequiredKeyThatIsNotRegisteredFailsStartUp() throws {
        let (logger, lines) = Self.logger()
        #expect(throws: StaticCallServiceError.self) {
            try StaticCallService(logger: logger, requiredInline: ["noSuchKey"]).start()
        }
        #expect(lines.all.contains { $0.hasPrefix("critical static calls: required keys not inline: noSuchKey (no key of that name") })
    }

    @Test func aRequiredKeyPassesWhenInlineAndFailsOtherwise() throws {
        let (logger, _) = Self.logger()
        let service = StaticCallService(logger: logger, requiredInline: ["serviceTestFlag", "serviceTestHook(_:)"])
        if StaticCalls.mode == .inline {
            let report = try service.start()
            for name in ["serviceTestFlag", "serviceTestHook(_:)"] {
                #expect(report[name]!.sitesFound > 0 && report[name]!.sitesPatched == report[name]!.sitesFound)
            }
        } else {
            // Indirect mode (STATICCALL_MODE=indirect, the portable build): no key is inline.
            let error = #expect(throws: StaticCallServiceError.self) { try service.start() }
            #expect(error?.failures.map(\.key) == ["serviceTestFlag", "serviceTestHook(_:)"])
            #expect(error?.failures.allSatisfy { $0.reason.hasPrefix("indirect mode") } == true, "\(error?.failures.map(\.reason) ?? [])")
        }
    }
}
