#if canImport(Glibc)
import Glibc
#endif
import LoomSockets
import LoomTLS
import LoomTestSupport
import Testing

extension TLSTests {
    /// Runs a Loom server handshake (timeout 1 s, or 10 s when the client completes it: a real
    /// handshake must not race a short timeout on a busy machine) against a raw client doing
    /// `client`, returns the server's error.
    private func serverError(suppressRaggedEOFs: Bool = true, afterHandshake: Bool = false,
                             _ client: (Socket, Int) throws -> Void) throws -> TLSError? {
        let certificates = try Certificates.shared()
        let context = try certificates.serverContext()
        let failure = Shared<TLSError?>(nil)
        let server = try TestServer { connection in
            connection.timeout = afterHandshake ? .seconds(10) : .seconds(1)
            do throws(TLSError) {
                let tls = try context.wrap(connection, serverSide: true, suppressRaggedEOFs: suppressRaggedEOFs)
                if afterHandshake {
                    connection.timeout = .seconds(10)
                    let data = try tls.recv(maxBytes: 100)
                    if data.isEmpty { throw TLSError("test", kind: .zeroReturn, reason: "clean end of file") }
                }
            } catch {
                failure.value = error
            }
        }
        let socket = try Socket.createConnection(host: "127.0.0.1", port: server.port, timeout: .seconds(10))
        try client(socket, server.port)
        let errors = try server.finish(timeout: .seconds(20))
        socket.close()
        #expect(errors.isEmpty)
        return failure.value
    }

    /// A plaintext HTTP client on a TLS port: a protocol error at once, naming the problem.
    @Test func plaintextClientIsRefused() throws {
        let error = try serverError { socket, _ in
            try socket.sendAll("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        }
        #expect(error?.kind == .protocolError)
        #expect(error?.reason == "http request", "\(String(describing: error))")
    }

    /// Garbage instead of a ClientHello: a protocol error, not a hang or a crash.
    @Test func garbageIsRefused() throws {
        let error = try serverError { socket, _ in
            var generator = SystemRandomNumberGenerator()
            try socket.sendAll((0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) })
        }
        #expect(error?.kind == .protocolError, "\(String(describing: error))")
    }

    /// An oversize record header (a 64 KiB record length) is refused.
    @Test func oversizeRecordIsRefused() throws {
        let error = try serverError { socket, _ in
            try socket.sendAll([0x16, 0x03, 0x01, 0xFF, 0xFF] + [UInt8](repeating: 0, count: 1000))
        }
        #expect(error?.kind == .protocolError, "\(String(describing: error))")
    }

    /// A client that stops in the middle of the handshake (half a ClientHello): the server's
    /// handshake times out after its timeout instead of waiting for ever.
    @Test func stalledHandshakeTimesOut() throws {
        let started = ContinuousClock.now
        let error = try serverError { socket, _ in
            try socket.sendAll([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03])
            Thread.sleep(seconds: 2)
        }
        #expect(error?.kind == .transport)
        #expect(error?.socketError?.kind == .timedOut, "\(String(describing: error))")
        #expect(ContinuousClock.now - started < .seconds(15))
    }

    /// A client that connects and vanishes mid-handshake: an unexpected-EOF error.
    @Test func peerVanishingInHandshake() throws {
        let error = try serverError { socket, _ in
            try socket.sendAll([0x16, 0x03, 0x01, 0x02, 0x00])
            socket.close()
        }
        #expect(error?.kind == .unexpectedEOF, "\(String(describing: error))")
    }

    /// A peer that closes the transport without close_notify after the handshake: Python's
    /// SSLEOFError when ragged EOFs are not suppressed, a plain end of file when they are.
    @Test func closeWithoutCloseNotify() throws {
        let certificates = try Certificates.shared()
        let client = try certificates.clientContext()
        for suppress in [false, true] {
            let error = try serverError(suppressRaggedEOFs: suppress, afterHandshake: true) { socket, _ in
                let tls = try client.wrap(socket, serverHostname: "localhost")
                _ = tls
                // FIN without close_notify. (Closing with the server's session tickets unread
                // would make the kernel send a reset instead: a transport error.)
                try socket.shutdown(.write)
            }
            if suppress {
                #expect(error?.kind == .zeroReturn, "\(String(describing: error))")
            } else {
                #expect(error?.kind == .unexpectedEOF, "\(String(describing: error))")
                #expect(error?.asSocketError.kind == .endOfFile)
            }
        }
    }

    /// A client closing its stream sends close_notify: the server reads a clean end of file
    /// even with ragged EOFs not suppressed.
    @Test func closeSendsCloseNotify() throws {
        let certificates = try Certificates.shared()
        let client = try certificates.clientContext()
        let error = try serverError(suppressRaggedEOFs: false, afterHandshake: true) { socket, _ in
            let tls = try client.wrap(socket, serverHostname: "localhost")
            tls.close()
        }
        #expect(error?.kind == .zeroReturn, "\(String(describing: error))")
    }

    /// close() from another thread wakes a recv blocked on the stream.
    @Test func closeFromAnotherThreadWakesRecv() throws {
        let certificates = try Certificates.shared()
        let context = try certificates.serverContext()
        let server = try TestServer { connection in
            let tls = try context.wrap(connection, serverSide: true)
            _ = try? tls.recv(maxBytes: 1)
        }
        let tls = try certificates.clientContext().connect(host: "localhost", port: server.port, timeout: .seconds(10))
        let closer = LoomThreading.Thread {
            Thread.sleep(seconds: 0.3)
            tls.close()
        }
        try closer.start()
        let error = #expect(throws: TLSError.self) { try tls.recv(maxBytes: 10) }
        #expect(error?.socketError?.kind == .closed, "\(String(describing: error))")
        #expect(try closer.join(timeout: .seconds(10)))
        try expectClean(server)
    }
}

import LoomThreading

extension LoomThreading.Thread {
    static func sleep(seconds: Double) {
        LoomThreading.Thread.sleep(for: .milliseconds(Int(seconds * 1000)))
    }
}
