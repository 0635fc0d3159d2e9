#if canImport(Glibc)
import Glibc
#endif
import Logging
import LoomSockets
import LoomSystem
import LoomTLS
import Synchronization

/// Python's `socketserver.BaseServer` together with the socket half of `TCPServer`: a socket,
/// a request-handler class, a concurrency strategy and the request loop.
///
/// Use its subclasses: ``TCPServer``, ``ThreadingTCPServer``, ``UDPServer``, ``UnixStreamServer``,
/// ``UnixDatagramServer`` and their `Threading` siblings. Subclass one of them to override the
/// hooks ``verifyRequest(_:clientAddress:)``, ``handleError(_:clientAddress:)``,
/// ``handleTimeout()`` and ``serviceActions()``, or Python's request steps ``getRequest()``,
/// ``processRequest(_:clientAddress:)``, ``finishRequest(_:clientAddress:)``,
/// ``shutdownRequest(_:)`` and ``closeRequest(_:)``, and ``serverBind()`` and ``serverActivate()``.
///
/// Differences from Python, all on purpose:
/// - ``shutdown()`` wakes the loop at once (no `poll_interval` delay) and throws
///   ``ServerError/shutdownFromServingThread`` where Python deadlocks. It is final: once shut
///   down, ``serveForever(pollInterval:)`` returns at once (Python's flag-reset quirk is gone).
/// - ``serverClose()`` stops a running loop first, removes a Unix socket's path, and never waits
///   for the handler that calls it.
/// - The listen backlog is `SOMAXCONN`, not 5; ``ServerConfiguration/maxConnections``,
///   ``ServerConfiguration/idleTimeout`` and ``shutdown(gracePeriod:)`` bound what a flood, a silent
///   peer or a stuck client can hold.
///
/// Subclasses must stay thread-safe: hooks run on the serving thread (`verifyRequest`,
/// `serviceActions`, `handleTimeout`) and on handler threads (`handleError`) concurrently.
// @unchecked Sendable: mutable state is an Atomic or lives under `monitor`; the rest is immutable.
open class BaseServer: @unchecked Sendable {
    /// The server's socket (Python's `server.socket`): listening for a stream server, bound for a
    /// datagram server.
    public let socket: Socket
    /// Python's `server_address`: the address asked for until ``serverBind()``, then the one the
    /// socket is bound to (with port 0, the port the system chose).
    public var serverAddress: SocketAddress { monitor.withLock { state.address } }
    /// The request-handler class (Python's `RequestHandlerClass`); one instance per request.
    /// With a handler factory, the class its result type names (`BaseRequestHandler` when the
    /// closure's type is inferred as such).
    public let handlerType: BaseRequestHandler.Type
    let makeHandler: RequestHandlerMaker
    /// How requests run: serial, a thread each, or a pool.
    public let concurrency: Concurrency
    /// Backlog, limits and timeouts.
    public let configuration: ServerConfiguration
    /// Where the server logs errors, idle closes and shutdowns.
    public let logger: Logger

    let wake: EventWaker
    let active: ActiveRequests
    let dispatcher: any RequestDispatcher
    private let stopRequested = Atomic<Bool>(false)
    private let monitor = Monitor()
    private var state: LoopState

    private struct LoopState {
        var address: SocketAddress
        /// Set once this server bound the path (or adopted a socket bound to it): only then is
        /// the path its own to remove.
        var unixPath: String?
        var serving = false
        var servingThread = pthread_t()
        var shutDown = false
        var closed = false
        var socketClosed = false
        var closeWhenLoopEnds = false
        var timeout: Duration?
    }

    /// How this class runs requests when an initialiser is given ``Concurrency/classDefault`` (every
    /// initialiser's default): serial here, a thread per request in the `Threading` classes.
    /// Override it to make a server class with its own, as Python's
    /// `class Server(ThreadingMixIn, TCPServer): pass`:
    ///
    /// ```swift
    /// final class PooledServer: TCPServer, @unchecked Sendable {
    ///     override class var defaultConcurrency: Concurrency { .pool(workers: 8) }
    /// }
    /// ```
    open class var defaultConcurrency: Concurrency { .serial }

    /// The logger servers use when none is given: label `loom.server`, with whatever backend the
    /// program bootstrapped (swift-log's default prints to stdout).
    public static var defaultLogger: Logger { Logger(label: "loom.server") }

