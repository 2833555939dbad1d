import Foundation
@testable import StaticCall
import Testing

/// The nested package IntegrationTests/Images (the plugin, the C library of targets, and the consumer,
/// an executable of another package linked against a `.dynamic` library product), its products for these
/// tests built once (debug, their Swift targets at -O).
enum ImagePackage {
    /// Built on a thread of its own, once, by the first test that needs it.
    static let binDirectory = Task { await onOwnThread(build) }

    static func build() -> Result<String, IntegrationBinary.BuildError> {
        if let given = ProcessInfo.processInfo.environment["STATICCALL_IMAGES_BIN_DIR"] { return .success(given) }
        let package = IntegrationBinary.packageRoot.appendingPathComponent("IntegrationTests/Images").path
        let arguments = ["swift", "build", "--package-path", package]
        // Only these tests' products: the package's coverage programs are Scripts/coverage.py's (CI).
        for product in ["consumer", "StaticCallTestPlugin", "StaticCallTestTargets"] {
            let build = runProcess("/usr/bin/env", arguments + ["--product", product], environment: [:])
            guard build.status == 0 else { return .failure(IntegrationBinary.BuildError(output: build.output)) }
        }
        let path = runProcess("/usr/bin/env", arguments + ["--show-bin-path"], environment: [:])
        guard path.status == 0, let directory = path.output.split(separator: "\n").last else {
            return .failure(IntegrationBinary.BuildError(output: path.output))
        }
        return .success(String(directory))
    }

    /// The arguments that point staticcall-integration at the plugin and the C library.
    static func libraryArguments() async throws -> [String] {
        let directory = try await binDirectory.value.get()
        return ["--plugin-path", directory + "/libStaticCallTestPlugin.so", "--targets-path", directory + "/libStaticCallTestTargets.so"]
    }

    static func consumer() async throws -> String { try await binDirectory.value.get() + "/consumer" }
}

/// Plugins, dynamic libraries and one runtime per process (the kernel's static_call_add_module/del),
/// each case in its own process.
@Suite("Images: plugins come and go while keys are updated; one runtime serves every copy",
       .enabled(if: Engine.isBuilt, "the portable build has no process-wide runtime; the nested package is built without the trait"))
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
    func imageProgramPasses(_ c: IntegrationCase) async throws {
        var withLibraries = c
        withLibraries.arguments += try await ImagePackage.libraryArguments()
        try await expectPasses(IntegrationBinary.path.get(), withLibraries)
    }

    static let consumerCases: [IntegrationCase] = [
        IntegrationCase(name: "a key in a .dynamic library product, called from an executable of another package (through the PLT and inlined code) and updated from both images, while two threads call",
                        arguments: [], environment: [:]),
        IntegrationCase(name: "the same under STATICCALL_MODE=indirect", arguments: [], environment: ["STATICCALL_MODE": "indirect"]),
    ]

    @Test(arguments: consumerCases)
    func consumerOfADynamicLibraryPasses(_ c: IntegrationCase) async throws {
        try await expectPasses(ImagePackage.consumer(), c)
    }

    func expectPasses(_ binary: String, _ c: IntegrationCase) async {
        let result = await runProgram(binary, c.arguments, environment: c.environment, timeout: 300)
        let failures = result.output.split(separator: "\n").filter { $0.hasPrefix("FAIL") }
        #expect(!result.timedOut, "timed out (a deadlock?)\n\(result.output.suffix(4000))")
        #expect(result.status == 0 && !result.signaled, "exit \(result.status)\(result.signaled ? " (signal)" : "")\n\(result.output.suffix(4000))")
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
        #expect(result.output.contains(" passed, 0 failed"), "\(result.output.suffix(2000))")
    }
}
