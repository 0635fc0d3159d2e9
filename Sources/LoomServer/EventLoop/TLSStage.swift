#if canImport(Glibc)
import Glibc
#endif
import LoomSockets
import LoomSystem
import LoomTLS

/// TLS between a ``Transport`` and its protocol (asyncio's `SSLProtocol`), driven through a
/// ``TLSEngine`` on memory buffers so that the loop never blocks: ciphertext read from the socket
/// is fed to the engine and the plaintext it yields goes to the protocol; what the protocol writes
/// is encrypted and the ciphertext goes through the transport's ordinary write path (its write
/// buffer, watermarks and flushing on close).
///
/// As in asyncio, the protocol's `connectionMade` runs once the handshake is complete; a
/// connection whose handshake fails or does not finish within the handshake timeout (the idle
/// timeout, else 10 s) is closed with one log line, and its protocol hears nothing.
final class TLSStage {
    let engine: TLSEngine
    /// The protocol's `connectionMade` ran: only then may `connectionLost` follow.
    var protocolStarted = false
    /// The peer's close_notify arrived: a transport end of file after it is clean.
    var closeNotifyReceived = false
    var closeNotifySent = false
    var handshakeTimer: Cancellable?

    init(engine: TLSEngine) {
        self.engine = engine
    }

    /// Starts TLS on a just-adopted transport: arms the handshake deadline on the loop's timer heap.
    static func start(on transport: Transport, context: TLSContext, handshakeTimeout: Duration) {
        let engine: TLSEngine
        do {
            engine = try TLSEngine(context: context, serverSide: true)
        } catch {
            transport.handler = ClosedProtocol.shared  // never made, so it hears nothing
            transport.fail(error)
            return
        }
        let stage = TLSStage(engine: engine)
        transport.tls = stage
        // Weak: a cancelled timer stays in the heap until due, and must not keep the
        // connection (and its OpenSSL state) alive that long.
        let target = EventLoopBound(WeakTransport(transport), eventLoop: transport.eventLoop)
        stage.handshakeTimer = transport.eventLoop.schedule(after: handshakeTimeout) {
            guard let transport = target.value.transport, let stage = transport.tls,
                  !stage.protocolStarted, transport.state != .closed else { return }
            transport.terminate(SocketError.idleTimeout)
        }
    }

    /// The connection is being dropped for silence (this stage's timer, or the idle sweep,
    /// whichever came first) before its handshake completed: one line says so.
    func reportHandshakeTimeout(_ transport: Transport) {
        transport.eventLoop.report(
            TLSError("tls handshake", kind: .transport, reason: "no complete handshake in time; closing the connection",
                     socketError: SocketError("tls handshake", kind: .timedOut, errno: ETIMEDOUT, detail: "handshake timeout")),
            peer: transport.peerAddress)
    }

    // MARK: Inbound

    /// Ciphertext arrived: feed it, finish the handshake if needed, and hand every plaintext byte
    /// to the protocol, decrypted into `scratch` (the loop's read buffer: `ciphertext` is copied
    /// into the engine first, so the buffer is free again).
    func received(_ ciphertext: UnsafeRawBufferPointer, scratch: UnsafeMutableRawBufferPointer, transport: Transport) {
        engine.feed(ciphertext)
        if !protocolStarted {
            guard handshake(transport) else { return }
        }
        while transport.state == .open, !closeNotifyReceived {
            let result: TLSIOResult
            do {
                result = try engine.read(into: scratch)
            } catch {
                failed(error, transport: transport)
                return
            }
            switch result {
            case .bytes(let count):
                do {
                    try transport.handler.dataReceived(UnsafeRawBufferPointer(rebasing: scratch[..<count]))
                } catch {
                    transport.fail(error)
                    return
                }
            case .wantRead, .wantWrite:
                flush(transport)  // key updates, session tickets
                return
            case .closed:
                closeNotifyReceived = true
                flush(transport)
                transport.endOfInput()
                return
            }
        }
    }

    /// Runs the handshake as far as the bytes allow; true once complete and the protocol started.
    private func handshake(_ transport: Transport) -> Bool {
        let status: TLSStatus
        do {
            status = try engine.doHandshake()
        } catch {
            failed(error, transport: transport)
            return false
        }
        flush(transport)
        guard status == .complete, transport.state == .open else { return false }
        handshakeTimer?.cancel()
        handshakeTimer = nil
        protocolStarted = true
        do {
            try transport.handler.connectionMade(transport)
        } catch {
            transport.fail(error)
            return false
        }
        return transport.state == .open
    }

    /// The socket reached end of file. Before the handshake completed, or without close_notify,
    /// it is logged (the data may have been truncated); then the protocol sees an ordinary end
    /// of file. Returns false when the connection was dropped instead.
    func transportEnded(_ transport: Transport) -> Bool {
        if closeNotifyReceived { return true }
        if !protocolStarted {
            transport.eventLoop.report(
                TLSError("tls handshake", kind: .unexpectedEOF, reason: "the peer closed the connection during the handshake"),
                peer: transport.peerAddress)
            transport.terminate(TLSError("tls handshake", kind: .unexpectedEOF, reason: "EOF during the handshake"))
            return false
        }
        transport.eventLoop.errorReporter.logger.info(
            "TLS peer closed without close_notify", metadata: ["client": "\(transport.peerAddress.map { "\($0)" } ?? "?")"])
        return true
    }

    /// A TLS failure: the alert OpenSSL queued goes out if the socket takes it at once, the error
    /// is logged with the peer, and the connection is dropped.
    private func failed(_ error: TLSError, transport: Transport) {
        withUnsafeTemporaryAllocation(byteCount: 1024, alignment: 16) { alert in
            let count = engine.takeOutput(into: alert)
            if count > 0 { _ = transport.socket.sendNonBlocking(UnsafeRawBufferPointer(rebasing: alert[..<count])) }
        }
        transport.fail(error)
    }

    // MARK: Outbound

    /// Encrypts what the protocol writes; the ciphertext joins the transport's write path.
    func write(_ plaintext: UnsafeRawBufferPointer, transport: Transport) {
        do {
            _ = try engine.write(plaintext)  // memory buffers take everything once the handshake is done
        } catch {
            failed(error, transport: transport)
            return
        }
        flush(transport)
    }

    /// Queues our close_notify (``Transport/close()`` and ``Transport/writeEOF()``), once.
    func sendCloseNotify(_ transport: Transport) {
        guard protocolStarted, !closeNotifySent else { return }
        closeNotifySent = true
        _ = try? engine.shutdown()
        flush(transport)
    }

    /// Moves the engine's pending ciphertext to the transport.
    @inline(__always)
    func flush(_ transport: Transport) {
        let pending = engine.pendingOutputCount
        if pending > 0 { transport.sendCiphertext(from: engine, count: pending) }
    }
}

/// The handshake timer's hold on its connection.
final class WeakTransport {
    weak var transport: Transport?
    init(_ transport: Transport) { self.transport = transport }
}
