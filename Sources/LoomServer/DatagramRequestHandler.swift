import LoomSockets

/// Python's `socketserver.DatagramRequestHandler`: read the datagram from ``packet`` (Python's
/// `rfile`), write the reply with ``write(_:)-([UInt8])`` (Python's `wfile`); ``finish()`` sends
/// it back to the client in one datagram.
///
/// Unlike Python, nothing is sent when nothing was written (Python always sends, even an empty
/// datagram), and a client without an address (an unbound Unix datagram socket,
/// ``LoomSockets/SocketAddress/isUnnamed``) gets no reply: there is nowhere to send it, so the
/// reply is dropped with a `debug` log line instead of a failed `sendto`.
open class DatagramRequestHandler: BaseRequestHandler {
    /// The reply so far.
    public private(set) var reply: [UInt8] = []

    /// Appends bytes to the reply.
    public func write(_ bytes: [UInt8]) {
        reply.append(contentsOf: bytes)
    }

    /// Appends UTF-8 text to the reply.
    public func write(_ text: String) {
        reply.append(contentsOf: text.utf8)
    }

    /// Sends the reply, if there is one, to ``BaseRequestHandler/clientAddress``.
    open override func finish() throws {
        guard !reply.isEmpty else { return }
        if clientAddress.isUnnamed {
            server.logger.debug("no reply: the client's socket is unbound, so it has no address", metadata: [
                "bytes": "\(reply.count)",
            ])
            return
        }
        try request.sendTo(reply, to: clientAddress)
    }
}
