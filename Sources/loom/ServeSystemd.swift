import Loom

/// `loom serve --systemd`: the listening socket comes from the service manager (socket
/// activation: `systemd-socket-activate -l 127.0.0.1:9999 loom serve --systemd`, or a
/// `.socket` unit). Its kind (TCP, UDP, Unix stream or datagram) decides the server's; the
/// first socket is served when several are passed (the others are closed).
extension Serve {
    /// The inherited socket; the error names `socket activation` and says what is missing.
    static func inheritedSocket() throws(SocketError) -> Socket {
        let inherited = try Socket.inheritedFromServiceManager()
        guard let first = inherited.first else {
            throw SocketError("socket activation", kind: .invalidArgument,
                              detail: "--systemd: no socket from the service manager (LISTEN_PID and LISTEN_FDS are not set for this process); run it under systemd or systemd-socket-activate")
        }
        for extra in inherited.dropFirst() { extra.socket.close() }
        return first.socket
    }
}
