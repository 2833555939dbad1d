// swift-tools-version: 6.1
// The benchmarks, as their own package (the swift-nio layout) so that the library's users never build
// ordo-one/benchmark. Build the root package first (`swift build`: the macro plugin). Then, from the
// repository root:
//
//   swift package --package-path Benchmarks benchmark            # wall clock and malloc counts
//   bash Benchmarks/results.sh                                   # everything, regenerates RESULTS.md
import PackageDescription

let package = Package(
    name: "StaticCallBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        // The runtime from the root package's sources without the macro target (IntegrationTests/Runtime),
        // so that this release build does not compile swift-syntax in release (it took 9 minutes on 2
        // cores, 2.3 without); the macros come from the root package's plugin (`macroPlugin`). Same
        // sources, compiled as users' release builds compile them.
        .package(name: "StaticCallRuntime", path: "../IntegrationTests/Runtime"),
        // The image tests' C library of targets (StaticCallTestTargets), for the "far" cases.
        .package(name: "StaticCallTestTargets", path: "../IntegrationTests/CTargets"),
        // The malloc interposer gives the malloc metrics; the runtime interposer (its other default
        // trait) is not needed here.
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        // The log rows compare StaticLogger with swift-log's own Logger.
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        // The trace rows: swift-distributed-tracing's withSpan with no tracer bootstrapped, and
        // StaticTracing's.
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.7.3"),
    ],
    targets: [
        // Only what Swift cannot express: a C function pointer and the function it points to.
        .target(name: "CBenchmarkCases"),
        // Every case as its own `@inline(never)` loop with a C-style symbol, so that the wall-clock
        // benchmarks and callgrind measure the same machine code.
        .target(
            name: "BenchmarkCases",
            dependencies: [
                .product(name: "StaticCall", package: "StaticCallRuntime"), "CBenchmarkCases",
                // The log rows: swift-log's Logger and StaticLogger side by side.
                .product(name: "StaticCallLogging", package: "StaticCallRuntime"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "StaticCallTracing", package: "StaticCallRuntime"),
                // A C shared library, mapped far (terabytes) from this executable: the "far" cases.
                .product(name: "StaticCallTestTargets", package: "StaticCallTestTargets"),
            ],
            swiftSettings: [
                // The loops of different cases are near-identical; LLVM's function merging turned the
                // direct-call baseline into a call through a register (seen). Static-call sites are immune
                // either way (their __dtrace symbols); this keeps the peers as written.
                .unsafeFlags(["-Xfrontend", "-disable-llvm-merge-functions-pass"]),
                macroPlugin,
            ]
        ),
        // `@_dynamicReplacement(for:)` must live in another module than the `dynamic` original.
        .target(name: "BenchmarkReplacements", dependencies: ["BenchmarkCases"]),
        // The command-line tool the scripts drive: one case per process for callgrind, update latency
        // against bare syncs, discovery over generated objects, the end-to-end workload.
        .executableTarget(
            name: "staticcall-bench",
            dependencies: [.product(name: "StaticCall", package: "StaticCallRuntime"), "BenchmarkCases", "BenchmarkReplacements"]
        ),
        .executableTarget(
            name: "StaticCallBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "StaticCall", package: "StaticCallRuntime"),
                "BenchmarkCases", "BenchmarkReplacements",
            ],
            path: "Benchmarks/StaticCallBenchmarks",
            swiftSettings: [macroPlugin],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)

/// The root package's macro plugin, as its debug build made it (`swift build` in the repository root;
/// `STATICCALL_MACRO_PLUGIN` names another), as in IntegrationTests/Images/Package.swift. unsafeFlags:
/// the compiler's own way to load a macro plugin that is not a dependency.
var macroPlugin: SwiftSetting {
    let root = Context.packageDirectory + "/.."
    let plugin = Context.environment["STATICCALL_MACRO_PLUGIN"] ?? root + "/.build/debug/StaticCallMacros-tool"
    return .unsafeFlags(["-load-plugin-executable", plugin + "#StaticCallMacros"])
}
