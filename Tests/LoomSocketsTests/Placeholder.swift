import Testing
@testable import LoomSockets

@Test func smokeLoopback() throws {
    let server = try Socket.createServer(port: 0)
    let address = try server.localAddress
    let client = try Socket.createConnection(host: "localhost", port: address.port, timeout: .seconds(2))
    let (conn, peer) = try server.accept()
    #expect(peer == (try client.localAddress))
    try client.sendAll("mango ")
    #expect(try conn.recv(maxBytes: 1024) == Array("mango ".utf8))
    conn.timeout = .milliseconds(100)
    let start = ContinuousClock.now
    #expect(throws: SocketError.self) { try conn.recv(maxBytes: 10) }
    #expect(ContinuousClock.now - start >= .milliseconds(100))
    client.close()
    #expect(try conn.recv(maxBytes: 10) == [])
    let refused = try SocketAddress("127.0.0.1:1")
    let s = try Socket()
    do { try s.connect(to: refused) } catch { #expect("\(error)" == "connect to 127.0.0.1:1: connection refused") }
}
