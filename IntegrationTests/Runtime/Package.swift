// swift-tools-version: 6.2
// The runtime (StaticCall, MachineCode, CStaticCall, StaticCallLogging and StaticCallTracing) from the root package's own sources (the symlinks in
// Sources/), for the nested test packages IntegrationTests/Images and IntegrationTests/DynamicKeys and
// for Benchmarks/: the same modules, compiled with the same optimization flags and platforms, but
// without the macro target, so that building those packages does not build swift-syntax a second time
// (on a fresh clone that second build was most of the image tests' time, and a release one most of the
// benchmarks'). Not the trait ForcePortable: these packages serve the engine's tests only. Their targets that use the macros load the root package's macro plugin, which
// the root's own build (`swift test`, `swift build`) has built: see `macroPlugin` in their manifests.
import PackageDescription

let package = Package(
    name: "StaticCallRuntime",
    platforms: [.macOS(.v15), .iOS(.v18), .tvOS(.v18), .watchOS(.v11), .visionOS(.v2)],
    products: [
        .library(name: "StaticCall", targets: ["StaticCall"]),
        .library(name: "StaticCallLogging", targets: ["StaticCallLogging"]),
        .library(name: "StaticCallTracing", targets: ["StaticCallTracing"]),
    ],
    // StaticCallLogging's and StaticCallTracing's (the benchmarks' log and trace rows); not built for the
    // packages that use StaticCall only.
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.7.3"),
    ],
    targets: [
        .target(name: "MachineCode", swiftSettings: optimizedRuntime),
        .target(name: "CStaticCall"),
        .target(name: "StaticCall", dependencies: ["MachineCode", "CStaticCall"], swiftSettings: optimizedRuntime + [macroPlugin]),
        .target(name: "StaticCallLogging", dependencies: ["StaticCall", .product(name: "Logging", package: "swift-log")],
                swiftSettings: [macroPlugin]),
        .target(name: "StaticCallTracing", dependencies: [
            "StaticCall", .product(name: "Tracing", package: "swift-distributed-tracing"),
            .product(name: "Instrumentation", package: "swift-distributed-tracing"),
        ], swiftSettings: [macroPlugin]),
    ],
    swiftLanguageModes: [.v6]
)

/// As the root package's `optimizedRuntime`: the runtime as users' debug builds compile it.
var optimizedRuntime: [SwiftSetting] {
    [.unsafeFlags(["-O", "-wmo", "-num-threads", "2", "-disable-batch-mode"], .when(configuration: .debug))]
}

/// The root package's macro plugin, as its debug build made it (`STATICCALL_MACRO_PLUGIN` names another),
/// for the module's macro declarations (without it the compiler warns that their implementation cannot
/// be found), as in IntegrationTests/Images/Package.swift. unsafeFlags: the
/// compiler's own way to load a macro plugin that is not a dependency.
var macroPlugin: SwiftSetting {
    let root = Context.packageDirectory + "/../.."
    let plugin = Context.environment["STATICCALL_MACRO_PLUGIN"] ?? root + "/.build/debug/StaticCallMacros-tool"
    return .unsafeFlags(["-load-plugin-executable", plugin + "#StaticCallMacros"])
}
