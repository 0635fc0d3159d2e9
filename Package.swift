// swift-tools-version: 6.1
import PackageDescription

/// Every Swift target is built in Swift 6 mode with `ExistentialAny`, so `any` is always spelled out.
let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "Loom",
    products: [
        .library(name: "Loom", targets: ["Loom"]),
        .library(name: "LoomThreading", targets: ["LoomThreading"]),
        .library(name: "LoomSockets", targets: ["LoomSockets"]),
        .library(name: "LoomServer", targets: ["LoomServer"]),
        .library(name: "LoomTLS", targets: ["LoomTLS"]),
        .library(name: "LoomChat", targets: ["LoomChat"]),
        .library(name: "LoomServiceLifecycle", targets: ["LoomServiceLifecycle"]),
        .library(name: "LoomMetrics", targets: ["LoomMetrics"]),
        .executable(name: "loom", targets: ["loom"]),
        // The fuzz harnesses, for the package under Fuzz/ (behind `@_spi(Fuzzing)`: not API).
        .library(name: "LoomFuzzSupport", targets: ["LoomFuzzSupport"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // The system's OpenSSL 3 (Debian's libssl-dev): no vendored copy.
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        // The only C in Loom: what Glibc does not expose to Swift (epoll, eventfd, accept4, gettid, futex).
        .target(name: "CLoomShims"),
        // The internal foundation (package access, no product): one clock, one lock family, one
        // waker, one thread start, one system-call path with its fault-injection seam.
        .target(
            name: "LoomSystem",
            dependencies: ["CLoomShims"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "LoomThreading",
            dependencies: ["LoomSystem", "CLoomShims"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "LoomSockets",
            dependencies: ["LoomSystem", "CLoomShims"],
            swiftSettings: swiftSettings
        ),
        // Python's `ssl` (sockets → TLS → servers: the servers wrap connections with it).
        .target(
            name: "LoomTLS",
            dependencies: ["LoomSockets", "LoomSystem", "COpenSSL"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "LoomServer",
            dependencies: [
                "LoomSystem", "LoomThreading", "LoomSockets", "LoomTLS", "CLoomShims",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Both server families as swift-service-lifecycle Services.
        .target(
            name: "LoomServiceLifecycle",
            dependencies: [
                "LoomServer", "LoomThreading", "LoomSystem",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Both server families' connections as swift-metrics (through ServerConfiguration.observer).
        .target(
            name: "LoomMetrics",
            dependencies: [
                "LoomServer", "LoomSystem",
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        // Two servers in one ServiceGroup stopped by SIGTERM: the README example and the lifecycle tests' child.
        .executableTarget(
            name: "LoomServiceExample",
            dependencies: [
                "LoomServer", "LoomServiceLifecycle",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The chat room of issue 11: protocol, room, and its threading and event-loop servers.
        .target(
            name: "LoomChat",
            dependencies: ["LoomThreading", "LoomSockets", "LoomServer"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Loom",
            dependencies: ["LoomThreading", "LoomSockets", "LoomServer", "LoomChat", "LoomTLS"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "loom",
            dependencies: [
                "Loom", "LoomSystem", "CLoomShims", "LoomMetrics",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The fuzz harnesses: in this package so that they reach LoomSystem's fault-injection seam
        // (`package` access), and so that the suite replays the seed corpora through them.
        .target(
            name: "LoomFuzzSupport",
            dependencies: [
                "LoomSystem", "LoomSockets", "LoomServer", "LoomChat",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Helpers every test target shares (polling, shared values, test data, /proc readers, a
        // real HAProxy on loopback); used by test targets only, never by a product.
        .target(
            name: "LoomTestSupport",
            dependencies: ["LoomThreading", "LoomSockets", "LoomSystem", .product(name: "Logging", package: "swift-log")],
            path: "Tests/LoomTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "LoomThreadingTests", dependencies: ["LoomThreading", "LoomSystem", "LoomTestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "LoomSocketsTests",
            dependencies: ["LoomSockets", "LoomThreading", "LoomSystem", "CLoomShims", "LoomTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LoomServerTests",
            dependencies: [
                "LoomServer", "LoomSockets", "LoomThreading", "LoomSystem", "LoomTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Every code block of the DocC catalogs, compiled (Snippets/), and checked to stay in sync.
        .testTarget(
            name: "LoomDocTests",
            dependencies: [
                "Loom", "LoomThreading", "LoomSockets", "LoomServer", "LoomChat", "LoomServiceLifecycle", "LoomTLS", "LoomTestSupport",
                "LoomMetrics",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "LoomTLSTests", dependencies: ["LoomTLS", "LoomServer", "LoomSockets", "LoomThreading", "LoomTestSupport", .product(name: "Logging", package: "swift-log")], swiftSettings: swiftSettings),
        .testTarget(
            name: "LoomServiceLifecycleTests",
            dependencies: [
                "LoomServiceLifecycle", "LoomServer", "LoomSockets", "LoomThreading", "LoomSystem", "LoomServiceExample", "LoomTestSupport",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "LoomChatTests", dependencies: ["LoomChat", "LoomServer", "LoomSockets", "LoomThreading", "LoomSystem", "LoomTestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "LoomMetricsTests",
            dependencies: [
                "LoomMetrics", "LoomServer", "LoomSockets", "LoomThreading", "LoomTestSupport",
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "LoomFuzzSupportTests", dependencies: ["LoomFuzzSupport"], swiftSettings: swiftSettings),
        // Spawns the built `loom` binary: the command line's public contract, end to end.
        .testTarget(name: "LoomCLITests", dependencies: ["loom", "Loom", "LoomSystem", "LoomTestSupport"], swiftSettings: swiftSettings),
    ]
)
