// swift-tools-version:6.1
// A stand-in for `loom serve --mode threading --tls-*` until the server integration lands:
// one thread per connection, each blocking on a TLSSocket (the handshake on that thread, then
// recv/sendAll). Only for Benchmarks/tls-compare.sh (SERVERS=... loom_tls_blocking).
import PackageDescription

let package = Package(
    name: "loom-tls-echo",
    dependencies: [.package(name: "Loom", path: "../../..")],
    targets: [
        .executableTarget(
            name: "LoomTLSEcho",
            dependencies: [.product(name: "Loom", package: "Loom")],
            path: "Sources/LoomTLSEcho",
            swiftSettings: [.swiftLanguageMode(.v6), .enableUpcomingFeature("ExistentialAny")]
        ),
    ]
)
