#if canImport(Glibc)
import Glibc
#endif
import CLoomShims
import Logging
import LoomSockets
import Synchronization

/// An event-driven TCP server: one event loop (a thread on epoll) per core, non-blocking
/// sockets, thousands of connections without a thread each. Python's `asyncio` servers with
/// `socketserver`'s life cycle.
///
/// Handlers come in two styles:
/// ```swift
/// // asyncio.Protocol style: callbacks with borrowed bytes, no allocation a read.
/// let server = try EventLoopServer(configuration: .init(port: 9999)) { Echo() }
///
/// // async/await style: blocking-looking code, running on the event loop.
/// let server = try EventLoopServer(configuration: .init(port: 9999)) { connection in
///     var buffer = [UInt8](repeating: 0, count: 4096)
///     while true {
///         let line = try await connection.recv(maxBytes: 4096)
///         if line.isEmpty { break }
///         try await connection.sendAll(line)
///     }
/// }
/// server.serveForever()              // until shutdown() from another thread
/// ```
///
/// The listening sockets are bound and the loop threads created in `init` (so ``serverAddress``
/// has the real port when `port` is 0, and a busy port or a system out of threads throws there);
/// the loops start running with ``start()`` or ``serveForever()``.
public final class EventLoopServer: Sendable {
    /// How connections reach the loops.
    public enum AcceptStrategy: Sendable, Hashable {
        /// Each loop has its own listening socket on the same port (`SO_REUSEPORT`) and the
        /// kernel spreads connections: no hand-over between threads. The default: with two
        /// loops (unpinned, `Benchmarks/compare-servers.sh ACCEPT_COMPARE=1`) it served 0.91× /
        /// 1.49× the C server at 128 / 1,000 connections against 0.84× / 1.07× for hand-off,
        /// and used less CPU a request, because no connection crosses threads (no inbox, no
        /// eventfd wake-up) and a busy loop never delays another loop's accepts. Its one cost,
        /// an uneven spread of very few connections, did not show at 16.
        case reusePort
        /// Loop 0 accepts every connection and hands them round-robin to the loops (one
        /// cross-thread hand-over a connection; an even spread even for a few connections).
        case handOff
    }

    /// What the server does; every field has a sensible default. What both server families share
    /// (backlog, `maxConnections`, `idleTimeout`, grace period, reuse options…) lives in ``server``,
    /// a ``ServerConfiguration``, and is also reachable here by its own name.
    public struct Configuration: Sendable {
        /// Address to bind; loopback unless told otherwise.
        public var host: String
        /// Port to bind; 0 picks a free one (see ``EventLoopServer/serverAddress``).
        public var port: Int
        /// The settings shared with the threaded servers.
        public var server: ServerConfiguration
        /// Event loops (threads); nil means one per CPU this process may run on.
        public var loops: Int?
        /// How connections reach the loops.
        public var acceptStrategy: AcceptStrategy
        /// Above this many unsent bytes a connection's protocol gets `pauseWriting()`.
        public var writeBufferHighWaterMark: Int
        /// At or below this many the protocol gets `resumeWriting()`; nil: a quarter of high.
        public var writeBufferLowWaterMark: Int?
        /// `TCP_NODELAY` on every connection.
        public var noDelay: Bool
        /// Bytes read at once (one buffer per loop, shared by its connections).
        public var readBufferSize: Int
        /// Called (on a loop thread) when a handler throws or accepting fails, instead of logging
        /// it to the server's logger (the hook ``BaseServer/handleError(_:clientAddress:)`` is for
        /// the threaded servers).
        public var errorHandler: (@Sendable (_ error: any Error, _ peer: SocketAddress?) -> Void)?
        /// A listening TCP socket to serve on instead of binding `host` and `port` (for example
        /// one inherited from a service manager); the server owns it from now on. Its loops then
        /// share it by hand-off (``AcceptStrategy/handOff``).
        public var listener: Socket? = nil
        /// Sets `SO_REUSEPORT` even with one loop and skips the busy-port check, so that several
        /// processes can serve one port and the kernel spreads connections among them (scale-out).
        public var sharesPort: Bool = false

        /// Listen backlog (``ServerConfiguration/requestQueueSize``).
        public var backlog: Int32 {
            get { server.requestQueueSize }
            set { server.requestQueueSize = newValue }
        }
        /// At most this many connections at once; more wait in the backlog. nil: no limit.
        public var maxConnections: Int? {
            get { server.maxConnections }
            set { server.maxConnections = newValue }
        }
        /// Connections without any read or write for this long are closed. nil: never.
        public var idleTimeout: Duration? {
            get { server.idleTimeout }
            set { server.idleTimeout = newValue }
        }

        /// Whether connections start with a PROXY protocol header
        /// (``ServerConfiguration/proxyProtocol``). nil: never.
        public var proxyProtocol: ProxyProtocolMode? {
            get { server.proxyProtocol }
            set { server.proxyProtocol = newValue }
        }

