#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#else
#error("unsupported platform: StaticCall needs Glibc, Musl or Darwin")
#endif
import Synchronization

/// The environment variables StaticCall reads (README.md, "Platforms and modes"). None is needed for normal use.
enum Environment {
    static func value(_ name: String) -> String? {
        guard let p = getenv(name) else { return nil }
        return String(cString: p)
    }

    /// `STATICCALL_MODE=indirect` caps the mode, like a boot option. Any other value is a mistake that
    /// would otherwise go unnoticed (`indriect`): it is warned about once, on standard error, and ignored.
    static let modeCap: StaticCallMode? = parseMode(value("STATICCALL_MODE"), warn: { message in
        var line = "staticcall: " + message + "\n"
        line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    })

    /// The mode cap a `STATICCALL_MODE` value asks for; `warn` hears about a value that is not one (pure).
    static func parseMode(_ raw: String?, warn: (String) -> Void) -> StaticCallMode? {
        guard let raw else { return nil }
        switch raw.lowercased() {
        case "indirect": return .indirect
        case "inline": return .inline
        case "": return nil
        default:
            warn("STATICCALL_MODE=\(raw) is not a mode and was ignored; the valid values are 'inline' and 'indirect'")
            return nil
        }
    }

    /// `STATICCALL_LOG=debug` prints each patch decision to standard error.
    static let debugLogging: Bool = value("STATICCALL_LOG")?.lowercased() == "debug"

    /// `STATICCALL_STATS=1` counts slow-path calls (on in debug builds of this library unless
    /// `STATICCALL_STATS=0`, which lets a debug-built program run the trampoline's plain jump).
    static let statistics: Bool = value("STATICCALL_STATS") == "1" || (isDebugConfiguration && value("STATICCALL_STATS") != "0")

    /// Whether this library was built in the debug configuration. Its own `DEBUG`, not
    /// `_isDebugAssertConfiguration()`: the runtime is compiled with -O in a debug build as well
    /// (Package.swift, `optimizedRuntime`), which makes that one false.
    #if DEBUG
    static let isDebugConfiguration = true
    #else
    static let isDebugConfiguration = false
    #endif
}

func debugLog(_ message: @autoclosure () -> String) {
    guard Environment.debugLogging else { return }
    var line = "staticcall: " + message() + "\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

/// Failures a user must hear about without asking (an update that did not reach every site): written
/// to standard error, at most `warningLimit` lines per process; `STATICCALL_LOG=debug` shows every one.
func warn(_ message: @autoclosure () -> String) {
    if Environment.debugLogging { return debugLog(message()) }
    let n = warningCount.wrappingAdd(1, ordering: .relaxed).oldValue
    guard n < warningLimit else { return }
    var line = "staticcall: " + message() + (n == warningLimit - 1 ? " (further warnings only with STATICCALL_LOG=debug)" : "") + "\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

private let warningLimit = 20
private let warningCount = Atomic<Int>(0)