    /// Serves on a socket prepared elsewhere (for example inherited from a service manager).
    /// A stream socket must be bound and listening, a datagram socket bound. The server owns it
    /// from now on and closes it in ``serverClose()``.
    public init(
        socket: Socket, handler: BaseRequestHandler.Type, concurrency: Concurrency = .classDefault,
        configuration: ServerConfiguration = ServerConfiguration(), logger: Logger = BaseServer.defaultLogger
    ) throws(ServerError) {
        let concurrency = concurrency.resolved(classChoice: Self.defaultConcurrency)
        try configuration.validate(concurrency)
        try configuration.validateProxyProtocol(for: socket.type)
        let address: SocketAddress
        do throws(SocketError) { address = try socket.localAddress } catch { throw .socket(error) }
        let wake = try Self.makeWaker()
        self.socket = socket
        self.handlerType = handler
        self.makeHandler = RequestHandlerMaker(type: handler)
        self.concurrency = concurrency
        self.configuration = configuration
        self.logger = logger
        self.wake = wake
        self.state = LoopState(address: address, unixPath: address.family == .unix ? address.path : nil)
        let limit = [configuration.maxConnections, concurrency.capacity].compactMap { $0 }.min()
        self.active = ActiveRequests(limit: limit, wake: wake, observer: configuration.observer)
        self.dispatcher = makeDispatcher(for: concurrency, configuration: configuration)
        Self.prepareListener(socket)
    }

    /// Serves on a socket prepared elsewhere, as ``init(socket:handler:concurrency:configuration:logger:)``,
    /// with a handler made by `handlerFactory` for each request instead of a handler class.
    public convenience init<Handler: BaseRequestHandler>(
        socket: Socket, concurrency: Concurrency = .classDefault,
        configuration: ServerConfiguration = ServerConfiguration(), logger: Logger = BaseServer.defaultLogger,
        handlerFactory: @escaping RequestHandlerFactory<Handler>
    ) throws(ServerError) {
        let address: SocketAddress
        do throws(SocketError) { address = try socket.localAddress } catch { throw .socket(error) }
        try self.init(socket: socket, address: address, bound: true, handlers: RequestHandlerMaker(factory: handlerFactory),
                      concurrency: concurrency, configuration: configuration, logger: logger)
    }

    /// The one initialiser every other reaches (but the public class-based one, kept designated
    /// for subclasses): `address` is what the socket is bound to when `bound`, else what
    /// ``serverBind()`` will bind (Python's `TCPServer.__init__` before `bind_and_activate`).
    init(
        socket: Socket, address: SocketAddress, bound: Bool, handlers: RequestHandlerMaker, concurrency: Concurrency,
        configuration: ServerConfiguration, logger: Logger
    ) throws(ServerError) {
        let concurrency = concurrency.resolved(classChoice: Self.defaultConcurrency)
        try configuration.validate(concurrency)
        try configuration.validateProxyProtocol(for: socket.type)
        let wake = try Self.makeWaker()
        self.socket = socket
        self.handlerType = handlers.type
        self.makeHandler = handlers
        self.concurrency = concurrency
        self.configuration = configuration
        self.logger = logger
        self.wake = wake
        self.state = LoopState(address: address, unixPath: bound && address.family == .unix ? address.path : nil)
        let limit = [configuration.maxConnections, concurrency.capacity].compactMap { $0 }.min()
        self.active = ActiveRequests(limit: limit, wake: wake, observer: configuration.observer)
        self.dispatcher = makeDispatcher(for: concurrency, configuration: configuration)
        Self.prepareListener(socket)
    }

    /// The eventfd that wakes the serving loop (``shutdown()``, a freed slot).
    private static func makeWaker() throws(ServerError) -> EventWaker {
        do throws(SystemCallError) { return try EventWaker() } catch { throw .socket(SocketError(error)) }
    }

    /// A new socket of `type` for `address`, not yet bound (Python's `TCPServer.__init__`).
    static func unboundSocket(for address: SocketAddress, type: SocketType) throws(ServerError) -> Socket {
        do throws(SocketError) { return try Socket(family: address.family, type: type) } catch { throw .socket(error) }
    }

