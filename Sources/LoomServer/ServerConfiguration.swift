#if canImport(Glibc)
import Glibc
#endif
import LoomSockets
import LoomTLS

/// The settings Python keeps as class attributes (`allow_reuse_address`, `request_queue_size`, …),
/// plus Loom's protections against floods and silent peers.
///
/// ```swift
/// let configuration = ServerConfiguration(allowReuseAddress: true, maxConnections: 200, idleTimeout: .seconds(30))
/// let server = try ThreadingTCPServer(port: 9999, handler: Upper.self, configuration: configuration)
/// ```
public struct ServerConfiguration: Sendable, Hashable {
    /// `SO_REUSEADDR` before binding (Python's `allow_reuse_address`, default false): restart on
    /// a port that still has connections in `TIME_WAIT`.
    public var allowReuseAddress: Bool
    /// `SO_REUSEPORT` before binding (Python's `allow_reuse_port`): several servers share a port.
    public var allowReusePort: Bool
    /// The listen backlog (Python's `request_queue_size`). Default `SOMAXCONN` rather than
    /// Python's 5, which refuses most of a burst of clients.
    public var requestQueueSize: Int32
    /// At most this many requests in the server at once. Past it the server stops accepting:
    /// new connections wait in the listen backlog and no thread is spawned for them. Nil: no limit.
    public var maxConnections: Int?
    /// A connection silent this long (no byte received, or no byte taken by the peer) is closed:
    /// the handler's next `recv` or send throws ``SocketError/Kind/timedOut``, the server logs it
    /// and closes the connection. Defends against slowloris. Nil: wait forever (Python's default).
    /// A ``StreamRequestHandler`` whose `timeout` is set uses that instead.
    public var idleTimeout: Duration?
    /// The largest datagram a datagram server receives whole (Python's `max_packet_size` is 8192
    /// and silently truncates; Loom's default takes any UDP datagram).
    public var maxPacketSize: Int
    /// Stack size of handler threads in bytes; nil: `Thread.stackSize` (by default the system's,
    /// 8 MiB of address space of which only the touched pages are resident).
    public var threadStackSize: Int?
    /// Name of handler threads (their `Thread.name`).
    public var threadName: String
    /// How long a graceful shutdown lets open connections finish before closing them: what
    /// `shutdown()` of an ``EventLoopServer`` and a service lifecycle's graceful shutdown use.
    public var gracePeriod: Duration = .seconds(5)
    /// Whether connections start with a PROXY protocol header (v1 or v2) from a proxy such as
    /// HAProxy: nil (the default) reads none. With `.required` or `.optional` every stream
    /// connection's header is read before anything else (before a TLS handshake, before the
    /// handler), on the connection's own thread or event loop; the handler then sees the original
    /// client's address and the header itself (``BaseRequestHandler/proxyHeader``,
    /// ``Transport/proxyHeader``). The header must arrive within ``idleTimeout``, or within
    /// ``defaultProxyHeaderTimeout`` when that is nil. A bad, missing (`.required`) or slow
    /// header is logged in one line naming the peer and the reason, and the connection closed.
    public var proxyProtocol: ProxyProtocolMode? = nil

    /// How long a PROXY header may take to arrive when ``idleTimeout`` is nil: 5 seconds (a proxy
    /// sends it with the connection's first packet).
    public static let defaultProxyHeaderTimeout: Duration = .seconds(5)

    /// The time a connection's PROXY header has: ``idleTimeout``, else ``defaultProxyHeaderTimeout``.
    var proxyHeaderTimeout: Duration { idleTimeout ?? Self.defaultProxyHeaderTimeout }
    /// Serve TLS with this server-side context (Python: `get_request` returns
    /// `context.wrap_socket(conn, server_side=True)`); nil serves plaintext. See ``TLSSetting``.
    public var tls: TLSContext? {
        get { tlsSetting.context }
        set { tlsSetting = TLSSetting(newValue) }
    }
    var tlsSetting = TLSSetting(nil)
    /// Told of every connection's life (accepted, closed with its bytes and duration, handler
    /// errors, the connection limit reached): how `LoomMetrics` counts. Nil (the default) costs
    /// one nil check per connection event. Compared by identity.
    public var observer: (any ServerObserver)? {
        get { observerSlot.observer }
        set { observerSlot = ObserverSlot(observer: newValue) }
    }
    private var observerSlot = ObserverSlot(observer: nil)

    /// Creates a configuration; every parameter has Python's default or a safer one.
    public init(
        allowReuseAddress: Bool = false,
        allowReusePort: Bool = false,
        requestQueueSize: Int32 = SOMAXCONN,
        maxConnections: Int? = nil,
        idleTimeout: Duration? = nil,
        maxPacketSize: Int = 65_536,
        threadStackSize: Int? = nil,
        threadName: String = "loom-handler",
        tls: TLSContext? = nil,
        proxyProtocol: ProxyProtocolMode? = nil
    ) {
        self.allowReuseAddress = allowReuseAddress
        self.allowReusePort = allowReusePort
        self.requestQueueSize = requestQueueSize
        self.maxConnections = maxConnections
        self.idleTimeout = idleTimeout
        self.maxPacketSize = maxPacketSize
        self.threadStackSize = threadStackSize
        self.threadName = threadName
        self.proxyProtocol = proxyProtocol
        self.tls = tls
    }

    func validate(_ concurrency: Concurrency) throws(ServerError) {
        if let maxConnections, maxConnections < 1 {
            throw .invalidConfiguration("maxConnections must be at least 1, not \(maxConnections)")
        }
        if case .pool(let workers, let backlog) = concurrency.strategy {
            if workers < 1 { throw .invalidConfiguration("a pool needs at least 1 worker, not \(workers)") }
            if backlog < 0 { throw .invalidConfiguration("a pool backlog cannot be negative (\(backlog))") }
        }
        if maxPacketSize < 1 { throw .invalidConfiguration("maxPacketSize must be at least 1") }
        if let threadStackSize, threadStackSize < 65_536 {
            throw .invalidConfiguration("threadStackSize must be at least 64 KiB, not \(threadStackSize)")
        }
        if let idleTimeout, idleTimeout <= .zero {
            throw .invalidConfiguration("idleTimeout must be positive")
        }
        try tlsSetting.validate()
        if gracePeriod < .zero {
            throw .invalidConfiguration("gracePeriod cannot be negative")
        }
    }
}
