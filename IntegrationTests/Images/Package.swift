// swift-tools-version: 6.1
// The image tests' libraries and another package's executable, as a user's package would hold them:
//
// - StaticCallTestPlugin: a Swift plugin with its own copy of StaticCall, loaded and closed with dlopen
//   by the root package's staticcall-integration;
// - consumer: an executable that links StaticCall statically and the `.dynamic` library product of
//   another package (IntegrationTests/DynamicKeys: a key, its sites and a second copy of StaticCall).
//
// Built (debug, with those Swift targets at -O: only optimized code has the call sites the patcher works
// on) and run by Tests/StaticCallTests/ImageTests.swift, which builds only these products (and the C
// library of targets, which dlclose really unmaps, from the package IntegrationTests/CTargets):
//
//   swift build --package-path IntegrationTests/Images --product consumer && \
//       "$(swift build --package-path IntegrationTests/Images --show-bin-path)/consumer"
//
// It also holds the programs of the coverage table (COVERAGE.md): one source (Coverage/Keys, a library of
// keys and their in-module callers; Coverage/Program, an executable that calls them and checks every
// result), compiled in each code shape a project builds with. A shape is a pair of targets with their
// own flags, both reading the one source through the symlinks in Coverage/Shapes. Scripts/coverage.py
// builds and runs them and writes the table; CI runs it with --check.
//
// StaticCall comes from IntegrationTests/Runtime (the root's sources, without the macro target), and the
// targets that use the macros load the plugin the root package's build made (`macroPlugin` below): build
// the root package first (`swift build` in the repository root; `swift test` does).
import PackageDescription

let package = Package(
    name: "StaticCallImages",
    products: [
        .library(name: "StaticCallTestPlugin", type: .dynamic, targets: ["StaticCallTestPlugin"]),
    ],
    dependencies: [
        // The runtime's own sources without the macro target (no second build of swift-syntax).
        .package(name: "StaticCallRuntime", path: "../Runtime"),
        .package(name: "StaticCallDynamicKeys", path: "../DynamicKeys"),
    ],
    targets: [
        .target(name: "StaticCallTestPlugin", dependencies: [staticCall], path: "Plugin", swiftSettings: optimized + [macroPlugin]),
        .executableTarget(
            name: "consumer",
            dependencies: [staticCall, .product(name: "StaticCallTestDynamicKeys", package: "StaticCallDynamicKeys")],
            path: "Consumer",
            swiftSettings: optimized + [macroPlugin]
        ),
    ] + coverageTargets,
    swiftLanguageModes: [.v6]
)

/// The code shapes of the coverage table: a name, the flags of the library that declares the keys, the
/// flags of the executable that calls them, and its linker flags. Debug configuration, so "no flags" is
/// -Onone; whole-module shapes as `optimized` below; incremental -O as SwiftPM compiles a release build
/// without -wmo (batch mode); library evolution on the declaring library only (the resilient-library
/// case: no cross-module inlining of its non-@inlinable code); instrumented builds as `swift build
/// --sanitize=address` and `swift test --enable-code-coverage` compile user code (here only the two
/// shape targets are instrumented, not StaticCall itself).
/// (Computed: the manifest's top-level code runs in order, and `package` above reads it.)
var coverageShapes: [(name: String, library: [String], program: [String], linker: [String])] {
    [
        ("Onone", [], [], []),
        ("O", wholeModule(["-O"]), wholeModule(["-O"]), []),
        ("OIncremental", ["-O"], ["-O"], []),
        ("Osize", wholeModule(["-Osize"]), wholeModule(["-Osize"]), []),
        // -no-verify-emitted-module-interface: SwiftPM checks the library's .swiftinterface without the
        // search path of StaticCall's C module ("missing required module 'CStaticCall'"; the same for
        // any package with a C target, e.g. CocoaLumberjack/CocoaLumberjack#1446). README, "Platforms and modes".
        ("OEvolution", wholeModule(["-O", "-enable-library-evolution", "-no-verify-emitted-module-interface"]), wholeModule(["-O"]), []),
        ("OAddressSanitizer", wholeModule(["-O", "-sanitize=address"]), wholeModule(["-O", "-sanitize=address"]), ["-sanitize=address"]),
        ("OnoneCodeCoverage", ["-profile-generate", "-profile-coverage-mapping"], ["-profile-generate", "-profile-coverage-mapping"],
         ["-profile-generate"]),
    ]
}

var coverageTargets: [Target] {
    coverageShapes.flatMap { shape -> [Target] in
        // The program imports its shape's library under this condition.
        let define = "COVERAGE_" + shape.name.uppercased()
        return [
            // unsafeFlags: the shape's optimization and instrumentation flags are the point of the target.
            .target(name: "CoverageKeys\(shape.name)", dependencies: [staticCall], path: "Coverage/Shapes/Keys\(shape.name)",
                    swiftSettings: [macroPlugin] + (shape.library.isEmpty ? [] : [.unsafeFlags(shape.library)])),
            .executableTarget(name: "coverage-\(shape.name)", dependencies: [staticCall, .target(name: "CoverageKeys\(shape.name)")],
                              path: "Coverage/Shapes/Program\(shape.name)",
                              swiftSettings: [.define(define), macroPlugin] + (shape.program.isEmpty ? [] : [.unsafeFlags(shape.program)]),
                              linkerSettings: shape.linker.isEmpty ? [] : [.unsafeFlags(shape.linker)]),
        ]
    }
}

func wholeModule(_ flags: [String]) -> [String] { flags + ["-wmo", "-num-threads", "2", "-disable-batch-mode"] }

var staticCall: Target.Dependency { .product(name: "StaticCall", package: "StaticCallRuntime") }

/// The root package's macro plugin, as its debug build made it (`swift test` and `swift build` in the
/// repository root build it first; `STATICCALL_MACRO_PLUGIN` names another): the runtime copy these
/// targets use has no macro target of its own, so SwiftPM would not build or load one.
/// unsafeFlags: the compiler's own way to load a macro plugin that is not a dependency.
var macroPlugin: SwiftSetting {
    let root = Context.packageDirectory + "/../.."
    let plugin = Context.environment["STATICCALL_MACRO_PLUGIN"] ?? root + "/.build/debug/StaticCallMacros-tool"
    return .unsafeFlags(["-load-plugin-executable", plugin + "#StaticCallMacros"])
}

/// The test programs' code as a release build compiles it, in every configuration: -O; -wmo with
/// -num-threads, whole-module optimization emitting one object per file as SwiftPM expects; batch mode
/// off, since whole-module compilation replaces it (the driver warns otherwise).
var optimized: [SwiftSetting] { [.unsafeFlags(wholeModule(["-O"]))] }
