// swift-tools-version: 6.2
// A package that depends on StaticCall with the MaxLogLevelInfo trait set, as an application would:
// the trait must reach StaticCallLogging's StaticLogger and, through StaticCall's manifest, swift-log's
// Logger (the trait is the consumer's, not the root package's own --traits). `StaticCall` is a symlink to
// the repository root, so that the dependency's identity does not depend on the checkout's directory name.
// .ci/run builds and runs it.
import PackageDescription

let package = Package(
    name: "TraitConsumer",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: "../StaticCall", traits: ["MaxLogLevelInfo"]),
        // The application's own swift-log (for `import Logging`); SwiftPM unites the traits requested.
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .executableTarget(name: "TraitConsumer", dependencies: [
            .product(name: "StaticCallLogging", package: "StaticCall"),
            .product(name: "Logging", package: "swift-log"),
        ]),
    ]
)
