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

    @Test(arguments: cases)
    func loggingProgramPasses(_ c: IntegrationCase) async throws {
        await expectProgramPasses(try Self.program.get(), c, timeout: 300)
    }
}
