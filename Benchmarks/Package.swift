// swift-tools-version: 6.1
// Loom's benchmarks: a separate package so the main build stays light.
// Run from this folder:  swift package --scratch-path .build-bench benchmark
import PackageDescription

let package = Package(
    name: "LoomBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        // The interposer trait only: the default RuntimeInterposer trait pulls a package this
        // offline machine does not have.
        .package(url: "https://github.com/ordo-one/package-benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(name: "Loom", path: ".."),
    ],
    targets: [
        // Threads and synchronisation, each beside its raw baseline.
        .executableTarget(
            name: "ThreadingBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "package-benchmark"),
                .product(name: "LoomThreading", package: "Loom"),
            ],
            path: "Benchmarks/ThreadingBenchmarks",
            swiftSettings: [.swiftLanguageMode(.v6), .enableUpcomingFeature("ExistentialAny")],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "package-benchmark")]
        ),
    ]
)
