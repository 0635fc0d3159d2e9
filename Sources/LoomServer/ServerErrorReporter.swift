import Logging
import LoomSockets
import LoomTLS

/// The one error path of both server families: what a handler threw, or what failed while
/// accepting, goes to the server's `Logger`, classified the same way for threads and event loops,
/// unless the user installed a hook (``BaseServer/handleError(_:clientAddress:)`` overridden in a
/// subclass, or ``EventLoopServer/Configuration/errorHandler``), which then gets it instead.
struct ServerErrorReporter: Sendable {
    let logger: Logger
    let hook: (@Sendable (_ error: any Error, _ peer: SocketAddress?) -> Void)?
    /// Named in the log line of an unexpected error (the handler's type), if known.
    let handlerName: String?

    func report(_ error: any Error, peer: SocketAddress?) {
        if let hook {
            hook(error, peer)
        } else {
            Self.log(error, peer: peer, handlerName: handlerName, to: logger)
        }
    }

    /// Python's `handle_error`, as a log line: a peer that went away or fell silent is routine
    /// (info); anything else is an error naming the client, as Python's traceback header does.
    static func log(_ error: any Error, peer: SocketAddress?, handlerName: String?, to logger: Logger) {
        let client = peer.map { "\($0)" } ?? "the server"
        var metadata: Logger.Metadata = ["client": "\(client)", "error": "\(error)"]
        if let socketError = error as? SocketError {
            switch socketError.kind {
            case .timedOut:
                logger.info("closing a connection silent for too long", metadata: metadata)
                return
            case .connectionReset, .brokenPipe, .notConnected, .connectionAborted:
                logger.info("client went away", metadata: metadata)
                return
            default:
                break
            }
        }
        if error is ProxyProtocolError {
            logger.warning("refused a connection's PROXY header", metadata: metadata)
            return
        }
        if let tlsError = error as? TLSError {
            // One line naming the peer and OpenSSL's reason: a port scanner, a plaintext client or
            // a client whose certificate is refused is the client's failure, not the server's.
            logger.warning("TLS with \(client) failed: \(tlsError)", metadata: metadata)
            return
        }
        if let handlerName { metadata["handler"] = "\(handlerName)" }
        logger.error("Exception occurred during processing of request from \(client)", metadata: metadata)
    }
}
