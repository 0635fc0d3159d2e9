import Testing
@testable import LoomSockets

/// `SocketError` stays small: every `try await` of a `throws(SocketError)` call keeps room for one
/// in the caller's async frame, which a suspended task holds for as long as it waits (ten thousand
/// idle `AsyncConnection` handlers). Its address is boxed; equality still compares it.
@Suite struct SocketErrorLayoutTests {
    @Test func aSocketErrorIsAtMostSixtyFourBytes() {
        #expect(MemoryLayout<SocketError>.size <= 64)
    }

    @Test func equalityComparesTheAddressNotTheBox() throws {
        let a = try SocketAddress(host: "127.0.0.1", port: 9)
        let b = try SocketAddress(host: "127.0.0.1", port: 9)
        let c = try SocketAddress(host: "127.0.0.1", port: 10)
        #expect(SocketError("connect", errno: 111, address: a) == SocketError("connect", errno: 111, address: b))
        #expect(SocketError("connect", errno: 111, address: a) != SocketError("connect", errno: 111, address: c))
        #expect(SocketError("connect", errno: 111, address: a) != SocketError("connect", errno: 111))
        #expect(SocketError("connect", errno: 111, address: a).address == b)
        #expect(SocketError("connect", errno: 111).address == nil)
        #expect("\(SocketError("connect", errno: 111, address: a))" == "connect to 127.0.0.1:9: connection refused")
    }
}
