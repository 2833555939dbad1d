// swift-tools-version: 6.1
import CompilerPluginSupport
import PackageDescription

let package = Package(
    name: "StaticCall",
    products: [
        .library(name: "StaticCall", targets: ["StaticCall"]),
        .library(name: "MachineCode", targets: ["MachineCode"]),
        // Swift Testing traits that override keys in tests; never linked into production code.
        .library(name: "StaticCallTesting", targets: ["StaticCallTesting"]),
        .executable(name: "staticcall", targets: ["staticcall"]),
        .executable(name: "staticcall-integration", targets: ["IntegrationMain"]),
        .executable(name: "staticcall-macro-integration", targets: ["MacroMain"]),
        // A plugin for the image tests: loaded with dlopen by staticcall-integration, with its own copy of
        // StaticCall linked in.
        .library(name: "StaticCallTestPlugin", type: .dynamic, targets: ["StaticCallTestPlugin"]),
        // A key in a dynamic library, for an executable of another package (IntegrationTests/Consumer).
        .library(name: "StaticCallTestDynamicKeys", type: .dynamic, targets: ["DynamicKeys"]),
        // A C library of targets for the image tests: unlike a Swift image, it can really be unloaded.
        .library(name: "StaticCallTestTargets", type: .dynamic, targets: ["StaticCallTestTargets"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/swiftlang/swift-syntax", from: "603.0.1"),
        .package(url: "https://github.com/pointfreeco/swift-macro-testing", from: "0.7.0"),
    ],
    targets: [
        // Pure logic: bytes in, facts out. No side effects, no platform code.
        .target(name: "MachineCode"),
        // Only what Swift cannot express: the SIGTRAP handler and raw syscalls.
        .target(name: "CStaticCall"),
        .target(name: "StaticCall", dependencies: ["MachineCode", "CStaticCall", "StaticCallMacros"]),
        .macro(
            name: "StaticCallMacros",
            dependencies: [
                .product(name: "SwiftSyntaxMacros", package: "swift-syntax"),
                .product(name: "SwiftCompilerPlugin", package: "swift-syntax"),
            ]
        ),
        // Test traits (Swift Testing): a separate product, so that StaticCall never links Testing.
        .target(name: "StaticCallTesting", dependencies: ["StaticCall"]),
        .executableTarget(
            name: "staticcall",
            dependencies: ["StaticCall", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),

        // Release-built integration program: hand-written trampolines exactly as the macros will
        // generate them, called from loops, tail positions, other files and a second module.
        .target(name: "IntegrationSupport", dependencies: ["StaticCall"], path: "IntegrationTests/Support"),
        // Fault injection for the fault matrix (seccomp filters, raw fork, foreign SIGTRAP handlers):
        // real kernel mechanisms, used only by the integration program in child processes.
        .target(name: "CFaults", path: "IntegrationTests/CFaults"),
        .executableTarget(
            name: "IntegrationMain",
            dependencies: ["StaticCall", "IntegrationSupport", "CStaticCall", "MachineCode", "CFaults"],
            path: "IntegrationTests/Main"
        ),

        .target(name: "StaticCallTestPlugin", dependencies: ["StaticCall"], path: "IntegrationTests/Plugin"),
        .target(name: "StaticCallTestTargets", path: "IntegrationTests/CTargets"),
        .target(name: "DynamicKeys", dependencies: ["StaticCall"], path: "IntegrationTests/DynamicKeys"),

        // A program written from DESIGN.md §1 with the macros: a key in one library, called from a second
        // library and from the executable, which updates it.
        .target(name: "MacroLib", dependencies: ["StaticCall"], path: "IntegrationTests/MacroLib"),
        .target(name: "MacroUser", dependencies: ["MacroLib"], path: "IntegrationTests/MacroUser"),
        .executableTarget(name: "MacroMain", dependencies: ["StaticCall", "MacroLib", "MacroUser"], path: "IntegrationTests/MacroMain"),

        .testTarget(name: "MachineCodeTests", dependencies: ["MachineCode"]),
        .testTarget(name: "StaticCallTests", dependencies: ["StaticCall", "MachineCode", "StaticCallTesting", "MacroLib"]),
        .testTarget(
            name: "StaticCallSwift5Tests",
            dependencies: ["StaticCall"],
            swiftSettings: [.swiftLanguageMode(.v5)]
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
