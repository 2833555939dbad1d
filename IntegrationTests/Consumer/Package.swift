// swift-tools-version: 6.1
// Another package, as a user's would be: an executable that links StaticCall statically and a `.dynamic`
// library product of the StaticCall package (a key, its call sites, and a second copy of StaticCall).
// Built (release) and run by StaticCallTests/ImageTests:
//
//   swift build -c release --package-path IntegrationTests/Consumer && \
//       "$(swift build -c release --package-path IntegrationTests/Consumer --show-bin-path)/consumer"
import PackageDescription

let package = Package(
    name: "StaticCallConsumer",
    dependencies: [.package(name: "StaticCall", path: "../..")],
    targets: [
        .executableTarget(
            name: "consumer",
            dependencies: [
                .product(name: "StaticCall", package: "StaticCall"),
                .product(name: "StaticCallTestDynamicKeys", package: "StaticCall"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
