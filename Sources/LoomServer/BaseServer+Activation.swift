#if canImport(Glibc)
import Glibc
#endif
import LoomSockets

extension BaseServer {
    /// Python's `handle_request` timeout: the smaller of the server's and the socket's, nil
    /// (wait for ever) when neither is set. The listener's `.zero` is Loom's own non-blocking
    /// mode, not a limit a user asked for.
    static func handleRequestTimeout(server: Duration?, socket: Duration?) -> Duration? {
        let socketLimit = socket == .zero ? nil : socket
        switch (server, socketLimit) {
        case (nil, nil): return nil
        case (let one?, nil), (nil, let one?): return one
        case (let a?, let b?): return min(a, b)
        }
    }

    /// Throws when the socket cannot serve yet: a stream socket not listening, a datagram socket
    /// not bound (a server made with `bindAndActivate: false` and not yet activated). Python
    /// would spin on `accept` failing with `EINVAL`, or wait for ever. A closed socket passes:
    /// the loop reports ``ServerError/closed`` itself.
    func requireActivated(_ operation: String) throws(ServerError) {
        guard !socket.isClosed else { return }
        let ready: Bool
        do throws(SocketError) {
            if socket.type == .stream {
                ready = try socket.option(SocketOption<Int>(level: SOL_SOCKET, name: SO_ACCEPTCONN)) != 0
            } else {
                let address = try socket.localAddress
                ready = address.family == .unix ? address.path != nil : address.port != 0
            }
        } catch {
            if error.kind == .closed { return }
            throw .socket(error)
        }
        if !ready {
            throw .socket(SocketError(
                operation, kind: .invalidArgument, errno: EINVAL,
                detail: "the server's socket is not bound and activated: call serverBind() and serverActivate() first"))
        }
    }
}