        /// Creates a configuration.
        public init(
            host: String = "127.0.0.1", port: Int = 0, loops: Int? = nil, acceptStrategy: AcceptStrategy = .reusePort,
            backlog: Int32 = SOMAXCONN, maxConnections: Int? = nil, idleTimeout: Duration? = nil,
            writeBufferHighWaterMark: Int = 65536, writeBufferLowWaterMark: Int? = nil, noDelay: Bool = true,
            readBufferSize: Int = 65536,
            errorHandler: (@Sendable (_ error: any Error, _ peer: SocketAddress?) -> Void)? = nil
        ) {
            self.init(
                host: host, port: port,
                server: ServerConfiguration(requestQueueSize: backlog, maxConnections: maxConnections, idleTimeout: idleTimeout),
                loops: loops, acceptStrategy: acceptStrategy, writeBufferHighWaterMark: writeBufferHighWaterMark,
                writeBufferLowWaterMark: writeBufferLowWaterMark, noDelay: noDelay, readBufferSize: readBufferSize,
                errorHandler: errorHandler)
        }

        /// Creates a configuration from the settings both server families share.
        public init(
            host: String = "127.0.0.1", port: Int = 0, server: ServerConfiguration, loops: Int? = nil,
            acceptStrategy: AcceptStrategy = .reusePort, writeBufferHighWaterMark: Int = 65536,
            writeBufferLowWaterMark: Int? = nil, noDelay: Bool = true, readBufferSize: Int = 65536,
            errorHandler: (@Sendable (_ error: any Error, _ peer: SocketAddress?) -> Void)? = nil
        ) {
            self.host = host
            self.port = port
            self.server = server
            self.loops = loops
            self.acceptStrategy = acceptStrategy
            self.writeBufferHighWaterMark = writeBufferHighWaterMark
            self.writeBufferLowWaterMark = writeBufferLowWaterMark
            self.noDelay = noDelay
            self.readBufferSize = readBufferSize
            self.errorHandler = errorHandler
        }
    }

    /// The configuration the server runs with.
    public var configuration: Configuration { group.configuration }
    /// The bound address (with the real port).
    public let serverAddress: SocketAddress

    /// The loops and their shared state. The loop threads keep it alive (not this object), so
    /// dropping the last reference to the server, even on a loop thread, never frees what a loop uses.
    let group: EventLoopGroup
    var loops: [EventLoop] { group.loops }

    /// A server whose connections are handled by `protocolFactory()`'s objects (asyncio's
    /// `loop.create_server(protocol_factory)`). The factory runs on the loop threads.
    ///
    /// Throws ``SocketError/Kind/addressInUse`` when another socket (even another
    /// `EventLoopServer` of this user) already listens on the port, and the `pthread_create`
    /// error when the system cannot create the loop threads.
    public convenience init(
        configuration: Configuration = Configuration(), logger: Logger = BaseServer.defaultLogger,
        protocolFactory: @escaping @Sendable () -> any StreamProtocol
    ) throws(SocketError) {
        try self.init(configuration: configuration, logger: logger, handler: .protocolFactory(protocolFactory))
    }

    /// A server that runs `handler` for each connection as a task on the connection's event
    /// loop (asyncio's `start_server(client_connected_cb)`). When `handler` returns or throws,
    /// the connection is flushed and closed.
    public convenience init(
        configuration: Configuration = Configuration(), logger: Logger = BaseServer.defaultLogger,
        handler: @escaping @Sendable (AsyncConnection) async throws -> Void
    ) throws(SocketError) {
        try self.init(configuration: configuration, logger: logger, handler: .async(handler))
    }

    init(configuration: Configuration, logger: Logger, handler: ConnectionHandler) throws(SocketError) {
        do throws(ServerError) {
            try configuration.server.validate(.serial)
        } catch {
            throw SocketError("configure", kind: .invalidArgument, errno: EINVAL, detail: "\(error)")
        }
        group = try EventLoopGroup(configuration: configuration, handler: handler, logger: logger)
        serverAddress = group.serverAddress
    }

    deinit {
        // On a loop thread (the last reference dropped inside a handler) this cannot wait for
        // the loops: they are told to stop and their threads detached; they keep the group alive.
        group.shutdown(gracePeriod: .zero, detachIfOnLoop: true)
    }

    /// The server's event loops: hand work to one with ``EventLoop/execute(_:)`` or
    /// ``EventLoop/schedule(after:_:)``.
    public var eventLoops: [EventLoop] { group.loops }

    /// The number of event loops.
    public var loopCount: Int { group.loops.count }

    /// Connections open right now (accepted and not yet closed), across all loops.
    public var connectionCount: Int { group.connectionCount }

    /// Starts the loops and returns. Idempotent; does nothing after ``shutdown(gracePeriod:)``.
    public func start() {
        group.start()
    }

    /// Python's `serve_forever()`: starts the loops if needed and returns once ``shutdown(gracePeriod:)``
    /// has stopped them.
    public func serveForever() {
        group.serveForever()
    }

    /// Stops the server gracefully: no new connections (the listening sockets close at once),
    /// open connections get up to `gracePeriod` to finish (async handlers to return), then the
    /// rest are closed. Returns when every loop has stopped; from a loop thread (inside a
    /// handler) it returns at once instead of deadlocking, as Python's would.
    public func shutdown(gracePeriod: Duration) {
        group.shutdown(gracePeriod: gracePeriod, detachIfOnLoop: false)
    }

    /// ``shutdown(gracePeriod:)`` with the configured ``ServerConfiguration/gracePeriod`` (5 s by default).
    public func shutdown() {
        shutdown(gracePeriod: configuration.server.gracePeriod)
    }
}
