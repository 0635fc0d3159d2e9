#if canImport(Glibc)
import Glibc
#endif
import LoomTestSupport
import Testing
@testable import LoomSockets

/// True when this machine can bind [::1] (prints why not otherwise).
private func ipv6LoopbackAvailable() -> Bool {
    do {
        _ = try Socket.createServer(host: "::1", port: 0, family: .ipv6)
        return true
    } catch {
        print("IPv6 loopback test skipped: cannot bind [::1]: \(error)")
        return false
    }
}

extension SocketTests {
    @Suite struct TCP {
        @Test func courseServerAndClientOverIPv4() throws {
            let server = try Socket.createServer(port: 0)
            let address = try server.localAddress
            #expect(address.host == "127.0.0.1" && address.port > 0)
            #expect(try server.option(.reuseAddress))
            let client = try Socket.createConnection(host: "127.0.0.1", port: address.port, timeout: .seconds(5))
            #expect(client.timeout == .seconds(5))
            let (connection, peer) = try server.accept()
            #expect(peer == (try client.localAddress))
            #expect(try connection.peerAddress == peer)
            #expect(try client.peerAddress == address)
            try client.sendAll(#"{"status":true,"leave":true,"msg":"我下线了！"}"#)
            try client.shutdown(.write)
            let request = try BufferedReader(connection).readToEnd()
            #expect(String(decoding: request, as: UTF8.self) == #"{"status":true,"leave":true,"msg":"我下线了！"}"#)
            try connection.sendAll("不要回答,不要回答,不要回答")
            connection.close()
            #expect(String(decoding: try BufferedReader(client).readToEnd(), as: UTF8.self) == "不要回答,不要回答,不要回答")
        }

        @Test func ipv6Loopback() throws {
            guard ipv6LoopbackAvailable() else { return }
            let server = try Socket.createServer(host: "::1", port: 0)
            #expect(server.family == .ipv6)
            let address = try server.localAddress
            #expect("\(address)" == "[::1]:\(address.port)")
            let client = try Socket.createConnection(host: "::1", port: address.port)
            let (connection, peer) = try server.accept()
            #expect(peer.family == .ipv6 && peer.host == "::1")
            try connection.sendAll("v6")
            #expect(try client.recv(maxBytes: 8) == Array("v6".utf8))
        }

        @Test func dualStackServerAcceptsIPv4Clients() throws {
            guard ipv6LoopbackAvailable() else { return }
            let server = try Socket.createServer(host: "::", port: 0, family: .ipv6, dualStack: true)
            #expect(try server.option(.ipv6Only) == false)
            let client = try Socket.createConnection(host: "127.0.0.1", port: try server.localAddress.port)
            let (_, peer) = try server.accept()
            #expect(peer.host == "::ffff:127.0.0.1")
            _ = client
        }

        @Test func recvReturnsAtOnceWhenExactly4096TimesKBytesArrive() throws {
            // The BlueSocket hang: a read loop that keeps reading while the buffer came back full
            // blocks forever when the data is an exact multiple of its buffer. Loom returns.
            let (client, server) = try tcpPair()
            server.timeout = .seconds(5)   // a hang becomes a visible timeout, not a stuck suite
            for k in [1, 2, 16] {
                let data = pattern(4096 * k, seed: k)
                try client.sendAll(data)
                var received: [UInt8] = []
                while received.count < data.count {
                    let chunk = try server.recv(maxBytes: 4096 * k)   // exactly the size that arrived
                    #expect(!chunk.isEmpty)
                    received += chunk
                }
                #expect(received == data)
            }
            let reader = BufferedReader(server, capacity: 4096)
            try client.sendAll(pattern(8192))
            let chunk = try reader.read(upTo: 1 << 20)
            #expect(!chunk.isEmpty && chunk.count <= 8192)
            _ = client
        }

        @Test func sixtyFourMebibytesArriveByteExact() throws {
            let (client, server) = try tcpPair()
            let size = 64 << 20
            let payload = pattern(size)
            let writer = TestThread {
                try? client.sendAll(payload)
                try? client.shutdown(.write)
            }
            var received = [UInt8](repeating: 0, count: size + 1)
            var total = 0
            while true {
                let n = try received.withUnsafeMutableBytes { raw in
                    try server.recv(into: UnsafeMutableRawBufferPointer(rebasing: raw[total...]))
                }
                if n == 0 { break }
                total += n
                if total > size { break }
            }
            writer.join()
            #expect(total == size)
            let exact = received.withUnsafeBytes { r in
                payload.withUnsafeBytes { p in sameBytes(UnsafeRawBufferPointer(rebasing: r[..<size]), p) }
            }
            #expect(exact)
        }

        @Test func socketOptionsReadBackWhatWasSet() throws {
            let (client, _) = try tcpPair()
            try client.setOption(.noDelay, true)
            #expect(try client.option(.noDelay))
            try client.setOption(.noDelay, false)
            #expect(try client.option(.noDelay) == false)
            try client.setOption(.keepAlive, true)
            #expect(try client.option(.keepAlive))
            try client.setOption(.receiveBufferSize, 65_536)
            #expect(try client.option(.receiveBufferSize) >= 65_536)
            try client.setOption(.sendBufferSize, 32_768)
            #expect(try client.option(.sendBufferSize) >= 32_768)
            try client.setOption(.linger, Linger(.seconds(3)))
            #expect(try client.option(.linger) == Linger(.seconds(3)))
            try client.setOption(.linger, Linger(nil))
            #expect(try client.option(.linger) == Linger(nil))
            #expect(try client.option(.error) == 0)
            // Any other option by level and name.
            let priority = SocketOption<Int>(level: SOL_SOCKET, name: SO_PRIORITY)
            try client.setOption(priority, 3)
            #expect(try client.option(priority) == 3)
            let udp = try Socket(type: .datagram)
            try udp.setOption(.broadcast, true)
            #expect(try udp.option(.broadcast))
            let shared = try Socket()
            try shared.setOption(.reusePort, true)
            #expect(try shared.option(.reusePort))
            expectError(.other) { try client.setOption(SocketOption<Int>(level: SOL_SOCKET, name: 9999), 1) }  // ENOPROTOOPT
        }

        @Test func reusePortLetsTwoServersShareAPort() throws {
            let first = try Socket.createServer(port: 0, reusePort: true)
            let port = try first.localAddress.port
            let second = try Socket.createServer(port: port, reusePort: true)
            #expect(try second.localAddress.port == port)
            expectError(.addressInUse) { _ = try Socket.createServer(port: port) }
        }
    }
}