    /// The loop polls before accepting, and accepts in batches until "would block": a
    /// non-blocking listener makes a connection that vanished in between, or an empty queue,
    /// a "would block" instead of a hang.
    private static func prepareListener(_ socket: Socket) {
        if socket.type == .stream { socket.timeout = .zero }
    }

    /// Python's `bind_and_activate=True`: ``serverBind()`` then ``serverActivate()``; on any
    /// failure the socket is closed before the error is thrown (Python issue #22435).
    func bindAndActivate() throws(ServerError) {
        do throws(SocketError) {
            try serverBind()
            try serverActivate()
        } catch {
            serverClose()
            throw .socket(error)
        }
    }

    /// Records the address ``serverBind()`` obtained; from then on a Unix socket's path is the
    /// server's to remove in ``serverClose()``.
    func recordBound(_ address: SocketAddress) {
        monitor.withLock {
            state.address = address
            if address.family == .unix { state.unixPath = address.path }
        }
    }

    deinit {
        // Pool workers hold the dispatcher, not the server: without this, each pool server
        // released without serverClose() would leave `workers` non-daemon threads waiting forever.
        dispatcher.stop(wait: false)
        if !socket.isClosed {
            socket.close()
            removeUnixPath()
        }
    }

    // MARK: State

    /// Python's `timeout`: how long ``handleRequest()`` waits for a request before it calls
    /// ``handleTimeout()`` (the smaller of it and the socket's own timeout, when that is set).
    /// Nil waits forever. ``serveForever(pollInterval:)`` ignores it.
    public var timeout: Duration? {
        get { monitor.withLock { state.timeout } }
        set { monitor.withLock { state.timeout = newValue } }
    }

    /// True while ``serveForever(pollInterval:)`` or ``handleRequest()`` runs.
    public var isServing: Bool { monitor.withLock { state.serving } }

    /// Requests accepted and not yet closed (running, or queued for a pool worker).
    public var activeRequests: Int { active.count }

    private var isStopRequested: Bool { stopRequested.load(ordering: .acquiring) }

    private func isServingThread() -> Bool {
        let me = pthread_self()
        return monitor.withLock { state.serving && pthread_equal(state.servingThread, me) != 0 }
    }

    private enum Entry { case serve, alreadyShutDown, busy, closed }

    private func enterLoop() throws(ServerError) -> Bool {
        let entry = monitor.withLock { () -> Entry in
            if state.closed { return .closed }
            if state.serving { return .busy }
            if state.shutDown { return .alreadyShutDown }
            state.serving = true
            state.servingThread = pthread_self()
            return .serve
        }
        switch entry {
        case .serve: return true
        case .alreadyShutDown: return false
        case .busy: throw .alreadyServing
        case .closed: throw .closed
        }
    }

    private func leaveLoop() {
        let closeNow = monitor.withLock { () -> Bool in
            state.serving = false
            monitor.broadcast()
            return state.closeWhenLoopEnds
        }
        if closeNow { closeSocket() }
    }

    // MARK: The loop

    /// Python's `serve_forever()`: handles requests until ``shutdown()``.
    ///
    /// Sleeps in `poll` on the socket and a wake-up descriptor, so it uses no CPU when idle and
    /// stops as soon as ``shutdown()`` is called. A request that arrives after shutdown was
    /// requested is not handled (bpo-35017). While ``ServerConfiguration/maxConnections`` requests
    /// are inside, it does not accept, so new clients wait in the listen backlog.
    ///
    /// - Parameter pollInterval: how often to call ``serviceActions()`` when nothing happens;
    ///   nil calls it only after events. (Shutdown never depends on it.)
    /// - Throws: ``ServerError/alreadyServing`` if another thread is serving,
    ///   ``ServerError/closed`` after ``serverClose()``.
    public func serveForever(pollInterval: Duration? = nil) throws(ServerError) {
        try requireActivated("serveForever")
        guard try enterLoop() else { return }
        defer { leaveLoop() }
        var backoff = AcceptBackoff()
        // Batches rely on "would block" to end: only on the listener's own non-blocking mode.
        let batch = socket.type == .stream && concurrency != .serial && socket.timeout == .zero ? 64 : 1
        while !isStopRequested {
            let accepting = !backoff.isPaused() && active.hasCapacity()
            var timeoutMilliseconds: Int32 = pollInterval.map(\.pollMilliseconds) ?? -1
            if let paused = backoff.pausedUntil {
                let left = paused.remainingPollMilliseconds
                timeoutMilliseconds = timeoutMilliseconds < 0 ? left : min(timeoutMilliseconds, left)
            }
            let ready = waitForEvents(watchingSocket: accepting, timeoutMilliseconds: timeoutMilliseconds)
            if isStopRequested { break }
            if ready { _ = handleReadyRequests(upTo: batch, backoff: &backoff) }
            serviceActions()
        }
    }

