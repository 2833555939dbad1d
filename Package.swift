// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "StaticCall",
    products: [
        .library(name: "StaticCall", targets: ["StaticCall"]),
        .library(name: "MachineCode", targets: ["MachineCode"]),
        .executable(name: "staticcall", targets: ["staticcall"]),
        .executable(name: "staticcall-integration", targets: ["IntegrationMain"]),
        .executable(name: "staticcall-measure", targets: ["Measure"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // Pure logic: bytes in, facts out. No side effects, no platform code.
        .target(name: "MachineCode"),
        // Only what Swift cannot express: the SIGTRAP handler and raw syscalls.
        .target(name: "CStaticCall"),
        .target(name: "StaticCall", dependencies: ["MachineCode", "CStaticCall"]),
        .executableTarget(
            name: "staticcall",
            dependencies: ["StaticCall", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),

        // Release-built integration program: hand-written trampolines exactly as the macros will
        // generate them, called from loops, tail positions, other files and a second module.
        .target(name: "IntegrationSupport", dependencies: ["StaticCall"], path: "IntegrationTests/Support"),
        .executableTarget(
            name: "IntegrationMain",
            dependencies: ["StaticCall", "IntegrationSupport", "CStaticCall", "MachineCode"],
            path: "IntegrationTests/Main"
        ),

        // Measurement program for the engine's speed claims (callgrind, update latency, discovery).
        .executableTarget(name: "Measure", dependencies: ["StaticCall"], path: "IntegrationTests/Measure"),

        .testTarget(name: "MachineCodeTests", dependencies: ["MachineCode"]),
        .testTarget(name: "StaticCallTests", dependencies: ["StaticCall", "MachineCode"]),
    ],
    swiftLanguageModes: [.v6]
)
