#if canImport(Glibc)
import Glibc
#endif
import CLoomShims
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
/// try server.serveForever()          // until shutdown() from another thread
/// ```
///
/// The listening socket is bound in `init` (so ``serverAddress`` has the real port when
/// `port` is 0); threads start with ``start()`` or ``serveForever()``.
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

    /// What the server does; every field has a sensible default.
    public struct Configuration: Sendable {
        /// Address to bind; loopback unless told otherwise.
        public var host: String
        /// Port to bind; 0 picks a free one (see ``EventLoopServer/serverAddress``).
        public var port: Int
        /// Event loops (threads); nil means one per CPU this process may run on.
        public var loops: Int?
        /// How connections reach the loops.
        public var acceptStrategy: AcceptStrategy
        /// Listen backlog.
        public var backlog: Int32
        /// At most this many connections at once; more wait in the backlog. nil: no limit.
        public var maxConnections: Int?
        /// Connections without any read or write for this long are closed. nil: never.
        public var idleTimeout: Duration?
        /// Above this many unsent bytes a connection's protocol gets `pauseWriting()`.
        public var writeBufferHighWaterMark: Int
        /// At or below this many the protocol gets `resumeWriting()`; nil: a quarter of high.
        public var writeBufferLowWaterMark: Int?
        /// `TCP_NODELAY` on every connection.
        public var noDelay: Bool
        /// Bytes read at once (one buffer per loop, shared by its connections).
        public var readBufferSize: Int
        /// Called (on a loop thread) when a handler throws or accepting fails; nil prints
        /// Python's `handle_error` block to stderr.
        public var errorHandler: (@Sendable (_ error: any Error, _ peer: SocketAddress?) -> Void)?

        /// Creates a configuration.
        public init(
            host: String = "127.0.0.1", port: Int = 0, loops: Int? = nil, acceptStrategy: AcceptStrategy = .reusePort,
            backlog: Int32 = SOMAXCONN, maxConnections: Int? = nil, idleTimeout: Duration? = nil,
            writeBufferHighWaterMark: Int = 65536, writeBufferLowWaterMark: Int? = nil, noDelay: Bool = true,
            readBufferSize: Int = 65536,
            errorHandler: (@Sendable (_ error: any Error, _ peer: SocketAddress?) -> Void)? = nil
        ) {
            self.host = host
            self.port = port
            self.loops = loops
            self.acceptStrategy = acceptStrategy
            self.backlog = backlog
            self.maxConnections = maxConnections
            self.idleTimeout = idleTimeout
            self.writeBufferHighWaterMark = writeBufferHighWaterMark
            self.writeBufferLowWaterMark = writeBufferLowWaterMark
            self.noDelay = noDelay
            self.readBufferSize = readBufferSize
            self.errorHandler = errorHandler
        }
    }

    /// The configuration the server runs with.
    public let configuration: Configuration
    /// The bound address (with the real port).
    public let serverAddress: SocketAddress

    let handler: ConnectionHandler
    let idleTimeoutMilliseconds: Int64?
    // Written once in init before any thread starts, read-only afterwards.
    nonisolated(unsafe) private(set) var loops: [EventLoop] = []
    private let threads = Mutex<[LoopThread]?>(nil)
    private let state = Atomic<Int>(0)  // 0 created, 1 running, 2 stopping
    private let active = Atomic<Int>(0)
    private let acceptPaused = Atomic<Bool>(false)
    private let grace = Atomic<Int64>(5000)
    private let nextLoop = Atomic<Int>(0)
    private let runningLoops = Atomic<Int>(0)
    private let exited = OneShotLatch()

    /// A server whose connections are handled by `protocolFactory()`'s objects (asyncio's
    /// `loop.create_server(protocol_factory)`). The factory runs on the loop threads.
    public convenience init(
        configuration: Configuration = Configuration(),
        protocolFactory: @escaping @Sendable () -> any StreamProtocol
    ) throws(SocketError) {
        try self.init(configuration: configuration, handler: .protocolFactory(protocolFactory))
    }

    /// A server that runs `handler` for each connection as a task on the connection's event
    /// loop (asyncio's `start_server(client_connected_cb)`). When `handler` returns or throws,
    /// the connection is flushed and closed.
    public convenience init(
        configuration: Configuration = Configuration(),
        handler: @escaping @Sendable (AsyncConnection) async throws -> Void
    ) throws(SocketError) {
        try self.init(configuration: configuration, handler: .async(handler))
    }

    init(configuration: Configuration, handler: ConnectionHandler) throws(SocketError) {
        self.configuration = configuration
        self.handler = handler
        idleTimeoutMilliseconds = configuration.idleTimeout.map { timeout in
            let (seconds, atto) = timeout.components
            return max(1, seconds * 1000 + atto / 1_000_000_000_000_000)
        }
        let count = max(1, configuration.loops ?? Int(cloom_cpu_count()))
        let reusePort = configuration.acceptStrategy == .reusePort && count > 1
        let first = try Socket.createServer(
            host: configuration.host, port: configuration.port, reusePort: reusePort, backlog: configuration.backlog)
        first.timeout = .zero
        serverAddress = try first.localAddress
        var listeners: [Socket?] = [first]
        for _ in 1..<count {
            if reusePort {
                let more = try Socket.createServer(
                    host: serverAddress.host, port: serverAddress.port, family: serverAddress.family, reusePort: true,
                    backlog: configuration.backlog)
                more.timeout = .zero
                listeners.append(more)
            } else {
                listeners.append(nil)
            }
        }
        var made: [EventLoop] = []
        for (index, listener) in listeners.enumerated() {
            made.append(try EventLoop(index: index, server: self, listener: listener))
        }
        loops = made
    }

    deinit {
        shutdown(gracePeriod: .zero)
    }

    /// The number of event loops.
    public var loopCount: Int { loops.count }

    /// Connections open right now (accepted and not yet closed), across all loops.
    public var connectionCount: Int { active.load(ordering: .relaxed) }

    /// Starts the loop threads and returns. Idempotent.
    public func start() {
        threads.withLock { threads in
            guard threads == nil, state.load(ordering: .relaxed) == 0 else { return }
            state.store(1, ordering: .releasing)
            runningLoops.store(loops.count, ordering: .relaxed)
            threads = loops.map { loop in
                LoopThread(name: "loom-loop-\(loop.index)") { [self] in
                    loop.run()
                    if runningLoops.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 { exited.open() }
                }
            }
        }
    }

    /// Python's `serve_forever()`: starts the loops if needed and returns once ``shutdown(gracePeriod:)``
    /// has stopped them.
    public func serveForever() {
        start()
        guard threads.withLock({ $0 != nil }) else { return }
        exited.wait()
        joinThreads()
    }

    /// Stops the server gracefully: no new connections (the listening sockets close at once),
    /// open connections get up to `gracePeriod` to finish (async handlers to return), then the
    /// rest are closed. Returns when every loop has stopped; from a loop thread (inside a
    /// handler) it returns at once instead of deadlocking, as Python's would.
    public func shutdown(gracePeriod: Duration = .seconds(5)) {
        let (seconds, atto) = gracePeriod.components
        grace.store(max(0, seconds * 1000 + atto / 1_000_000_000_000_000), ordering: .relaxed)
        let previous = state.exchange(2, ordering: .acquiringAndReleasing)
        if previous == 0 {
            // Never started: nothing runs, just release the listening sockets.
            for loop in loops { loop.listener?.close() }
            return
        }
        for loop in loops { loop.wake() }
        if loops.contains(where: { $0.isOnLoopThread }) { return }
        exited.wait()
        joinThreads()
    }

    private func joinThreads() {
        let toJoin = threads.withLock { threads -> [LoopThread] in
            defer { if threads != nil { threads = [] } }
            return threads ?? []
        }
        for thread in toJoin { thread.join() }
    }

    // MARK: Loop side

    var isStopping: Bool { state.load(ordering: .relaxed) == 2 }
    var gracePeriodMilliseconds: Int64 { grace.load(ordering: .relaxed) }
    var hasRoom: Bool {
        guard let limit = configuration.maxConnections else { return true }
        return active.load(ordering: .relaxed) < limit
    }

    /// Counts a connection about to be accepted; false when ``Configuration/maxConnections`` is reached.
    func reserveConnection() -> Bool {
        guard let limit = configuration.maxConnections else {
            active.add(1, ordering: .relaxed)
            return true
        }
        var current = active.load(ordering: .relaxed)
        while current < limit {
            let (exchanged, original) = active.compareExchange(
                expected: current, desired: current + 1, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
        return false
    }

    func connectionClosed() {
        active.subtract(1, ordering: .relaxed)
        if acceptPaused.load(ordering: .relaxed), acceptPaused.exchange(false, ordering: .relaxed) {
            for loop in loops { loop.wake() }
        }
    }

    func noteAcceptPaused() {
        acceptPaused.store(true, ordering: .relaxed)
    }

    /// Gives an accepted connection to a loop.
    func dispatch(_ socket: Socket, from acceptor: EventLoop) {
        if configuration.acceptStrategy == .reusePort || loops.count == 1 {
            acceptor.adopt(socket)
            return
        }
        let target = loops[nextLoop.add(1, ordering: .relaxed).oldValue % loops.count]
        if target === acceptor { acceptor.adopt(socket) } else { target.post(socket) }
    }

    func report(_ error: any Error, peer: SocketAddress?) {
        if let handler = configuration.errorHandler {
            handler(error, peer)
            return
        }
        let dashes = String(repeating: "-", count: 40)
        let from = peer.map { "\($0)" } ?? "the server"
        let text = "\(dashes)\nException occurred during processing of request from \(from)\n\(error)\n\(dashes)\n"
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(2, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return }
                offset += n
            }
        }
    }
}