    /// Python's `handle_request()`: waits for one request and handles it, or calls
    /// ``handleTimeout()`` when none came in time. Returns at once after ``shutdown()``.
    ///
    /// It waits for the smaller of ``timeout`` and the socket's own timeout, as Python does
    /// (`server.socket.timeout = .seconds(2)` is `server.socket.settimeout(2)`); nil for both
    /// waits for ever. A listening socket's `.zero`, which Loom sets so that its loop never
    /// blocks in `accept`, is not a limit.
    ///
    /// - Throws: ``ServerError/alreadyServing``, ``ServerError/closed``, or
    ///   ``ServerError/socket(_:)`` (`invalidArgument`) when the socket is not yet bound and
    ///   activated (see ``serverBind()``).
    public func handleRequest() throws(ServerError) {
        try requireActivated("handleRequest")
        guard try enterLoop() else { return }
        defer { leaveLoop() }
        let deadline = Self.handleRequestTimeout(server: timeout, socket: socket.timeout).map { Deadline.after($0) }
        var backoff = AcceptBackoff()
        while !isStopRequested {
            let accepting = !backoff.isPaused() && active.hasCapacity()
            var timeoutMilliseconds = deadline?.remainingPollMilliseconds ?? -1
            if let paused = backoff.pausedUntil {
                let left = paused.remainingPollMilliseconds
                timeoutMilliseconds = timeoutMilliseconds < 0 ? left : min(timeoutMilliseconds, left)
            }
            let ready = waitForEvents(watchingSocket: accepting, timeoutMilliseconds: timeoutMilliseconds)
            if isStopRequested { return }
            if ready && handleReadyRequests(upTo: 1, backoff: &backoff) { return }
            if let deadline, deadline.hasPassed {
                handleTimeout()
                return
            }
        }
    }

    /// Polls the wake-up descriptor and, when `watchingSocket`, the server socket. Returns true
    /// when the socket is ready.
    private func waitForEvents(watchingSocket: Bool, timeoutMilliseconds: Int32) -> Bool {
        withUnsafeTemporaryAllocation(of: pollfd.self, capacity: 2) { fds in
            fds[0] = pollfd(fd: wake.fileDescriptor, events: Int16(POLLIN), revents: 0)
            fds[1] = pollfd(fd: watchingSocket ? socket.fileDescriptor : -1, events: Int16(POLLIN), revents: 0)
            // Not retried on EINTR: the caller recomputes its timeout and loops.
            let result = systemCall(.poll, on: socket.fileDescriptor, retryingInterrupts: false) { _ in
                poll(fds.baseAddress, 2, timeoutMilliseconds)
            }
            guard case .success(let count) = result, count > 0 else { return false }  // timeout or EINTR
            if fds[0].revents != 0 { wake.drain() }
            return fds[1].revents != 0
        }
    }

    /// Python's `_handle_request_noblock`, for up to `limit` requests that are ready.
    /// Returns false when nothing could be taken (the client vanished, or out of descriptors).
    private func handleReadyRequests(upTo limit: Int, backoff: inout AcceptBackoff) -> Bool {
        var took = false
        for _ in 0..<limit {
            if isStopRequested || (took && !active.hasCapacity()) { break }
            guard let (request, clientAddress) = takeRequest(backoff: &backoff) else { break }
            took = true
            // bpo-35017: shutdown() may have been called while this one was being accepted.
            if isStopRequested {
                shutdownRequest(request)
                break
            }
            guard verifyRequest(request.socket, clientAddress: clientAddress) else {
                shutdownRequest(request)
                continue
            }
            processRequest(request, clientAddress: clientAddress)
        }
        return took
    }

