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

/// An executable of another package (IntegrationTests/Consumer), release-built with its own copy of
/// StaticCall, linked against the `.dynamic` library product StaticCallTestDynamicKeys (a key, its sites,
/// and another copy of StaticCall).
enum ConsumerPackage {
    static let program: Result<String, IntegrationBinary.BuildError> = {
        if let given = ProcessInfo.processInfo.environment["STATICCALL_CONSUMER_BIN"] { return .success(given) }
        let package = IntegrationBinary.packageRoot.appendingPathComponent("IntegrationTests/Consumer").path
        let arguments = ["swift", "build", "-c", "release", "--package-path", package, "--product", "consumer"]
        let build = runProcess("/usr/bin/env", arguments, environment: [:])
        guard build.status == 0 else { return .failure(IntegrationBinary.BuildError(output: build.output)) }
        let path = runProcess("/usr/bin/env", arguments + ["--show-bin-path"], environment: [:])
        guard path.status == 0, let directory = path.output.split(separator: "\n").last else {
            return .failure(IntegrationBinary.BuildError(output: path.output))
        }
        return .success(directory + "/consumer")
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
        try expectPasses(ImageProducts.program.get(), c)
    }

    static let consumerCases: [IntegrationCase] = [
        IntegrationCase(name: "a key in a .dynamic library product, called from an executable of another package (through the PLT and inlined code) and updated from both images, while two threads call",
                        arguments: [], environment: [:]),
        IntegrationCase(name: "the same under STATICCALL_MODE=indirect", arguments: [], environment: ["STATICCALL_MODE": "indirect"]),
    ]

    @Test(arguments: consumerCases)
    func consumerOfADynamicLibraryPasses(_ c: IntegrationCase) throws {
        try expectPasses(ConsumerPackage.program.get(), c)
    }

    func expectPasses(_ binary: String, _ c: IntegrationCase) {
        let result = runProcess(binary, c.arguments, environment: c.environment, timeout: 300)
        let failures = result.output.split(separator: "\n").filter { $0.hasPrefix("FAIL") }
        #expect(!result.timedOut, "timed out (a deadlock?)\n\(result.output.suffix(4000))")
        #expect(result.status == 0 && !result.signaled, "exit \(result.status)\(result.signaled ? " (signal)" : "")\n\(result.output.suffix(4000))")
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
        #expect(result.output.contains(" passed, 0 failed"), "\(result.output.suffix(2000))")
    }
}
