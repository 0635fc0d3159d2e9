import LoomSockets

extension TLSContext {
    /// Python's `wrap_socket`: TLS over the connected `socket`, which the stream uses from now on
    /// (do not read or write it directly; ``TLSSocket/close()`` closes it).
    ///
    /// A client (`serverSide: false`) names the server in `serverHostname`: it is sent as SNI
    /// and, with ``checkHostname``, must match the certificate. With `doHandshakeOnConnect`
    /// (Python's default) the handshake runs now, under the socket's timeout; if it fails the
    /// error is thrown and the socket stays open for the caller to close.
    public func wrap(_ socket: Socket, serverSide: Bool = false, serverHostname: String? = nil,
                     doHandshakeOnConnect: Bool = true, suppressRaggedEOFs: Bool = true,
                     session: TLSSession? = nil) throws(TLSError) -> TLSSocket {
        let engine = try TLSEngine(context: self, serverSide: serverSide, serverHostname: serverHostname, session: session)
        let stream = TLSSocket(socket: socket, engine: engine, context: self, suppressRaggedEOFs: suppressRaggedEOFs)
        if doHandshakeOnConnect { try stream.doHandshake() }
        return stream
    }

    /// `Socket.createConnection` then ``wrap(_:serverSide:serverHostname:doHandshakeOnConnect:suppressRaggedEOFs:session:)``
    /// with `serverHostname` defaulting to `host`; `timeout` bounds the connect and the handshake
    /// and stays the stream's timeout. The socket is closed if anything fails.
    public func connect(host: String, port: Int, timeout: Duration? = nil, serverHostname: String? = nil,
                        session: TLSSession? = nil) throws(TLSError) -> TLSSocket {
        let socket: Socket
        do {
            socket = try Socket.createConnection(host: host, port: port, timeout: timeout)
        } catch {
            throw TLSError("connect", transport: error)
        }
        do {
            return try wrap(socket, serverHostname: serverHostname ?? host, session: session)
        } catch {
            socket.close()
            throw error
        }
    }
}
