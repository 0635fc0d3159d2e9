#if canImport(Glibc)
import Glibc
#endif
@testable import LoomServer
import LoomSockets
import LoomThreading
import Testing

/// The blocking reader on real sockets: it takes exactly the header, never a byte of the
/// application's data, and gives up on slow, vanishing or hostile peers within its deadline.
@Suite struct ProxyHeaderReaderTests {
    typealias B = ProxyHeaderBuilder

    /// A connected TCP pair on loopback (the reader's real situation: accepted connections).
    func tcpPair() throws -> (client: Socket, server: Socket) {
        let listener = try Socket.createServer(host: "127.0.0.1", port: 0)
        defer { listener.close() }
        let client = try Socket.createConnection(host: "127.0.0.1", port: try listener.localAddress.port,
                                                 timeout: .seconds(10))
        let (server, _) = try listener.accept()
        server.timeout = .seconds(10)
        return (client, server)
    }

    /// Sends `chunks` from a thread, pausing between them; returns the thread to join.
    func sendSlowly(_ socket: Socket, _ chunks: [[UInt8]], pause: Duration, thenClose: Bool = false) throws -> LoomThreading.Thread {
        let thread = LoomThreading.Thread(name: "proxy-sender", daemon: true) {
            for chunk in chunks {
                // Once the reader gave up and the test closed the socket, stop at once.
                guard (try? socket.sendAll(chunk)) != nil else { break }
                LoomThreading.Thread.sleep(for: pause)
            }
            if thenClose { socket.close() }
        }
        try thread.start()
        return thread
    }

    @Test(arguments: [
        B.v1("PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\n"),
        B.v1("PROXY UNKNOWN\r\n"),
        B.v2IPv4(source: "192.0.2.1", 56324, destination: "127.0.0.1", 80, tlvs: B.tlv(0x05, "abc")),
        B.withChecksum(B.v2IPv6(source: "2001:db8::1", 9, destination: "::1", 10)),
        B.v2(command: 0x20, family: 0x00, body: []),
    ])
    func readsExactlyTheHeader(header: [UInt8]) throws {
        for mode in [ProxyProtocolMode.required, .optional] {
            let (client, server) = try tcpPair()
            defer { client.close(); server.close() }
            let application = Array("PROXY is also the first word here\r\n".utf8)
            try client.sendAll(header + application)
            let parsed = try #require(try ProxyHeaderReader(mode: mode, timeout: .seconds(10)).read(from: server))
            #expect(parsed.length == header.count)
            #expect(try ProxyHeaderParser().parse(header) == .header(parsed))
            client.close()
            var rest: [UInt8] = []
            while true {
                let chunk = try server.recv(maxBytes: 4096)
                if chunk.isEmpty { break }
                rest += chunk
            }
            #expect(rest == application, "mode \(mode)")
            #expect(server.timeout == .seconds(10), "the socket's timeout is restored")
        }
    }

    @Test func optionalModeLeavesAPlainConnectionUntouched() throws {
        let (client, server) = try tcpPair()
        defer { client.close(); server.close() }
        let request = Array("PROXZ-not-a-header and more\r\n".utf8)
        try client.sendAll(request)
        #expect(try ProxyHeaderReader(mode: .optional, timeout: .seconds(10)).read(from: server) == nil)
        #expect(try server.recv(maxBytes: 4096) == request)
    }

    /// A plain connection whose first bytes look like the start of a signature and arrive in
    /// pieces: in optional mode nothing may be consumed until the signature is complete.
    @Test func optionalModeConsumesNothingOfAPartialSignature() throws {
        for (first, rest) in [("PRO", "GRAM starts here\n"), ("\r\n\r\n", "blank lines\n")] {
            let (client, server) = try tcpPair()
            defer { client.close(); server.close() }
            let sender = try sendSlowly(client, [Array(first.utf8), Array(rest.utf8)], pause: .milliseconds(50))
            #expect(try ProxyHeaderReader(mode: .optional, timeout: .seconds(10)).read(from: server) == nil)
            #expect(try sender.join(timeout: .seconds(10)))
            client.close()
            var all: [UInt8] = []
            while true {
                let chunk = try server.recv(maxBytes: 4096)
                if chunk.isEmpty { break }
                all += chunk
            }
            #expect(all == Array((first + rest).utf8))
        }
    }

    @Test func datagramSocketsAreRefused() throws {
        let (a, b) = try Socket.pair(type: .datagram)
        defer { a.close(); b.close() }
        try a.sendAll(ProxyHeaderBuilder.v1("PROXY UNKNOWN\r\n"))
        do {
            _ = try ProxyHeaderReader(mode: .optional, timeout: .seconds(10)).read(from: b)
            Issue.record("a datagram socket was read as a stream")
        } catch {
            guard case .socket(let socketError) = error else { throw error }
            #expect(socketError.kind == .invalidArgument && "\(error)".contains("stream socket"))
        }
        #expect(try b.recv(maxBytes: 100).count == 15, "the datagram is untouched")
    }