    /// ``getRequest()`` with Python's error policy: errors are logged and swallowed; running
    /// out of descriptors pauses accepting.
    private func takeRequest(backoff: inout AcceptBackoff) -> (ServerRequest, SocketAddress)? {
        do throws(SocketError) {
            let got = try getRequest()
            backoff.reset()
            return got
        } catch {
            if error.kind == .wouldBlock || error.kind == .closed { return nil }
            if let shortage = AcceptBackoff.shortage(error) {
                if backoff.pause() {
                    logger.warning("out of \(shortage); pausing accept", metadata: ["error": "\(error)"])
                }
            } else {
                logger.debug("accept failed", metadata: ["error": "\(error)"])
            }
            return nil
        }
    }

    // MARK: Request steps

    /// Python's `get_request()`: accepts a connection, or receives a datagram (of at most
    /// ``ServerConfiguration/maxPacketSize`` bytes). Called on the serving thread when the socket
    /// is readable.
    ///
    /// An error it throws drops the request, as in Python: "would block" and a closed socket
    /// silently, running out of descriptors or memory by pausing accepting for a while, anything
    /// else with a `debug` log. Override it to adjust a connection before anything else sees it.
    open func getRequest() throws(SocketError) -> (request: ServerRequest, clientAddress: SocketAddress) {
        if socket.type == .stream {
            let (connection, address) = try socket.accept()
            return (ServerRequest(socket: connection, tls: try wrapForTLS(connection)), address)
        }
        let (packet, address) = try socket.recvFrom(maxBytes: configuration.maxPacketSize)
        return (ServerRequest(socket: socket, packet: packet), address)
    }

    /// Python's `process_request` (with the mix-ins): counts the request in, then runs
    /// ``finishRequest(_:clientAddress:)`` and ``shutdownRequest(_:)`` as the concurrency
    /// strategy says (here, on a new thread, or on a pool worker). Called on the serving thread.
    ///
    /// An error from `finishRequest` goes to ``handleError(_:clientAddress:)``; so does a thread
    /// that cannot be started, and the request is then shut down at once. An override that does
    /// not call this one runs outside ``ServerConfiguration/maxConnections`` and
    /// ``activeRequests`` and must shut the request down itself.
    open func processRequest(_ request: ServerRequest, clientAddress: SocketAddress) {
        let token = active.begin(connection: socket.type == .stream ? request.socket : nil)
        let observation = request.socket !== socket ? configuration.observer.map { ConnectionObservation($0) } : nil
        do throws(ServerError) {
            try dispatcher.dispatch { [self] in
                active.attach(token)
                // The PROXY header is read here, on the request's thread: a slow one holds no one else.
                guard let proxied = receiveProxyHeader(request, clientAddress: clientAddress) else {
                    observation?.closing(request.socket)
                    shutdownRequest(request)
                    active.end(token)
                    return
                }
                do {
                    try finishRequest(proxied.request, clientAddress: proxied.clientAddress)
                } catch {
                    observation?.handlerFailed(error)
                    handleError(error, clientAddress: proxied.clientAddress)
                }
                observation?.closing(request.socket)
                shutdownRequest(request)
                active.end(token)
            }
        } catch {
            handleError(error, clientAddress: clientAddress)
            observation?.closing(request.socket)
            shutdownRequest(request)
            active.end(token)
        }
    }

    /// Python's `finish_request`: makes the request's handler (from the handler class or the
    /// factory) and runs its `setup`, `handle` and `finish`. Applies
    /// ``ServerConfiguration/idleTimeout`` to a connection first, and with
    /// ``ServerConfiguration/tls`` runs the TLS handshake here, on the request's thread. With
    /// ``ServerConfiguration/proxyProtocol`` on, the PROXY header was read before this step (before
    /// the handshake) and `clientAddress` is already the original client's. Runs on the request's thread;
    /// what it throws goes to ``handleError(_:clientAddress:)``.
    open func finishRequest(_ request: ServerRequest, clientAddress: SocketAddress) throws {
        if request.socket !== socket, let idleTimeout = configuration.idleTimeout {
            request.socket.timeout = idleTimeout
        }
        if let tls = request.tls { try handshake(tls) }
        let handler = try makeHandler.make(request.socket, clientAddress, self)
        if let packet = request.packet { handler.packet = packet }
        handler.proxyHeaderBox = request.proxyHeaderBox
        handler.tlsStream = request.tls
        try handler.run()
    }

