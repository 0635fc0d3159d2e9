#if canImport(Glibc)
import Glibc
#endif
import LoomTestSupport
import Testing
@testable import LoomSockets

extension SocketTests {
    /// Addresses a hostile or careless caller can produce.
    @Suite struct HostileAddresses {
        @Test(arguments: ["127.0.0.1\0evil", "\0", "::1\0", "localhost\0.example"])
        func aNULInAHostIsRejectedNotTruncated(_ host: String) {
            expectError(.invalidArgument) { _ = try SocketAddress(host: host, port: 80) }
            expectError(.invalidArgument) { _ = try Socket.resolve(host: host, port: 80) }
            expectError(.invalidArgument) { _ = try Socket.createConnection(host: host, port: 80, timeout: .seconds(1)) }
            expectError(.invalidArgument) { _ = try SocketAddress("\(host):80") }
        }

        @Test func anUnboundUnixDatagramSenderIsUnnamedUnixNotIPv4() throws {
            let path = temporarySocketPath("unnamed")
            let server = try Socket.createUnixServer(path: path, type: .datagram)
            defer { server.close(); unlink(path) }
            server.timeout = .seconds(5)
            let client = try Socket(family: .unix, type: .datagram)
            defer { client.close() }
            try client.sendTo(Array("hi".utf8), to: SocketAddress(unixPath: path))
            let (bytes, sender) = try server.recvFrom(maxBytes: 16)
            #expect(bytes == Array("hi".utf8))
            #expect(sender.family == .unix)
            #expect(sender.isUnnamed)
            #expect(sender.path == nil)
            #expect("\(sender)" == "unix:")
            // A named sender is not unnamed, and neither is an IP address.
            #expect(!(try SocketAddress(unixPath: path)).isUnnamed)
            #expect(!(try SocketAddress(host: "0.0.0.0", port: 0)).isUnnamed)
        }
    }
}
