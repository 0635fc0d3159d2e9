#if canImport(Glibc)
import Glibc
#endif
@testable import LoomSockets
import Testing

/// `Socket.peek` (MSG_PEEK) and `SocketAddress` from wire bytes: what the PROXY protocol
/// reader builds on.
@Suite struct PeekAndRawAddressTests {
    @Test func peekLeavesTheBytesForRecv() throws {
        let (client, server) = try tcpPair()
        defer { client.close(); server.close() }
        server.timeout = .seconds(10)
        try client.sendAll("header|body")
        #expect(try server.peek(maxBytes: 6) == Array("header".utf8))
        #expect(try server.peek(maxBytes: 100).count <= 11)
        #expect(try server.recv(maxBytes: 7) == Array("header|".utf8))
        #expect(try server.peek(maxBytes: 100) == Array("body".utf8))
        #expect(try server.recv(maxBytes: 100) == Array("body".utf8))
    }

    @Test func peekHonoursTimeoutEndOfFileAndClose() throws {
        let (client, server) = try tcpPair()
        defer { server.close() }
        server.timeout = .milliseconds(50)
        expectError(.timedOut) { _ = try server.peek(maxBytes: 10) }
        server.timeout = .zero
        expectError(.wouldBlock) { _ = try server.peek(maxBytes: 10) }
        client.close()
        server.timeout = .seconds(10)
        #expect(try server.peek(maxBytes: 10).isEmpty, "end-of-file")
        server.close()
        expectError(.closed) { _ = try server.peek(maxBytes: 10) }
    }

    @Test func ipAddressesFromBytes() throws {
        #expect(try SocketAddress(ipBytes: [192, 0, 2, 1], port: 443) == SocketAddress("192.0.2.1:443"))
        let v6: [UInt8] = [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1]
        #expect(try SocketAddress(ipBytes: v6, port: 65535) == SocketAddress("[2001:db8::1]:65535"))
        let fromRaw = v6.withUnsafeBytes { raw in Result { () throws(SocketError) in try SocketAddress(ipBytes: raw, port: 1) } }
        #expect(try fromRaw.get() == SocketAddress("[2001:db8::1]:1"))
        for count in [0, 3, 5, 15, 17, 300] {
            expectError(.invalidArgument) { _ = try SocketAddress(ipBytes: [UInt8](repeating: 1, count: count), port: 1) }
        }
    }

    @Test func unixAddressesFromBytes() throws {
        let padded = Array("/run/x.sock".utf8) + [UInt8](repeating: 0, count: 97)
        #expect(try SocketAddress(unixPathBytes: padded) == SocketAddress(unixPath: "/run/x.sock"))
        #expect(try SocketAddress(unixPathBytes: [UInt8]()).isUnnamed)
        #expect(try SocketAddress(unixPathBytes: [UInt8](repeating: 0, count: 108)).isUnnamed)
        let full = [UInt8](repeating: 0x61, count: 108)   // no terminator: all 108 bytes are the path
        #expect(try SocketAddress(unixPathBytes: full).path == String(repeating: "a", count: 108))
        let abstract = try SocketAddress(unixPathBytes: [0] + Array("name".utf8) + [0, 0])
        let other = try SocketAddress(unixPathBytes: [0] + Array("other".utf8))
        #expect(abstract.family == .unix && abstract != other)
        expectError(.invalidArgument) { _ = try SocketAddress(unixPathBytes: [UInt8](repeating: 0x61, count: 109)) }
    }
}
