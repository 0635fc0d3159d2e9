// swift-tools-version: 6.1
import PackageDescription

// libFuzzer targets for Loom's parsers of peer and user input. Not part of the main build:
// `Fuzz/run.sh` builds them with `-sanitize=fuzzer,address` and runs each for a bounded time.
// The harness logic lives in the root package's LoomFuzzSupport (it needs LoomSystem's
// `package`-access fault-injection seam); each target here is only libFuzzer's entry point.
let settings: [SwiftSetting] = [.swiftLanguageMode(.v6), .enableUpcomingFeature("ExistentialAny")]
let targets = [
    "SocketAddressFuzz", "BufferedReaderFuzz", "UppercaseFuzz", "EventLoopReadFuzz", "ProxyHeaderFuzz", "ChatLineFuzz",
]

let package = Package(
    name: "LoomFuzz",
    products: targets.map { .executable(name: $0, targets: [$0]) },
    dependencies: [.package(name: "Loom", path: "..")],
    targets: [.target(name: "CFuzzDriver")] + targets.map {
        .executableTarget(name: $0, dependencies: ["CFuzzDriver", .product(name: "LoomFuzzSupport", package: "Loom")],
                          swiftSettings: settings)
    }
)
