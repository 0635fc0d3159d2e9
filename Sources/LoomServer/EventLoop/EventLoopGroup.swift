#if canImport(Glibc)
import Glibc
#endif
import CLoomShims
import Logging
import LoomSockets
import LoomSystem
import LoomThreading
import Synchronization

/// What an ``EventLoopServer``'s loops share: the configuration, the loops, the connection count
/// and the life cycle. Separate from the public server object so that the loop threads can keep
/// it alive: the server may be released (and shut down from its `deinit`) on one of its own loops.
final class EventLoopGroup: Sendable {
    /// Where the group is in its life; stored as its raw value in an atomic.
    enum State: Int {
        case created, running, stopping
    }

    let configuration: EventLoopServer.Configuration
    let serverAddress: SocketAddress
    let handler: ConnectionHandler
    let errorReporter: ServerErrorReporter
    let idleTimeoutNanoseconds: Int64?
    // Written once in init before any thread starts, read-only afterwards.
    nonisolated(unsafe) private(set) var loops: [EventLoop] = []
    private let threads = Protected<[pthread_t]>([])
    private let state = Atomic<Int>(State.created.rawValue)
    private let active = Atomic<Int>(0)
    private let acceptPaused = Atomic<Bool>(false)
    private let grace = Atomic<Int64>(5_000_000_000)
    private let nextLoop = Atomic<Int>(0)
    private let runningLoops = Atomic<Int>(0)
    private let exited = Event()
    private let startGate = Event()

    init(configuration: EventLoopServer.Configuration, handler: ConnectionHandler, logger: Logger) throws(SocketError) {
        var configuration = configuration
        if configuration.listener != nil { configuration.acceptStrategy = .handOff }  // one socket for all loops
        self.configuration = configuration
        self.handler = handler
        errorReporter = ServerErrorReporter(logger: logger, hook: configuration.errorHandler, handlerName: nil)
        idleTimeoutNanoseconds = configuration.idleTimeout.map { max(1, $0.saturatingNanoseconds) }
        let count = max(1, configuration.loops ?? Int(cloom_cpu_count()))
        let reusePort = configuration.listener == nil
            && (configuration.sharesPort || (configuration.acceptStrategy == .reusePort && count > 1))
        if reusePort && configuration.port != 0 && !configuration.sharesPort {
            // SO_REUSEPORT lets any socket of the same user join the port, so a second server on
            // a busy port would bind silently and take half its connections. A bind without it
            // fails if anything listens there.
            try Self.probe(host: configuration.host, port: configuration.port)
        }
        let first: Socket
        if let listener = configuration.listener {
            first = listener
        } else {
            first = try Socket.createServer(
                host: configuration.host, port: configuration.port, reusePort: reusePort, backlog: configuration.backlog)
        }
        first.timeout = .zero
        serverAddress = try first.localAddress
        var listeners: [Socket?] = [first]
        for _ in 1..<count {
            if reusePort && configuration.acceptStrategy == .reusePort {
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
            made.append(try EventLoop(index: index, group: self, listener: listener))
        }
        loops = made
        try createThreads()
    }

    /// Binds (without listening, without `SO_REUSEPORT`) and closes: throws `addressInUse` when
    /// another socket holds the port. Port 0 needs no probe: the kernel never hands out a port in use.
    private static func probe(host: String, port: Int) throws(SocketError) {
        guard let address = try Socket.resolve(host: host, port: port).first else { return }
        let probe = try Socket(family: address.family, type: .stream)
        defer { probe.close() }
        try probe.setOption(.reuseAddress, true)
        if address.family == .ipv6 { try probe.setOption(.ipv6Only, true) }
        try probe.bind(to: address)
    }

    var connectionCount: Int { active.load(ordering: .relaxed) }

    /// Creates the loop threads, parked until ``start()``: a system out of threads makes the
    /// server's init throw instead of a later `start()` failing (or crashing).
    private func createThreads() throws(SocketError) {
        runningLoops.store(loops.count, ordering: .relaxed)
        var created: [pthread_t] = []
        for loop in loops {
            do throws(ThreadStartError) {
                // The thread holds the group: it outlives the public server if need be.
                created.append(try ThreadStart.spawn(name: "loom-loop-\(loop.index)") { [self] in
                    _ = startGate.wait()
                    loop.run()  // returns at once if the server was shut down before it started
                    if runningLoops.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 { exited.set() }
                })
            } catch {
                state.store(State.stopping.rawValue, ordering: .releasing)
                _ = runningLoops.subtract(loops.count - created.count, ordering: .relaxed)
                startGate.set()
                for thread in created { pthread_join(thread, nil) }
                for loop in loops.dropFirst(created.count) { loop.acceptor.close() }
                switch error {
                case .cannotStart(let code): throw SocketError("pthread_create", errno: code)
                case .invalidStackSize: throw SocketError("pthread_create", errno: EINVAL)
                }
            }
        }
        threads.withLock { $0 = created }
    }

    func start() {
        guard state.compareExchange(expected: State.created.rawValue, desired: State.running.rawValue,
                                    ordering: .acquiringAndReleasing).exchanged else { return }
        startGate.set()
    }

    func serveForever() {
        start()
        _ = exited.wait()
        joinThreads()
    }

    func shutdown(gracePeriod: Duration, detachIfOnLoop: Bool) {
        grace.store(max(0, gracePeriod.saturatingNanoseconds), ordering: .relaxed)
        state.store(State.stopping.rawValue, ordering: .releasing)
        startGate.set()  // never started: the loops run once, close their listeners and return
        for loop in loops { loop.wake() }
        if loops.contains(where: { $0.isOnLoopThread }) {
            // Waiting here would deadlock. From deinit nobody will join the threads later:
            // detach them (each holds the group until its loop returns).
            if detachIfOnLoop {
                for thread in takeThreads() { pthread_detach(thread) }
            }
            return
        }
        _ = exited.wait()
        joinThreads()
    }

    private func takeThreads() -> [pthread_t] {
        threads.withLock { threads -> [pthread_t] in
            defer { threads = [] }
            return threads
        }
    }

    private func joinThreads() {
        for thread in takeThreads() { pthread_join(thread, nil) }
    }

    // MARK: Loop side

    var isStopping: Bool { state.load(ordering: .relaxed) == State.stopping.rawValue }
    var gracePeriod: Duration { .nanoseconds(grace.load(ordering: .relaxed)) }
    var hasRoom: Bool {
        guard let limit = configuration.maxConnections else { return true }
        return active.load(ordering: .relaxed) < limit
    }

    /// Counts a connection about to be accepted; false when ``EventLoopServer/Configuration/maxConnections`` is reached.
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
        // Once per time the server fills up: the flag stays set until a connection closes.
        if !acceptPaused.exchange(true, ordering: .relaxed) { configuration.server.observer?.connectionLimitReached() }
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
}
