// swift-tools-version: 6.1
// A key in a `.dynamic` library product (its call sites and its own copy of StaticCall), in a package of
// its own so that the image tests' consumer (IntegrationTests/Images) links it as a shared library, as an
// executable of a user's package would.
import PackageDescription

let package = Package(
    name: "StaticCallDynamicKeys",
    products: [.library(name: "StaticCallTestDynamicKeys", type: .dynamic, targets: ["DynamicKeys"])],
    // The runtime's own sources without the macro target (IntegrationTests/Runtime): no second build of
    // swift-syntax; the macros come from the root package's plugin (`macroPlugin`).
    dependencies: [.package(name: "StaticCallRuntime", path: "../Runtime")],
    targets: [
        .target(
            name: "DynamicKeys",
            dependencies: [.product(name: "StaticCall", package: "StaticCallRuntime")],
            // -O (whole-module, one object per file, as a release build) in every configuration: only
            // optimized code has the call sites the patcher works on.
            swiftSettings: [.unsafeFlags(["-O", "-wmo", "-num-threads", "2", "-disable-batch-mode"]), macroPlugin]
        ),
    ],
    swiftLanguageModes: [.v6]
)

/// The root package's macro plugin, as its debug build made it (`STATICCALL_MACRO_PLUGIN` names another);
/// as in IntegrationTests/Images/Package.swift. unsafeFlags: the compiler's own way to load a macro
/// plugin that is not a dependency.
var macroPlugin: SwiftSetting {
    let root = Context.packageDirectory + "/../.."
    let plugin = Context.environment["STATICCALL_MACRO_PLUGIN"] ?? root + "/.build/debug/StaticCallMacros-tool"
    return .unsafeFlags(["-load-plugin-executable", plugin + "#StaticCallMacros"])
}
