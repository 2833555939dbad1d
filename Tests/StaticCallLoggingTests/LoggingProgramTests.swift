import StaticCallTestSupport
import Testing

/// The -O program (IntegrationTests/LoggingMain): statements as sites of their own, patched into jumps,
/// and the ceiling moved 2000 times while two threads log; in inline mode and in indirect mode.
@Suite("StaticLogger in an optimized program")
struct LoggingProgramTests {
    static let program = IntegrationBinary.build("staticcall-logging-integration", override: "STATICCALL_LOGGING_INTEGRATION_BIN")

    static let cases = [
        IntegrationCase(name: "inline: each statement a site, jumps past and into it, 0 wrong while the ceiling moves", arguments: [], environment: [:]),
        IntegrationCase(name: "STATICCALL_MODE=indirect: the same statements and results", arguments: [], environment: ["STATICCALL_MODE": "indirect"]),
    ]

    /// Each statement is a site of its own in the user's module: the -O program's `onPacket` and
    /// `onConnection` (each one `logger.trace(…)`) call the trace key's trampoline themselves, through
    /// StaticLogger's @inlinable body and the key's @inlinable getter (objdump, an oracle we did not write).
    @Test func eachStatementIsACallOfTheKeysTrampolineInTheUsersFunction() throws {
        let path = try Self.program.get()
        let out = runProcess("/bin/sh", ["-c", "/usr/bin/objdump -d --no-show-raw-insn \"$0\" | swift demangle", path], environment: [:]).output
        var function = ""
        var calls: [String: [String]] = [:]
        for line in out.split(separator: "\n") {
            if line.hasSuffix(">:"), let open = line.firstIndex(of: "<") { function = String(line[open...]) }
            for name in ["onPacket", "onConnection"] where function.hasPrefix("<staticcall_logging_integration.\(name)(") {
                if line.contains("\tcall") { calls[name, default: []].append(String(line)) }
            }
        }
        for name in ["onPacket", "onConnection"] {
            #expect(calls[name]?.contains { $0.contains("<__dtrace_staticcall_key_trace_") } == true, "\(name) calls: \(calls[name] ?? [])")
        }
    }

    @Test(arguments: cases)
    func loggingProgramPasses(_ c: IntegrationCase) async throws {
        await expectProgramPasses(try Self.program.get(), c, timeout: 300)
    }
}