    /// Python's `shutdown_request`: half-closes a connection (so the peer reads end-of-file after
    /// everything sent; over TLS after a close_notify), then ``closeRequest(_:)``. Called once per request, also for a request
    /// refused by ``verifyRequest(_:clientAddress:)`` or taken after ``shutdown()``.
    open func shutdownRequest(_ request: ServerRequest) {
        if let tls = request.tls {
            shutdownTLS(tls)
        } else if request.socket !== socket {
            try? request.socket.shutdown(.write)
        }
        closeRequest(request)
    }

    /// Python's `close_request`: closes a connection; nothing for a datagram (the socket is the
    /// server's own).
    open func closeRequest(_ request: ServerRequest) {
        guard request.socket !== socket else { return }
        request.socket.close()
    }

    // MARK: Binding

    /// Python's `server_bind()`: sets the socket options the configuration asks for
    /// (`SO_REUSEADDR`, `SO_REUSEPORT`, and `IPV6_V6ONLY` for IPv6), binds ``serverAddress``, and
    /// records the address obtained in ``serverAddress``. Called by the initialiser unless it was
    /// given `bindAndActivate: false`; then call it yourself, after setting options on ``socket``:
    ///
    /// ```swift
    /// let server = try TCPServer(port: 0, handler: Upper.self, bindAndActivate: false)
    /// try server.socket.setOption(.reuseAddress, true)
    /// try server.serverBind()
    /// try server.serverActivate()
    /// ```
    ///
    /// Override it to set options of your own, then call this one. Binding twice throws
    /// ``SocketError/Kind/invalidArgument`` (`EINVAL`), as in Python.
    open func serverBind() throws(SocketError) {
        let address = serverAddress
        if address.family != .unix {
            if configuration.allowReuseAddress { try socket.setOption(.reuseAddress, true) }
            if configuration.allowReusePort { try socket.setOption(.reusePort, true) }
            if address.family == .ipv6 { try socket.setOption(.ipv6Only, true) }
        }
        try socket.bind(to: address)
        recordBound(try socket.localAddress)
    }

    /// Python's `server_activate()`: a stream socket listens with
    /// ``ServerConfiguration/requestQueueSize``; a datagram socket needs nothing. Call it after
    /// ``serverBind()`` when the server was created with `bindAndActivate: false`.
    open func serverActivate() throws(SocketError) {
        if socket.type == .stream { try socket.listen(backlog: configuration.requestQueueSize) }
    }

    // MARK: Hooks

    /// Return false to refuse a request: the connection is closed, no handler runs, nothing is
    /// logged. Runs on the serving thread. The default accepts everything.
    open func verifyRequest(_ request: Socket, clientAddress: SocketAddress) -> Bool {
        true
    }

    /// Called with any error a handler throws (and when no thread can be started for a request);
    /// the server then closes the connection and keeps serving. Runs on the handler's thread.
    ///
    /// The default logs it through ``logger`` with the client's address: a peer that went away
    /// or stayed silent past a timeout at `info`, anything else at `error` (Python prints a
    /// traceback to stderr).
    open func handleError(_ error: any Error, clientAddress: SocketAddress) {
        ServerErrorReporter.log(error, peer: clientAddress, handlerName: "\(handlerType)", to: logger)
    }

    /// Called by ``handleRequest()`` when ``timeout`` passes without a request. Default: nothing.
    open func handleTimeout() {}

    /// Called on the serving thread after every round of ``serveForever(pollInterval:)``
    /// (at least every `pollInterval` when one is given). Default: nothing.
    open func serviceActions() {}

    // MARK: Stopping

