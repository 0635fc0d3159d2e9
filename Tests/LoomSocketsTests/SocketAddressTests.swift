import Testing
@testable import LoomSockets

extension SocketTests {
    @Suite struct Addresses {
        @Test func parsesAndPrintsIPv4IPv6AndUnix() throws {
            let v4 = try SocketAddress("127.0.0.1:9999")
            #expect(v4.family == .ipv4 && v4.host == "127.0.0.1" && v4.port == 9999)
            #expect("\(v4)" == "127.0.0.1:9999")
            let v6 = try SocketAddress("[::1]:9999")
            #expect(v6.family == .ipv6 && v6.host == "::1" && v6.port == 9999)
            #expect("\(v6)" == "[::1]:9999")
            let unix = try SocketAddress("unix:/tmp/loom.sock")
            #expect(unix.family == .unix && unix.path == "/tmp/loom.sock")
            #expect("\(unix)" == "unix:/tmp/loom.sock")
            #expect(try SocketAddress(host: "127.0.0.1", port: 9999) == v4)
            #expect(v4 != (try SocketAddress("127.0.0.1:9998")))
        }

        @Test(arguments: ["", "127.0.0.1", "127.0.0.1:", "127.0.0.1:99999", "127.0.0.1:-1", "[::1]", "[::1]9",
                          "::1:80", "localhost:80", "unix:", "300.1.1.1:80", "1.2.3.4:http"])
        func rejectsGarbage(_ text: String) {
            expectError(.invalidArgument) { _ = try SocketAddress(text) }
        }

        @Test func rejectsOverlongUnixPath() {
            expectError(.invalidArgument) { _ = try SocketAddress(unixPath: "/tmp/" + String(repeating: "x", count: 200)) }
            expectError(.invalidArgument) { _ = try SocketAddress(unixPath: "/tmp/a\0b") }
        }

        @Test func resolvesNamesToLoopback() throws {
            let addresses = try Socket.resolve(host: "localhost", port: 80)
            #expect(!addresses.isEmpty)
            #expect(addresses.allSatisfy { $0.port == 80 && ($0.host == "127.0.0.1" || $0.host == "::1") })
            expectError(.nameResolution) { _ = try Socket.resolve(host: "no-such-host.invalid", port: 80) }
            expectError(.invalidArgument) { _ = try Socket.resolve(host: "localhost", port: 70000) }
        }
    }
}
