// swift-tools-version: 6.1
// A C library of targets, which dlclose really unmaps: loaded and closed by the image tests
// (Tests/StaticCallTests/ImageTests.swift builds it) and mapped far from the executable by the
// benchmarks' "far" cases (Benchmarks/). Its own package, so that the benchmarks do not depend on the
// image tests' package (its plugin, consumer and coverage programs).
import PackageDescription

let package = Package(
    name: "StaticCallTestTargets",
    products: [.library(name: "StaticCallTestTargets", type: .dynamic, targets: ["StaticCallTestTargets"])],
    // No flags: the benchmark package measures it as its release build compiles it.
    targets: [.target(name: "StaticCallTestTargets")]
)