    /// Python's `shutdown()`: stops ``serveForever(pollInterval:)`` and returns once it has
    /// returned. Wakes the loop at once. Requests already running are not interrupted (see
    /// ``shutdown(gracePeriod:)``); ``serverClose()`` releases the socket and waits for them.
    ///
    /// Once shut down, the server stays so: a later `serveForever()` returns at once. Calling it
    /// when the server is not serving only marks it so, and returns at once.
    ///
    /// - Throws: ``ServerError/shutdownFromServingThread`` when called on the thread running the
    ///   loop (a handler of a serial server), where Python deadlocks. Nothing changes then: call
    ///   it from another thread.
    public func shutdown() throws(ServerError) {
        if isServingThread() { throw .shutdownFromServingThread }
        requestStop()
        monitor.withLock {
            while state.serving { monitor.wait() }
        }
        // The loop never runs again: let pool workers finish what is queued, then exit, so a
        // shut-down server holds no thread (serverClose() still waits for them when asked to).
        dispatcher.stop(wait: false)
    }

    private func requestStop() {
        monitor.withLock {
            state.shutDown = true
            stopRequested.store(true, ordering: .releasing)
        }
        wake.wakeup()
    }

    /// Stops the server gracefully: stops accepting at once (the loop stops and the socket is
    /// closed), lets the requests in flight finish for up to `gracePeriod`, then shuts down the
    /// connections still open so their handlers end, and releases everything as ``serverClose()``
    /// does, waiting at most one more second for handlers that ignore their closed connection.
    /// It therefore returns within about `gracePeriod` + 1 s, whatever the handlers do.
    ///
    /// A handler still running after that is left running (threads cannot be killed): its
    /// connection is already shut down. For a serial server whose handler is stuck in that way,
    /// the serving loop is still inside it; the listening socket (and a Unix socket's path) is
    /// then closed when that handler returns and the loop ends.
    ///
    /// - Returns: true when every request finished within the grace period; false when some had
    ///   to be aborted (or are still running).
    /// - Throws: ``ServerError/shutdownFromServingThread`` from the serving thread.
    @discardableResult
    public func shutdown(gracePeriod: Duration) throws(ServerError) -> Bool {
        if isServingThread() { throw .shutdownFromServingThread }
        let deadline = Deadline.after(gracePeriod)
        requestStop()
        // A serial server may be inside a handler: wait for its loop only until the deadline.
        let loopStopped = monitor.withLock { () -> Bool in
            while state.serving {
                if !monitor.wait(until: deadline) { break }
            }
            return !state.serving
        }
        if loopStopped { closeSocket() }
        let drained = loopStopped && active.waitUntilIdle(until: deadline)
        if !drained {
            let aborted = active.abortAll()
            logger.info("grace period over; closing connections still open", metadata: ["connections": "\(aborted)"])
        }
        close(waitingUntil: drained ? nil : Deadline.after(.seconds(1)))
        return drained
    }

    /// Python's `server_close()`: stops a running loop, closes the socket (and removes a Unix
    /// socket's path), and waits for running handlers unless they are daemon threads or
    /// `blockOnClose` is false. A handler that calls it does not wait for itself.
    ///
    /// Called from the serving thread (a serial server's handler), it cannot wait: the socket is
    /// closed when the loop returns after the current request.
    public func serverClose() {
        close(waitingUntil: nil)
    }

    private func close(waitingUntil deadline: Deadline?) {
        if isServingThread() {
            monitor.withLock {
                state.closed = true
                state.closeWhenLoopEnds = true
            }
            requestStop()
            return
        }
        requestStop()
        let loopEnded = monitor.withLock { () -> Bool in
            state.closed = true
            while state.serving {
                guard let deadline else {
                    monitor.wait()
                    continue
                }
                if !monitor.wait(until: deadline) { break }
            }
            // A serial handler ignoring its closed connection: the loop closes the socket when it ends.
            if state.serving { state.closeWhenLoopEnds = true }
            return !state.serving
        }
        guard loopEnded else {
            logger.warning("a handler is still running after the grace period; leaving it")
            dispatcher.stop(wait: false)
            return
        }
        closeSocket()
        var finished = true
        if concurrency.waitsOnClose {
            finished = active.waitUntilIdle(until: deadline)
        }
        dispatcher.stop(wait: concurrency.waitsOnClose && finished)
    }

    private func closeSocket() {
        let first = monitor.withLock { () -> Bool in
            defer { state.socketClosed = true }
            return !state.socketClosed
        }
        guard first else { return }
        socket.close()
        removeUnixPath()
    }

    private func removeUnixPath() {
        if let unixPath = monitor.withLock({ state.unixPath }) { _ = systemCall(.unlink) { _ in unlink(unixPath) } }
    }
}
