public import Logging
public import ServiceLifecycle
public import StaticCall
import Synchronization

/// A swift-service-lifecycle `Service` that registers and patches every key of the program at start-up,
/// logs `StaticCalls.report()`, and fails start-up when a key the application requires is not fully
/// inline. One line in a server's `ServiceGroup`:
///
/// ```swift
/// let group = ServiceGroup(services: [StaticCallService(logger: logger, requiredInline: ["checksum(_:)"]), server],
///                          logger: logger)
/// try await group.run()
/// ```
///
/// The analogue of the kernel patching its static calls at boot (`static_call_init()`), with the result
/// in the log instead of dmesg. After start-up it waits for the group's graceful shutdown; the report of
/// start-up stays available to health endpoints as ``startupReport``, and `StaticCalls.report()` gives
/// the current one.
///
/// A `ServiceGroup` starts its services together: the others may already run while this one patches,
/// and a failed requirement cancels the group after they started. Keys are correct in every state, so
/// that is safe; to refuse to start at all unless the required keys are inline, call ``start()`` before
/// `group.run()` (it throws the same error).
public struct StaticCallService: Service {
    /// Where the report goes: a summary at `info`, each key at `debug`, keys not fully inline at `warning`.
    public let logger: Logger
    /// Keys (by their report names, e.g. `"checksum(_:)"`, `"tracingEnabled"`) whose every site must hold
    /// its state inline after start-up: otherwise ``run()`` throws ``StaticCallServiceError``.
    public let requiredInline: Set<String>

    public init(logger: Logger, requiredInline: Set<String> = []) {
        self.logger = logger
        self.requiredInline = requiredInline
    }

    private static let lastStartup = Mutex<StaticCallReport?>(nil)

    /// The report as the last start-up left it (nil before one ran).
    public static var startupReport: StaticCallReport? { lastStartup.withLock { $0 } }

    /// Patches, logs and checks (``start()``), then waits for the group's graceful shutdown.
    public func run() async throws {
        _ = try start()
        try? await gracefulShutdown()
    }

    /// Registers and patches every key (`StaticCalls.patchAll()`), logs the report and checks the
    /// required keys; returns the report. Throws ``StaticCallServiceError`` when a required key is not
    /// registered or not fully inline.
    @discardableResult
    public func start() throws(StaticCallServiceError) -> StaticCallReport {
        var patchError: (any Error)?
        do { try StaticCalls.patchAll() } catch { patchError = error }
        let report = StaticCalls.report()
        Self.lastStartup.withLock { $0 = report }

        let sites = report.keys.reduce(0) { $0 + $1.sitesFound }, patched = report.keys.reduce(0) { $0 + $1.sitesPatched }
        logger.info("static calls: \(report.mode) mode, \(report.keys.count) keys, \(patched) of \(sites) sites inline",
                    metadata: report.reason.map { ["reason": "\($0)"] } ?? [:])
        for key in report.keys {
            let line: Logger.Message = "static call \(key.name): \(key.target), \(key.mode), \(key.sitesPatched) of \(key.sitesFound) sites inline"
            if key.sitesPatched < key.sitesFound || key.problem != nil {
                logger.warning(line, metadata: ["reason": "\(key.problem ?? key.unpatched.first?.reason ?? "")"])
            } else {
                logger.debug(line)
            }
        }
        if let patchError { logger.warning("static calls: not every site was patched: \(patchError)") }

        var failures: [StaticCallServiceError.Failure] = []
        for name in requiredInline.sorted() {
            guard let key = report[name] else {
                let names = report.keys.map(\.name).sorted()
                let shown = names.prefix(10).joined(separator: ", ") + (names.count > 10 ? ", and \(names.count - 10) more" : "")
                failures.append(.init(key: name, reason: "no key of that name is registered (\(shown))"))
                continue
            }
            if key.mode != .inline {
                failures.append(.init(key: name, reason: "\(key.mode) mode: \(key.problem ?? report.reason ?? "")"))
            } else if key.sitesFound == 0 {
                failures.append(.init(key: name, reason: "no call site found: every call goes through its trampoline"))
            } else if key.sitesPatched < key.sitesFound {
                failures.append(.init(key: name, reason: "\(key.sitesPatched) of \(key.sitesFound) sites inline: \(key.unpatched.first?.reason ?? "")"))
            }
        }
        guard failures.isEmpty else {
            let error = StaticCallServiceError(failures: failures)
            logger.critical("static calls: \(error)")
            throw error
        }
        return report
    }
}

/// Required keys that are not fully inline after start-up.
public struct StaticCallServiceError: Error, CustomStringConvertible, Sendable {
    public struct Failure: Sendable {
        /// The key's report name.
        public var key: String
        /// Why it is not inline.
        public var reason: String
    }
    public var failures: [Failure]
    public var description: String {
        "required keys not inline: " + failures.map { "\($0.key) (\($0.reason))" }.joined(separator: "; ")
    }
}
