// swift-tools-version: 6.1
// A key in a `.dynamic` library product (its call sites and its own copy of StaticCall), in a package of
// its own so that the image tests' consumer (IntegrationTests/Images) links it as a shared library, as an
// executable of a user's package would.
import PackageDescription

let package = Package(
    name: "StaticCallDynamicKeys",
    products: [.library(name: "StaticCallTestDynamicKeys", type: .dynamic, targets: ["DynamicKeys"])],
    dependencies: [.package(name: "StaticCall", path: "../..")],
    targets: [
        .target(
            name: "DynamicKeys",
            dependencies: [.product(name: "StaticCall", package: "StaticCall")],
            // -O (whole-module, one object per file, as a release build) in every configuration: only
            // optimized code has the call sites the patcher works on.
            swiftSettings: [.unsafeFlags(["-O", "-wmo", "-num-threads", "2", "-disable-batch-mode"])]
        ),
    ],
    swiftLanguageModes: [.v6]
)
