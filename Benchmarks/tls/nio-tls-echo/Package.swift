// swift-tools-version:6.0
// Reference TLS echo server on SwiftNIO + swift-nio-ssl (BoringSSL), for Benchmarks/tls-compare.sh
// only: Loom itself does not depend on SwiftNIO. tls-compare.sh copies this package to
// $NIO_TLS_DIR (default /tmp/nio-tls-echo) and builds it there with `swift build -c release`.
import PackageDescription

let package = Package(
    name: "nio-tls-echo",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        .executableTarget(
            name: "NIOTLSEcho",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            path: "Sources/NIOTLSEcho"
        ),
    ],
    swiftLanguageModes: [.v6]
)
