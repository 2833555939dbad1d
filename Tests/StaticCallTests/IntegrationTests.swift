import Foundation
import Testing

/// Builds the integration program in release mode once (the patcher must be proven on optimized code),
/// or uses `STATICCALL_INTEGRATION_BIN` if set.
enum IntegrationBinary {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static let path: Result<String, BuildError> = build("staticcall-integration", override: "STATICCALL_INTEGRATION_BIN")
    static let macroProgramPath: Result<String, BuildError> = build("staticcall-macro-integration", override: "STATICCALL_MACRO_INTEGRATION_BIN")

    static func build(_ product: String, override: String) -> Result<String, BuildError> {
        if let given = ProcessInfo.processInfo.environment[override] { return .success(given) }
        let scratch = packageRoot.appendingPathComponent(".build-release").path
        let result = runProcess("/usr/bin/env", ["swift", "build", "-c", "release", "--scratch-path", scratch,
                                                 "--package-path", packageRoot.path, "--product", product], environment: [:])
        guard result.status == 0 else { return .failure(BuildError(output: result.output)) }
        return .success(scratch + "/release/" + product)
    }

    struct BuildError: Error, CustomStringConvertible {
        var output: String
        var description: String { "release build of staticcall-integration failed:\n\(output)" }
    }
}

/// Runs a program to completion; returns its exit status and combined output.
func runProcess(_ executable: String, _ arguments: [String], environment: [String: String]) -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    for key in env.keys where key.hasPrefix("STATICCALL_") && key != "STATICCALL_INTEGRATION_BIN" { env[key] = nil }
    env.merge(environment) { $1 }
    process.environment = env
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    do { try process.run() } catch { return (-1, "\(error)") }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

struct IntegrationCase: CustomTestStringConvertible, Sendable {
    var name: String
    var arguments: [String]
    var environment: [String: String]
    var testDescription: String { name }
}

@Suite("Release-built integration program", .serialized)
struct IntegrationTests {
    static let cases: [IntegrationCase] = [
        IntegrationCase(name: "every state at loop, tail, other-file and second-module sites (inline, /proc/self/mem)",
                        arguments: ["basic", "--expect-mode", "inline", "--expect-writer", "proc-self-mem"],
                        environment: ["STATICCALL_STATS": "1"]),
        IntegrationCase(name: "two threads call while 10^4 update rounds cycle targets, NOP and constants",
                        arguments: ["stress", "--iterations", "10000", "--expect-mode", "inline"], environment: [:]),
        IntegrationCase(name: "STATICCALL_MODE=indirect: same results, nothing patched, slow path every call",
                        arguments: ["basic", "--expect-mode", "indirect", "--expect-reason", "STATICCALL_MODE"],
                        environment: ["STATICCALL_MODE": "indirect", "STATICCALL_STATS": "1"]),
        IntegrationCase(name: "STATICCALL_MODE=indirect under load",
                        arguments: ["stress", "--iterations", "3000", "--expect-mode", "indirect"], environment: ["STATICCALL_MODE": "indirect"]),
        IntegrationCase(name: "/proc/self/mem refused: falls back to mprotect, still inline",
                        arguments: ["basic", "--expect-mode", "inline", "--expect-writer", "mprotect", "--expect-reason", "proc/self/mem"],
                        environment: ["STATICCALL_TEST_DENY_WRITERS": "proc-self-mem"]),
        IntegrationCase(name: "mprotect fallback under load",
                        arguments: ["stress", "--iterations", "3000", "--expect-mode", "inline", "--expect-writer", "mprotect"],
                        environment: ["STATICCALL_TEST_DENY_WRITERS": "proc-self-mem"]),
        IntegrationCase(name: "MDWE (PR_SET_MDWE) with /proc/self/mem refused: indirect, reason names mprotect",
                        arguments: ["mdwe", "--expect-mode", "indirect", "--expect-reason", "mprotect(RWX)"],
                        environment: ["STATICCALL_TEST_DENY_WRITERS": "proc-self-mem"]),
        IntegrationCase(name: "MDWE alone: /proc/self/mem still patches",
                        arguments: ["mdwe", "--expect-mode", "inline", "--expect-writer", "proc-self-mem"], environment: [:]),
        IntegrationCase(name: "a user's SIGTRAP handler installed later still gets raise(SIGTRAP), and patching under load still works",
                        arguments: ["sigtrap", "--iterations", "5000"], environment: [:]),
        IntegrationCase(name: "a forked child calls and patches on its own",
                        arguments: ["fork"], environment: [:]),
    ]

    @Test(arguments: cases)
    func integrationProgramPasses(_ c: IntegrationCase) throws {
        try expectPasses(IntegrationBinary.path.get(), c)
    }

    /// Runs a program that prints PASS/FAIL lines and a closing "N passed, M failed".
    func expectPasses(_ binary: String, _ c: IntegrationCase) {
        let result = runProcess(binary, c.arguments, environment: c.environment)
        let failures = result.output.split(separator: "\n").filter { $0.hasPrefix("FAIL") }
        #expect(result.status == 0, "exit \(result.status)\n\(result.output.suffix(4000))")
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
        #expect(result.output.contains(" passed, 0 failed"), "\(result.output.suffix(2000))")
    }

    static let macroCases: [IntegrationCase] = [
        IntegrationCase(name: "the DESIGN.md §1 program through the macros, three modules, two calling threads (inline)",
                        arguments: [], environment: [:]),
        IntegrationCase(name: "the DESIGN.md §1 program under STATICCALL_MODE=indirect",
                        arguments: [], environment: ["STATICCALL_MODE": "indirect"]),
    ]

    @Test(arguments: macroCases)
    func macroProgramPasses(_ c: IntegrationCase) throws {
        try expectPasses(IntegrationBinary.macroProgramPath.get(), c)
    }
}
