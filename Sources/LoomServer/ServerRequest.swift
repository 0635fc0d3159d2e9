import LoomSockets
import LoomTLS

/// One request as it goes through a server's steps (Python's `request`): for a stream server the
/// accepted connection; for a datagram server the server's own socket and the datagram received
/// (Python's `(data, socket)` pair).
public struct ServerRequest: Sendable {
    /// The connection, or the server's socket for a datagram server (reply with
    /// `sendTo(_:to: clientAddress)`).
    public let socket: Socket
    /// The datagram received (datagram servers); nil for a connection.
    public let packet: [UInt8]?
    /// With ``ServerConfiguration/tls``: the TLS stream over ``socket`` (Python's `request` is
    /// then an `SSLSocket`), its handshake not yet run: it runs on the request's thread.
    public let tls: TLSSocket?
    /// The PROXY protocol header the connection started with, when
    /// ``ServerConfiguration/proxyProtocol`` is on and one was sent; handed to the handler as
    /// ``BaseRequestHandler/proxyHeader``.
    public var proxyHeader: ProxyHeader? {
        get { proxyHeaderBox?.header }
        set { proxyHeaderBox = newValue.map(ProxyHeaderBox.init) }
    }
    /// Boxed (``ProxyHeaderBox``): the request is copied through every frame of a request's path.
    private(set) var proxyHeaderBox: ProxyHeaderBox?

    /// A request on `socket`, with the datagram for a datagram server, or the TLS stream over it.
    public init(socket: Socket, packet: [UInt8]? = nil, tls: TLSSocket? = nil, proxyHeader: ProxyHeader? = nil) {
        self.socket = socket
        self.packet = packet
        self.tls = tls
        self.proxyHeaderBox = proxyHeader.map(ProxyHeaderBox.init)
    }
}
