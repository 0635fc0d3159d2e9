import LoomSockets

/// The threaded family's PROXY stage: on the request's own thread, before anything else reads the
/// connection, the header is read and the request goes on as the original client's.
extension BaseServer {
    /// Reads the PROXY header of a stream request when ``ServerConfiguration/proxyProtocol`` asks
    /// for one. Returns the request (carrying the header) and the client address the handler
    /// sees; nil when the header was refused, already reported through
    /// ``handleError(_:clientAddress:)`` with the connection's own peer (the caller closes it).
    /// Never inlined: its reader and header would otherwise enlarge the frame of the closure
    /// that runs the whole request, and so every idle handler thread's resident stack.
    @inline(never)
    func receiveProxyHeader(
        _ request: ServerRequest, clientAddress: SocketAddress
    ) -> (request: ServerRequest, clientAddress: SocketAddress)? {
        guard let mode = configuration.proxyProtocol, request.socket !== socket else { return (request, clientAddress) }
        let reader = ProxyHeaderReader(mode: mode, timeout: configuration.proxyHeaderTimeout)
        do throws(ProxyProtocolError) {
            guard let header = try reader.read(from: request.socket) else { return (request, clientAddress) }
            var proxied = request
            proxied.proxyHeader = header
            return (proxied, header.clientAddress ?? clientAddress)
        } catch {
            handleError(error, clientAddress: clientAddress)
            return nil
        }
    }
}

extension ServerConfiguration {
    /// A PROXY header prefixes a stream; over datagrams (v2 prefixes each one) Loom reads none.
    func validateProxyProtocol(for type: SocketType) throws(ServerError) {
        if proxyProtocol != nil && type != .stream {
            throw .invalidConfiguration("the PROXY protocol needs a stream server, not a datagram one")
        }
    }
}
