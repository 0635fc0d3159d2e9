import LoomSockets
import LoomTLS

/// Python's `socketserver.BaseRequestHandler`: one object per request. Subclass it and override
/// ``handle()``; ``setup()`` runs before it and ``finish()`` after it, even when it throws.
///
/// ```swift
/// final class MyTCPHandler: BaseRequestHandler {
///     override func handle() throws {
///         let data = try request.recv(maxBytes: 1024)
///         try request.sendAll(data.map { $0 >= 97 && $0 <= 122 ? $0 - 32 : $0 })
///     }
/// }
/// ```
///
/// An error thrown from `setup`, `handle` or `finish` goes to the server's
/// ``BaseServer/handleError(_:clientAddress:)``; the server then closes the connection and goes on.
/// A handler object is used on one thread only, so its stored properties need no locking.
open class BaseRequestHandler {
    /// The connection (stream servers), or the server's own socket for a datagram server, which
    /// replies with `request.sendTo(_:to: clientAddress)` (Python's `request[1]`).
    public let request: Socket
    /// The peer's address (Python's `client_address`); for an unnamed Unix-domain client, an
    /// address with no path. Behind a proxy speaking the PROXY protocol
    /// (``ServerConfiguration/proxyProtocol``), the original client's address from the header.
    public let clientAddress: SocketAddress
    /// The server that accepted the request.
    public let server: BaseServer
    /// For a datagram server, the datagram received (Python's `request[0]`); empty for a stream.
    public internal(set) var packet: [UInt8] = []
    /// The PROXY protocol header the connection started with (Loom's addition, in the manner of
    /// Python's attributes: `self.proxy_header`), or nil when the server reads none
    /// (``ServerConfiguration/proxyProtocol`` is nil) or the client sent none (`.optional` mode).
    /// When it names the original client, ``clientAddress`` is that client; its TLVs (``ProxyHeader/tlvs``,
    /// ``ProxyHeader/tls``, ``ProxyHeader/uniqueID``) carry what the proxy knows. Set before ``setup()``.
    public var proxyHeader: ProxyHeader? { proxyHeaderBox?.header }
    /// Boxed (``ProxyHeaderBox``): set in ``BaseServer/finishRequest(_:clientAddress:)``, whose
    /// frame stays under the handler's whole run, so an inline header there grew every handler
    /// thread's resident stack by a page.
    var proxyHeaderBox: ProxyHeaderBox?
    /// With ``ServerConfiguration/tls``: the TLS stream over ``request``, its handshake done
    /// (Python's `request` is then the `SSLSocket`). Read and write through it (or ``stream``),
    /// never through `request`, which carries the ciphertext. Nil for a plaintext server.
    public internal(set) var tlsStream: TLSSocket?

    /// What the handler reads and writes: ``tlsStream`` when the server serves TLS, else
    /// ``request`` itself. ``StreamRequestHandler``'s `rfile` and `wfile` sit on it.
    public var stream: any ByteStream { tlsStream ?? request }

    /// Called by the server for every request. Subclasses that add stored properties with
    /// default values inherit it; those that define their own initialiser must call this one.
    public required init(request: Socket, clientAddress: SocketAddress, server: BaseServer) {
        self.request = request
        self.clientAddress = clientAddress
        self.server = server
    }

    /// Runs before ``handle()``. When it throws, neither `handle()` nor `finish()` runs.
    open func setup() throws {}

    /// Serves the request. The default does nothing.
    open func handle() throws {}

    /// Runs after ``handle()``, also when it threw.
    open func finish() throws {}

    /// Python's constructor body: `setup(); try: handle() finally: finish()`. An error from
    /// `handle()` wins over one from `finish()`.
    func run() throws {
        try setup()
        do {
            try handle()
        } catch {
            try? finish()
            throw error
        }
        try finish()
    }
}
