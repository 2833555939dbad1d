public import Logging
import StaticCall
import Synchronization

/// The process-wide run-time ceiling of log levels: one static key per level that can be turned off.
///
/// swift-log's `MaxLogLevel…` package traits remove statements below a level at build time, for the
/// root application only. These keys do it at run time: a ``StaticLogger`` statement below
/// ``minimumLevel`` is one `jmp` past the statement (its site is patched, the kernel's
/// `static_branch_unlikely()`), and the `Logger` and its handler are not touched. Lowering the level
/// turns the statements back on in every thread at once; the handler's own `logLevel` still decides
/// what it writes, as with a plain `Logger`.
///
/// `critical` has no key: it is never turned off.
public enum StaticLogLevels {
    /// `trace` statements may reach the handler.
    @StaticKey public static var trace = false
    /// `debug` statements may reach the handler.
    @StaticKey public static var debug = false
    /// `info` statements may reach the handler.
    @StaticKey public static var info = true
    /// `notice` statements may reach the handler.
    @StaticKey public static var notice = true
    /// `warning` statements may reach the handler.
    @StaticKey public static var warning = true
    /// `error` statements may reach the handler.
    @StaticKey public static var error = true

    /// The lowest level a ``StaticLogger`` statement may have to reach its handler: the run-time analogue
    /// of swift-log's `MaxLogLevel…` traits. `.info` until set (swift-log's default handler level).
    ///
    /// Setting it flips the keys of the levels that change, in one patch transaction (`StaticCalls.batch`).
    /// Reading it reads the keys: the lowest level whose key is on (the keys can also be set one by one).
    public static var minimumLevel: Logger.Level {
        get {
            for level in Logger.Level.allCases where isEnabled(level) { return level }
            return .critical
        }
        set {
            StaticCalls.batch {
                trace = newValue <= .trace
                debug = newValue <= .debug
                info = newValue <= .info
                notice = newValue <= .notice
                warning = newValue <= .warning
                error = newValue <= .error
            }
        }
    }

    /// Serializes the read-then-set of ``lower(to:)`` and ``follow(_:)`` (two threads lowering at once
    /// must end at the lower of the two levels).
    private static let changes = Mutex<Void>(())

    /// Lowers ``minimumLevel`` to `level` if it is above it; never raises it.
    public static func lower(to level: Logger.Level) {
        changes.withLock { _ in
            if level < minimumLevel { minimumLevel = level }
        }
    }

    /// Sets ``minimumLevel`` to `level`, raising or lowering it (a no-op when it is `level` already).
    public static func follow(_ level: Logger.Level) {
        changes.withLock { _ in
            if level != minimumLevel { minimumLevel = level }
        }
    }

    /// Whether statements of `level` may reach the handler now (reads the level's key; `critical`: always).
    @inlinable
    public static func isEnabled(_ level: Logger.Level) -> Bool {
        switch level {
        case .trace: trace
        case .debug: debug
        case .info: info
        case .notice: notice
        case .warning: warning
        case .error: error
        case .critical: true
        }
    }
}
