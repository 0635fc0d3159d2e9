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
        .executable(name: "loom", targets: ["loom"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        // The only C in Loom: what Glibc does not expose to Swift (epoll, eventfd, accept4, gettid, futex).
        .target(name: "CLoomShims"),
        .target(
            name: "LoomThreading",
            dependencies: ["CLoomShims"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "LoomSockets",
            dependencies: ["CLoomShims"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "LoomServer",
            dependencies: [
                "LoomThreading", "LoomSockets",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The system's OpenSSL 3 (Debian's libssl-dev): no vendored copy.
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .target(
            name: "LoomTLS",
            dependencies: ["LoomSockets", "COpenSSL"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Loom",
            dependencies: ["LoomThreading", "LoomSockets", "LoomServer", "LoomTLS"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "loom",
            dependencies: [
                "Loom",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "LoomThreadingTests", dependencies: ["LoomThreading"], swiftSettings: swiftSettings),
        .testTarget(name: "LoomSocketsTests", dependencies: ["LoomSockets", "LoomThreading", "CLoomShims"], swiftSettings: swiftSettings),
        .testTarget(
            name: "LoomServerTests",
            dependencies: ["LoomServer", "LoomSockets", "LoomThreading", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "LoomTLSTests", dependencies: ["LoomTLS", "LoomSockets", "LoomThreading"], swiftSettings: swiftSettings),
        // Spawns the built `loom` binary: the command line's public contract, end to end.
        .testTarget(name: "LoomCLITests", dependencies: ["loom", "Loom"], swiftSettings: swiftSettings),
    ]
)