    @Test func requiredModeRefusesAPlainConnection() throws {
        let (client, server) = try tcpPair()
        defer { client.close(); server.close() }
        try client.sendAll("GET / HTTP/1.0\r\n\r\n")
        #expect(throws: ProxyProtocolError.notProxyHeader) {
            try ProxyHeaderReader(mode: .required, timeout: .seconds(10)).read(from: server)
        }
    }

    /// Bytes trickling in (a split signature included) still make the header, in both modes.
    @Test func headerInManySmallPieces() throws {
        for mode in [ProxyProtocolMode.required, .optional] {
            for header in [B.v1("PROXY TCP6 ::1 ::2 1 2\r\n"), B.v2IPv4(source: "1.2.3.4", 1, destination: "5.6.7.8", 2)] {
                let (client, server) = try tcpPair()
                defer { client.close(); server.close() }
                let pieces = (header + Array("tail".utf8)).map { [$0] }
                let sender = try sendSlowly(client, pieces, pause: .milliseconds(2))
                let parsed = try #require(try ProxyHeaderReader(mode: mode, timeout: .seconds(30)).read(from: server))
                #expect(parsed.length == header.count)
                #expect(try sender.join(timeout: .seconds(30)))
                client.close()
                var rest: [UInt8] = []
                while true {
                    let chunk = try server.recv(maxBytes: 16)
                    if chunk.isEmpty { break }
                    rest += chunk
                }
                #expect(rest == Array("tail".utf8))
            }
        }
    }

    /// A header arriving one byte at a time too slowly: the reader gives up at its deadline,
    /// whatever the phase (inside a signature in optional mode, or after it).
    @Test func slowlorisIsCutOffAtTheDeadline() throws {
        for (mode, header) in [(ProxyProtocolMode.required, B.v1("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n")),
                               (.optional, B.v1("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n")),
                               (.optional, B.v2IPv4(source: "1.2.3.4", 1, destination: "5.6.7.8", 2))] {
            let (client, server) = try tcpPair()
            defer { client.close(); server.close() }
            let sender = try sendSlowly(client, header.map { [$0] }, pause: .milliseconds(150))
            let start = ContinuousClock.now
            do {
                _ = try ProxyHeaderReader(mode: mode, timeout: .milliseconds(400)).read(from: server)
                Issue.record("a slow header was accepted")
            } catch {
                guard case .timedOut(let received) = error else {
                    Issue.record("unexpected \(error)")
                    continue
                }
                #expect(received < header.count)
            }
            #expect(ContinuousClock.now - start < .seconds(10), "the deadline bounds the read")
            client.close()
            #expect(try sender.join(timeout: .seconds(30)))
        }
    }

    @Test func peerVanishesMidHeader() throws {
        for mode in [ProxyProtocolMode.required, .optional] {
            let (client, server) = try tcpPair()
            defer { server.close() }
            try client.sendAll(Array(B.v1("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n").prefix(20)))
            client.close()
            #expect(throws: ProxyProtocolError.truncated(received: 20)) {
                try ProxyHeaderReader(mode: mode, timeout: .seconds(10)).read(from: server)
            }
        }
        // Nothing at all: truncated when required, a plain (empty) connection when optional.
        let (client, server) = try tcpPair()
        defer { server.close() }
        client.close()
        #expect(try ProxyHeaderReader(mode: .optional, timeout: .seconds(10)).read(from: server) == nil)
    }

    /// Hostile headers are refused from the bytes already there, without waiting for the
    /// deadline (which is far away) or for bytes the peer will never send.
    @Test func hostileHeadersFailFast() throws {
        let cases: [([UInt8], ProxyProtocolError)] = [
            (B.v2(family: 0x11, body: [], declaredLength: 65_535), .v2TooLong(length: 65_535, limit: 2048)),
            (Array(("PROXY UNKNOWN " + String(repeating: "z", count: 150)).utf8), .v1LineTooLong),
            (B.v2Signature + [0x31], .v2UnsupportedVersion(3)),
        ]
        for (bytes, expected) in cases {
            let (client, server) = try tcpPair()
            defer { client.close(); server.close() }
            try client.sendAll(bytes)   // and keep the connection open
            #expect(throws: expected) {
                try ProxyHeaderReader(mode: .required, timeout: .seconds(20)).read(from: server)
            }
        }
    }
}
