// swift-tools-version: 6.1
// The benchmarks, as their own package (the swift-nio layout) so that the library's users never build
// ordo-one/benchmark. Run from the repository root:
//
//   swift package --package-path Benchmarks benchmark            # wall clock and malloc counts
//   bash Benchmarks/results.sh                                   # everything, regenerates RESULTS.md
import PackageDescription

let package = Package(
    name: "StaticCallBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "StaticCall", path: ".."),
        // The image tests' C library of targets (StaticCallTestTargets), for the "far" cases.
        .package(name: "StaticCallImages", path: "../IntegrationTests/Images"),
        // The malloc interposer gives the malloc metrics; the runtime interposer (its other default
        // trait) is not needed here.
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // Only what Swift cannot express: a C function pointer and the function it points to.
        .target(name: "CBenchmarkCases"),
        // Every case as its own `@inline(never)` loop with a C-style symbol, so that the wall-clock
        // benchmarks and callgrind measure the same machine code.
        .target(
            name: "BenchmarkCases",
            dependencies: [
                .product(name: "StaticCall", package: "StaticCall"), "CBenchmarkCases",
                // A C shared library, mapped far (terabytes) from this executable: the "far" cases.
                .product(name: "StaticCallTestTargets", package: "StaticCallImages"),
            ],
            swiftSettings: [
                // The loops of different cases are near-identical; LLVM's function merging turned the
                // direct-call baseline into a call through a register (seen). Static-call sites are immune
                // either way (their __dtrace symbols); this keeps the peers as written.
                .unsafeFlags(["-Xfrontend", "-disable-llvm-merge-functions-pass"]),
            ]
        ),
        // `@_dynamicReplacement(for:)` must live in another module than the `dynamic` original.
        .target(name: "BenchmarkReplacements", dependencies: ["BenchmarkCases"]),
        // The command-line tool the scripts drive: one case per process for callgrind, update latency
        // against bare syncs, discovery over generated objects, the end-to-end workload.
        .executableTarget(
            name: "staticcall-bench",
            dependencies: [.product(name: "StaticCall", package: "StaticCall"), "BenchmarkCases", "BenchmarkReplacements"]
        ),
        .executableTarget(
            name: "StaticCallBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "StaticCall", package: "StaticCall"),
                "BenchmarkCases", "BenchmarkReplacements",
            ],
            path: "Benchmarks/StaticCallBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
