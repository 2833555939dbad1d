#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// The integration programs. `swift test` builds them with the tests (they are executable targets of this
/// package, compiled with -O even in a debug build: the patcher must be proven on optimized code); they are
/// found beside the test bundle, or built there if missing, or taken from `STATICCALL_INTEGRATION_BIN`
/// (and the other overrides) if set.
public enum IntegrationBinary {
    public static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    public static let path: Result<String, BuildError> = build("staticcall-integration", override: "STATICCALL_INTEGRATION_BIN")
    public static let macroProgramPath: Result<String, BuildError> = build("staticcall-macro-integration", override: "STATICCALL_MACRO_INTEGRATION_BIN")

    /// The directory this test bundle was built into, which holds every product of the same build.
    public static let binDirectory: String = {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let exe = n > 0 ? String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
        var directory = URL(fileURLWithPath: exe).deletingLastPathComponent()
        // The bundle is an `.xctest` directory on some platforms, the executable itself on Linux.
        if directory.pathExtension == "xctest" { directory = directory.deletingLastPathComponent() }
        return directory.path
    }()

    public static func build(_ product: String, override: String? = nil) -> Result<String, BuildError> {
        if let override, let given = ProcessInfo.processInfo.environment[override] { return .success(given) }
        let beside = binDirectory + "/" + product
        if FileManager.default.isExecutableFile(atPath: beside) { return .success(beside) }
        // Not built with the tests (e.g. `swift build --target StaticCallTests`): build it on its own.
        let scratch = packageRoot.appendingPathComponent(".build-integration").path
        let result = runProcess("/usr/bin/env", ["swift", "build", "--scratch-path", scratch,
                                                 "--package-path", packageRoot.path, "--product", product], environment: [:])
        guard result.status == 0 else { return .failure(BuildError(output: result.output)) }
        return .success(scratch + "/debug/" + product)
    }

    public struct BuildError: Error, CustomStringConvertible {
        public var output: String
        public init(output: String) { self.output = output }
        public var description: String { "build failed:\n\(output)" }
    }
}
