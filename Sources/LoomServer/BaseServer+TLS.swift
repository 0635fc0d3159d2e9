import LoomSockets
import LoomTLS

/// ``ServerConfiguration/tls`` on the threaded servers, in Python's shape: `get_request` wraps
/// the accepted socket, and the handler gets the TLS stream. Loom differs in one way on purpose:
/// the wrap on the serving thread does no I/O, and the handshake runs on the request's thread
/// (Python's `wrap_socket` in `get_request` handshakes on the serving thread, so one slow client
/// stalls every other).
extension BaseServer {
    /// The TLS stream over a just-accepted connection, its handshake deferred; nil without TLS.
    func wrapForTLS(_ connection: Socket) throws(SocketError) -> TLSSocket? {
        guard let context = configuration.tls else { return nil }
        do throws(TLSError) {
            return try context.wrap(connection, serverSide: true, doHandshakeOnConnect: false)
        } catch {
            connection.close()
            throw error.asSocketError
        }
    }

    /// The handshake, bounded by the idle timeout (or ``TLSSetting/defaultHandshakeTimeout``);
    /// the socket then keeps the idle timeout. A failure is thrown to ``handleError(_:clientAddress:)``,
    /// which logs the peer and OpenSSL's reason; the server closes the connection.
    func handshake(_ tls: TLSSocket) throws(TLSError) {
        let idleTimeout = configuration.idleTimeout
        tls.timeout = TLSSetting.handshakeTimeout(idleTimeout: idleTimeout)
        try tls.doHandshake()
        tls.timeout = idleTimeout
    }

    /// close_notify then a half-close, so the peer reads a clean end of file; nothing to say
    /// to a peer whose handshake never completed.
    func shutdownTLS(_ tls: TLSSocket) {
        if tls.isHandshakeComplete {
            try? tls.shutdown(.write)
        } else {
            try? tls.transport.shutdown(.write)
        }
    }
}
