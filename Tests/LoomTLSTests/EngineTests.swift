import LoomTLS
import Testing

extension TLSTests {
    /// Two engines joined by nothing but memory: the engine needs no socket, returns
    /// want-read as a value, and carries data both ways byte-exact.
    @Test func enginesTalkThroughMemoryOnly() throws {
        let certificates = try Certificates.shared()
        let client = try TLSEngine(context: certificates.clientContext(), serverSide: false, serverHostname: "localhost")
        let server = try TLSEngine(context: certificates.serverContext(), serverSide: true)
        var buffer = [UInt8](repeating: 0, count: 32 * 1024)

        func pump(_ from: TLSEngine, _ to: TLSEngine) {
            buffer.withUnsafeMutableBytes { raw in
                while from.pendingOutputCount > 0 {
                    let count = from.takeOutput(into: raw)
                    to.feed(UnsafeRawBufferPointer(rebasing: raw[..<count]))
                }
            }
        }

        #expect(try client.doHandshake() == .wantRead)
        var rounds = 0
        while !(client.isHandshakeComplete && server.isHandshakeComplete) {
            rounds += 1
            try #require(rounds < 10)
            pump(client, server)
            _ = try server.doHandshake()
            pump(server, client)
            _ = try client.doHandshake()
        }
        pump(client, server)
        #expect(client.version == "TLSv1.3")
        #expect(client.peerCertificate?.commonName == "localhost")

        var plain = [UInt8](repeating: 0, count: 100)
        // Nothing fed yet: a value, not an error.
        #expect(try plain.withUnsafeMutableBytes { try server.read(into: $0) } == .wantRead)
        let message = Array("hello through memory".utf8)
        #expect(try message.withUnsafeBytes { try client.write($0) } == .bytes(message.count))
        pump(client, server)
        let result = try plain.withUnsafeMutableBytes { try server.read(into: $0) }
        #expect(result == .bytes(message.count))
        #expect(Array(plain[..<message.count]) == message)

        // close_notify reads as .closed on the other side.
        #expect(try client.shutdown() == .wantRead)
        pump(client, server)
        #expect(try plain.withUnsafeMutableBytes { try server.read(into: $0) } == .closed)
    }
}
