// swift-tools-version: 6.2
import CompilerPluginSupport
import PackageDescription

/// swift-log's MaxLogLevel traits (Debug: trace compiled out, …, None: every level), which this package
/// offers under the same names and passes on to swift-log: a root package that sets one here compiles the
/// statements below the level out of StaticCallLogging's StaticLogger and out of swift-log's Logger.
let maxLogLevels = ["Debug", "Info", "Notice", "Warning", "Error", "Critical", "None"]
let maxLogLevelTraits: [Trait] = maxLogLevels.map { (level: String) -> Trait in
    .trait(name: "MaxLogLevel" + level, description: level == "None" ? "StaticLogger and swift-log: compile out every statement"
           : "StaticLogger and swift-log: compile out the statements below " + level.lowercased())
}
let swiftLogTraits: Set<Package.Dependency.Trait> = Set(maxLogLevels.map { (level: String) -> Package.Dependency.Trait in
    .trait(name: "MaxLogLevel" + level, condition: .when(traits: ["MaxLogLevel" + level]))
}).union([.defaults])

let package = Package(
    name: "StaticCall",
    // macOS 15 and its siblings: the first releases with the standard library's Synchronization module.
    // There the package compiles to indirect mode (README, "Platforms and modes").
    platforms: [.macOS(.v15), .iOS(.v18), .tvOS(.v18), .watchOS(.v11), .visionOS(.v2)],
    products: [
        .library(name: "StaticCall", targets: ["StaticCall"]),
        // Swift Testing traits that override keys in tests; never linked into production code.
        .library(name: "StaticCallTesting", targets: ["StaticCallTesting"]),
        // swift-log statements gated by static keys: a run-time log level ceiling that costs a jump when off.
        .library(name: "StaticCallLogging", targets: ["StaticCallLogging"]),
        // A swift-service-lifecycle Service: every key patched at start-up, the report logged, required keys checked.
        .library(name: "StaticCallServiceLifecycle", targets: ["StaticCallServiceLifecycle"]),
        // swift-distributed-tracing's withSpan behind a static key the application turns off without a tracer.
        .library(name: "StaticCallTracing", targets: ["StaticCallTracing"]),
        .executable(name: "staticcall", targets: ["staticcall"]),
        // `swift package staticcall-check`: fails a user's CI when a key's site would not be patched.
        .plugin(name: "StaticCallCheck", targets: ["StaticCallCheck"]),
    ],
    // Not a feature for users: compiles the portable implementation (indirect mode, as on macOS and Musl)
    // on x86-64 Linux, so that the branch every other platform builds is compiled and tested here (CI).
    traits: Set<Trait>([
        .trait(name: "ForcePortable", description: "Build the portable (indirect-only) implementation on every platform; for testing the non-Linux branch on Linux."),
    ]).union(maxLogLevelTraits),
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // Every major version from 600 builds the macros and passes their tests (600.0.1, 602.0.0 and
        // 603.0.1 checked; CHANGELOG), so a project that already pins one through another macro package
        // can still add this one.
        .package(url: "https://github.com/swiftlang/swift-syntax", "600.0.0"..<"604.0.0"),
        .package(url: "https://github.com/pointfreeco/swift-macro-testing", from: "0.7.0"),
        // `swift package generate-documentation` (the StaticCall.docc catalog; CI builds it without
        // warnings). A command plugin: resolved, never built into a user's products.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
        // StaticCallLogging's: a product, not a trait. swift-log has no dependencies of its own and is not
        // built for a program that does not link the product; a trait could spare its resolution too, but
        // would be a second opt-in beside the product, and SwiftPM prunes trait-guarded dependencies only
        // in some cases (forums.swift.org/t/82587).
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2", traits: swiftLogTraits),
        // StaticCallServiceLifecycle's (the same reasoning; it brings swift-async-algorithms as well).
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // StaticCallTracing's (the same reasoning; no dependencies of its own). 1.7.3, the version tested:
        // withTracer (1.7) is the scope StaticTracing.withTracer wraps.
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.7.3"),
    ],
    targets: [
        // Pure logic: bytes in, facts out. No side effects, no platform code.
        .target(name: "MachineCode", swiftSettings: optimizedRuntime),
        // Only what Swift cannot express: the SIGTRAP handler and raw syscalls.
        .target(name: "CStaticCall", cSettings: [portableC]),
        .target(name: "StaticCall", dependencies: ["MachineCode", "CStaticCall", "StaticCallMacros"], swiftSettings: [portable] + optimizedRuntime),
        .macro(
            name: "StaticCallMacros",
            dependencies: [
                .product(name: "SwiftSyntaxMacros", package: "swift-syntax"),
                .product(name: "SwiftCompilerPlugin", package: "swift-syntax"),
            ]
        ),
        // Test traits (Swift Testing): a separate product, so that StaticCall never links Testing.
        .target(name: "StaticCallTesting", dependencies: ["StaticCall"]),
        .target(name: "StaticCallLogging", dependencies: ["StaticCall", .product(name: "Logging", package: "swift-log")]),
        .target(name: "StaticCallServiceLifecycle", dependencies: [
            "StaticCall", .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .target(name: "StaticCallTracing", dependencies: [
            "StaticCall", .product(name: "Tracing", package: "swift-distributed-tracing"),
            .product(name: "Instrumentation", package: "swift-distributed-tracing"),
        ]),
        // The demo's measured loops and the selftest's keys, compiled with -O even in the debug build of
        // `swift run staticcall demo`: a newcomer's first numbers are real without a release build of
        // swift-syntax, and the selftest has the call and tail sites of optimized code.
        .target(name: "StaticCallDemo", dependencies: ["StaticCall"], swiftSettings: optimized),
        .executableTarget(
            name: "staticcall",
            dependencies: ["StaticCall", "StaticCallDemo", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: [portable]
        ),
        .plugin(
            name: "StaticCallCheck",
            capability: .command(intent: .custom(
                verb: "staticcall-check",
                description: "Build the products and fail when a static call site would not be patched (the analogue of objtool).")),
            dependencies: ["staticcall"]
        ),

        // The integration programs: keys written by hand in the shape of the macros' expansion (their call
        // sites are the same; IntegrationTests/Main/Keys.swift says what else differs), and macro keys,
        // called from loops, tail positions, other files and other modules. Only optimized code shows
        // the call sites the patcher works on, so these targets are compiled with -O even in the debug
        // build that `swift test` makes (no release build of swift-syntax for the macro plugin). They are
        // not products: SwiftPM runs a root package's executable targets without one.
        .target(name: "IntegrationSupport", dependencies: ["StaticCall"], path: "IntegrationTests/Support",
                swiftSettings: optimized),
        // Fault injection for the fault matrix (seccomp filters, raw fork, foreign SIGTRAP handlers):
        // real kernel mechanisms, used only by the integration program in child processes.
        .target(name: "CFaults", path: "IntegrationTests/CFaults"),
        .executableTarget(
            name: "staticcall-integration",
            dependencies: ["StaticCall", "IntegrationSupport", "CStaticCall", "MachineCode", "CFaults"],
            path: "IntegrationTests/Main",
            swiftSettings: optimized
        ),
        // A program written from the API contract with the macros: a key in one library, called from a
        // second library and from the executable, which updates it.
        .target(name: "MacroLib", dependencies: ["StaticCall"], path: "IntegrationTests/MacroLib", swiftSettings: optimized),
        .target(name: "MacroUser", dependencies: ["MacroLib"], path: "IntegrationTests/MacroUser", swiftSettings: optimized),
        .executableTarget(
            name: "staticcall-macro-integration",
            dependencies: ["StaticCall", "MacroLib", "MacroUser"],
            path: "IntegrationTests/MacroMain",
            swiftSettings: optimized
        ),
        // StaticLogger in optimized code: statements as sites of their own, the ceiling moved while threads log.
        .executableTarget(
            name: "staticcall-logging-integration",
            dependencies: ["StaticCall", "StaticCallLogging", .product(name: "Logging", package: "swift-log")],
            path: "IntegrationTests/LoggingMain",
            swiftSettings: optimized
        ),
        // The image tests' shared libraries and the executable of another package are in the nested
        // packages IntegrationTests/Images and IntegrationTests/CTargets (a `.dynamic` library needs a
        // product, and these are not ours to offer users).

        // Examples/ (its README): small programs that show real uses. The two programs are compiled with
        // -O even in a debug build, as the demo's loops are, so that `swift run` shows the call sites of
        // release code; the test doubles are compiled as tests are (debug). Not products: `swift run
        // example-cpu-dispatch` runs one from a clone; ExampleTests runs both programs in each mode, and
        // `swift test` runs the test doubles' tests.
        .executableTarget(name: "example-cpu-dispatch", dependencies: ["StaticCall"], path: "Examples/CPUDispatch", swiftSettings: optimized),
        .executableTarget(name: "example-tracing-hook", dependencies: ["StaticCall"], path: "Examples/TracingHook", swiftSettings: optimized),
        .target(name: "ExampleWeather", dependencies: ["StaticCall"], path: "Examples/TestDoubles/Weather"),
        .testTarget(name: "ExampleWeatherTests", dependencies: ["ExampleWeather", "StaticCall", "StaticCallTesting"],
                    path: "Examples/TestDoubles/Tests"),

        .testTarget(name: "MachineCodeTests", dependencies: ["MachineCode"]),
        .testTarget(name: "StaticCallServiceLifecycleTests", dependencies: [
            "StaticCallServiceLifecycle", "StaticCall", .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle"),
        ], swiftSettings: [portable]),
        .testTarget(name: "StaticCallTracingTests", dependencies: [
            "StaticCallTracing", "StaticCall", .product(name: "Tracing", package: "swift-distributed-tracing"),
            .product(name: "Instrumentation", package: "swift-distributed-tracing"),
            .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
        ]),
        .testTarget(name: "StaticCallLoggingTests", dependencies: ["StaticCallLogging", "StaticCallTestSupport",
                                                                   .product(name: "Logging", package: "swift-log")]),
        // What the test targets share: running the package's programs (found beside the tests, or built)
        // and expecting them to pass.
        .target(name: "StaticCallTestSupport", path: "Tests/Support"),
        .testTarget(name: "StaticCallTests", dependencies: ["StaticCall", "MachineCode", "StaticCallTesting", "MacroLib", "StaticCallTestSupport"],
                    swiftSettings: [portable]),
        // The `staticcall` tool's commands, run as a user runs them, and its offline analysis against objdump.
        .testTarget(name: "StaticCallCLITests", dependencies: ["StaticCall", "MachineCode", "StaticCallTestSupport"],
                    swiftSettings: [portable]),
        .testTarget(
            name: "StaticCallSwift5Tests",
            dependencies: ["StaticCall"],
            swiftSettings: [.swiftLanguageMode(.v5), portable]
        ),
        .testTarget(
            name: "StaticCallMacrosTests",
            dependencies: [
                "StaticCallMacros",
                .product(name: "MacroTesting", package: "swift-macro-testing"),
                .product(name: "SwiftSyntaxMacrosTestSupport", package: "swift-syntax"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)

/// Code compiled as a release build would, in every configuration, for the integration programs and the
/// demo's loops (a package that depends on this one builds only the demo's, as part of the `staticcall`
/// tool, which the StaticCallCheck plugin runs; SwiftPM accepts unsafe flags there since this manifest's
/// tools version is 6.2, see `optimizedRuntime`): -O; -wmo with
/// -num-threads, whole-module optimization emitting one object per file as SwiftPM expects; batch mode
/// off, since whole-module compilation replaces it (the driver warns otherwise). The configuration's own
/// flags stay (`-enable-testing` keeps internal functions emitted; `DEBUG` stays defined), so the
/// programs test `STATICCALL_OPTIMIZED` where they need to know.
var optimized: [SwiftSetting] {
    [.unsafeFlags(["-O", "-wmo", "-num-threads", "2", "-disable-batch-mode"]), .define("STATICCALL_OPTIMIZED"), portable]
}

/// The runtime and the decoder are compiled with -O in a debug build too, like the standard library, which
/// is optimized in every build: at start-up they decode every object that holds a key's trampoline (a
/// debug test executable is tens of MB), and an update plans and writes its sites while the process's
/// mapping lock is contended. Compiled -Onone, this package's own tests took twice as long (237 s, 117 s
/// with these flags, same tests run the same way), and so do users' debug test runs that update keys.
/// Flags as `optimized` above, without its define. (`DEBUG` stays defined: the runtime reads it.) A dependency may carry them because this manifest's
/// tools version is 6.2: SwiftPM refuses unsafe flags only in dependencies whose manifest is older
/// ("the target 'StaticCall' in product 'StaticCall' contains unsafe build flags" at 6.1, checked from
/// a package depending on a tagged copy of this one; accepted at 6.2).
var optimizedRuntime: [SwiftSetting] {
    [.unsafeFlags(["-O", "-wmo", "-num-threads", "2", "-disable-batch-mode"], .when(configuration: .debug))]
}

/// `STATICCALL_FORCE_PORTABLE` when the trait ForcePortable is enabled (`swift test --traits ForcePortable`):
/// the sources' platform condition then takes the branch of platforms other than x86-64 Linux with glibc.
var portable: SwiftSetting { .define("STATICCALL_FORCE_PORTABLE", .when(traits: ["ForcePortable"])) }
var portableC: CSetting { .define("STATICCALL_FORCE_PORTABLE", .when(traits: ["ForcePortable"])) }

