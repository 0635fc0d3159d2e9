// swift-tools-version: 6.1
import PackageDescription

// A tiny standalone package, so the main build stays light: Loom's sockets against the same
// loops in C (c/socket_bench.c). Run ./run.sh.
// A path dependency is named after its folder (`Loom`, `main`, `wt-sockets`…), whatever the clone.
let loomFolder = String(Context.packageDirectory.split(separator: "/").dropLast(2).last ?? "Loom")

let package = Package(
    name: "SocketBenchmarks",
    dependencies: [.package(path: "../..")],
    targets: [
        .executableTarget(
            name: "SocketBenchmarks",
            dependencies: [.product(name: "LoomSockets", package: loomFolder)],
            swiftSettings: [.swiftLanguageMode(.v6), .enableUpcomingFeature("ExistentialAny")]
        ),
    ]
)
