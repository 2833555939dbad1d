import Foundation
import Testing

/// The image tests' program and the two libraries it loads (a Swift plugin with its own copy of
/// StaticCall, and a C library of targets), release-built side by side.
enum ImageProducts {
    static let program: Result<String, IntegrationBinary.BuildError> = {
        for library in ["StaticCallTestPlugin", "StaticCallTestTargets"] where ProcessInfo.processInfo.environment["STATICCALL_INTEGRATION_BIN"] == nil {
            if case let .failure(error) = IntegrationBinary.build(library, override: "STATICCALL_PLUGIN_BIN") { return .failure(error) }
        }
        return IntegrationBinary.path
    }()
}

/// Plugins, dynamic libraries and one runtime per process (the kernel's static_call_add_module/del),
/// each case in its own process.
@Suite("Images: plugins come and go while keys are updated; one runtime serves every copy", .serialized)
struct ImageTests {
    static let cases: [IntegrationCase] = [
        IntegrationCase(name: "ten rounds: a plugin's keys patched through the host's runtime, a host key on a plugin's and on an unloaded C library's function, SIGTRAP and fork after each unload",
                        arguments: ["plugin", "--rounds", "10"], environment: [:]),
        IntegrationCase(name: "the same rounds with the INT3 fallback (remapping refused)",
                        arguments: ["plugin", "--rounds", "4", "--int3"], environment: [:]),
        IntegrationCase(name: "the same rounds under STATICCALL_MODE=indirect",
                        arguments: ["plugin", "--rounds", "4"], environment: ["STATICCALL_MODE": "indirect"]),
        IntegrationCase(name: "two threads load and close the plugin and the C library while a third retargets a host key at the library and a fourth updates keys",
                        arguments: ["plugin-churn", "--rounds", "200"], environment: [:]),
        IntegrationCase(name: "short soak while a thread loads and closes the plugin and the C library (page remap)",
                        arguments: ["soak", "--iterations", "3000", "--plugin"], environment: [:]),
        IntegrationCase(name: "short soak while a thread loads and closes the plugin and the C library (INT3 fallback)",
                        arguments: ["soak", "--iterations", "2000", "--plugin", "--int3"], environment: [:]),
    ]

    @Test(arguments: cases)
    func imageProgramPasses(_ c: IntegrationCase) throws {
        let binary = try ImageProducts.program.get()
        let result = runProcess(binary, c.arguments, environment: c.environment, timeout: 300)
        let failures = result.output.split(separator: "\n").filter { $0.hasPrefix("FAIL") }
        #expect(!result.timedOut, "timed out (a deadlock?)\n\(result.output.suffix(4000))")
        #expect(result.status == 0 && !result.signaled, "exit \(result.status)\(result.signaled ? " (signal)" : "")\n\(result.output.suffix(4000))")
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
        #expect(result.output.contains(" passed, 0 failed"), "\(result.output.suffix(2000))")
    }
}
