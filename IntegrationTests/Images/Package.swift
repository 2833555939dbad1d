// swift-tools-version: 6.1
// The image tests' libraries and another package's executable, as a user's package would hold them:
//
// - StaticCallTestPlugin: a Swift plugin with its own copy of StaticCall, loaded and closed with dlopen
//   by the root package's staticcall-integration;
// - StaticCallTestTargets: a C library of targets, which dlclose really unmaps (also the benchmarks'
//   "far" library);
// - consumer: an executable that links StaticCall statically and the `.dynamic` library product of
//   another package (IntegrationTests/DynamicKeys: a key, its sites and a second copy of StaticCall).
//
// Built (debug, with the Swift targets at -O: only optimized code has the call sites the patcher works
// on) and run by Tests/StaticCallTests/ImageTests.swift:
//
//   swift build --package-path IntegrationTests/Images && \
//       "$(swift build --package-path IntegrationTests/Images --show-bin-path)/consumer"
import PackageDescription

let package = Package(
    name: "StaticCallImages",
    products: [
        .library(name: "StaticCallTestPlugin", type: .dynamic, targets: ["StaticCallTestPlugin"]),
        .library(name: "StaticCallTestTargets", type: .dynamic, targets: ["StaticCallTestTargets"]),
    ],
    dependencies: [
        .package(name: "StaticCall", path: "../.."),
        .package(name: "StaticCallDynamicKeys", path: "../DynamicKeys"),
    ],
    targets: [
        .target(name: "StaticCallTestPlugin", dependencies: [staticCall], path: "Plugin", swiftSettings: optimized),
        // No flags: the benchmark package links this library too, and measures it as its release build
        // compiles it.
        .target(name: "StaticCallTestTargets", path: "CTargets"),
        .executableTarget(
            name: "consumer",
            dependencies: [staticCall, .product(name: "StaticCallTestDynamicKeys", package: "StaticCallDynamicKeys")],
            path: "Consumer",
            swiftSettings: optimized
        ),
    ],
    swiftLanguageModes: [.v6]
)

var staticCall: Target.Dependency { .product(name: "StaticCall", package: "StaticCall") }

/// The test programs' code as a release build compiles it, in every configuration (the C library, the one
/// product another package uses, has no flags): -O; -wmo with
/// -num-threads, whole-module optimization emitting one object per file as SwiftPM expects; batch mode
/// off, since whole-module compilation replaces it (the driver warns otherwise).
var optimized: [SwiftSetting] { [.unsafeFlags(["-O", "-wmo", "-num-threads", "2", "-disable-batch-mode"])] }
