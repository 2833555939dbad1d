import Foundation
@testable import StaticCall
import StaticCallTestSupport
import Testing

/// The nested packages IntegrationTests/Images (the plugin, and the consumer, an executable of another
/// package linked against a `.dynamic` library product) and IntegrationTests/CTargets (the C library of
/// targets), their products for these tests built once (debug, their Swift targets at -O).
enum ImagePackage {
    /// The two packages' bin directories, built on a thread of their own, once, by the first test that
    /// needs them. `STATICCALL_IMAGES_BIN_DIR` names one directory holding all three products instead
    /// (consumer, libStaticCallTestPlugin.so, libStaticCallTestTargets.so).
    static let binDirectories = Task { await onOwnThread { () -> Result<(images: String, targets: String), IntegrationBinary.BuildError> in
        if let given = ProcessInfo.processInfo.environment["STATICCALL_IMAGES_BIN_DIR"] { return .success((given, given)) }
        // Only these tests' products: the image package's coverage programs are Scripts/coverage.py's (CI).
        return build("IntegrationTests/Images", products: ["consumer", "StaticCallTestPlugin"]).flatMap { images in
            build("IntegrationTests/CTargets", products: ["StaticCallTestTargets"]).map { (images, $0) }
        }
    } }

    /// Builds `products` of the nested package at `path` (relative to the repository); returns its bin
    /// directory.
    static func build(_ path: String, products: [String]) -> Result<String, IntegrationBinary.BuildError> {
        let arguments = ["swift", "build", "--package-path", IntegrationBinary.packageRoot.appendingPathComponent(path).path]
        // The image package's targets that use the macros load the root package's plugin, which this
        // test bundle's build made beside it. Named only when the manifests' default path (the root's
        // .build/debug) is not that file: the path is part of the compiler's flags, and another
        // spelling would make the next build of these packages (coverage.py, soak.sh) compile them again.
        let tool = IntegrationBinary.binDirectory + "/StaticCallMacros-tool"
        let usual = IntegrationBinary.packageRoot.appendingPathComponent(".build/debug/StaticCallMacros-tool").path
        let same = URL(fileURLWithPath: tool).resolvingSymlinksInPath() == URL(fileURLWithPath: usual).resolvingSymlinksInPath()
        let plugin = same ? [:] : ["STATICCALL_MACRO_PLUGIN": tool]
        // The package reads the root's sources through symlinks (IntegrationTests/Runtime). Run from a test,
        // SwiftPM kept its previous build plan after a source file was added there or removed (the new file
        // not compiled, or "missing inputs" for the old one; from a shell it planned again). Without the
        // plan's manifest it always makes a new plan; the build itself stays incremental.
        let manifest = IntegrationBinary.packageRoot.appendingPathComponent(path).appendingPathComponent(".build/debug.yaml")
        try? FileManager.default.removeItem(at: manifest)
        for product in products {
            let build = runProcess("/usr/bin/env", arguments + ["--product", product], environment: plugin)
            guard build.status == 0 else { return .failure(IntegrationBinary.BuildError(output: build.output)) }
        }
        let bin = runProcess("/usr/bin/env", arguments + ["--show-bin-path"], environment: plugin)
        guard bin.status == 0, let directory = bin.output.split(separator: "\n").last else {
            return .failure(IntegrationBinary.BuildError(output: bin.output))
        }
        return .success(String(directory))
    }

    /// The arguments that point staticcall-integration at the plugin and the C library.
    static func libraryArguments() async throws -> [String] {
        let directories = try await binDirectories.value.get()
        return ["--plugin-path", directories.images + "/libStaticCallTestPlugin.so", "--targets-path", directories.targets + "/libStaticCallTestTargets.so"]
    }

    static func consumer() async throws -> String { try await binDirectories.value.get().images + "/consumer" }
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
        try await expectProgramPasses(IntegrationBinary.path.get(), withLibraries, timeout: 300)
    }

    static let consumerCases: [IntegrationCase] = [
        IntegrationCase(name: "a key in a .dynamic library product, called from an executable of another package (through the PLT and inlined code) and updated from both images, while two threads call",
                        arguments: [], environment: [:]),
        IntegrationCase(name: "the same under STATICCALL_MODE=indirect", arguments: [], environment: ["STATICCALL_MODE": "indirect"]),
    ]

    @Test(arguments: consumerCases)
    func consumerOfADynamicLibraryPasses(_ c: IntegrationCase) async throws {
        try await expectProgramPasses(ImagePackage.consumer(), c, timeout: 300)
    }
}
