#if canImport(Glibc)
import Glibc
#endif
import CLoomShims
import LoomSockets
import Synchronization

/// What an ``EventLoopServer``'s loops share: the configuration, the loops, the connection count
/// and the life cycle. Separate from the public server object so that the loop threads can keep
/// it alive: the server may be released (and shut down from its `deinit`) on one of its own loops.
final class EventLoopGroup: Sendable {
    let configuration: EventLoopServer.Configuration
    let serverAddress: SocketAddress
    let handler: ConnectionHandler
    let idleTimeoutMilliseconds: Int64?
    // Written once in init before any thread starts, read-only afterwards.
    nonisolated(unsafe) private(set) var loops: [EventLoop] = []
    private let threads = Mutex<[LoopThread]>([])
    private let state = Atomic<Int>(0)  // 0 created, 1 running, 2 stopping
    private let active = Atomic<Int>(0)
    private let acceptPaused = Atomic<Bool>(false)
    private let grace = Atomic<Int64>(5000)
    private let nextLoop = Atomic<Int>(0)
    private let runningLoops = Atomic<Int>(0)
    private let exited = OneShotLatch()
    private let startGate = OneShotLatch()

    init(configuration: EventLoopServer.Configuration, handler: ConnectionHandler) throws(SocketError) {
        var configuration = configuration
        if configuration.listener != nil { configuration.acceptStrategy = .handOff }  // one socket for all loops
        self.configuration = configuration
        self.handler = handler
        idleTimeoutMilliseconds = configuration.idleTimeout.map { max(1, $0.saturatingMilliseconds) }
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
        var created: [LoopThread] = []
        for loop in loops {
            do throws(SocketError) {
                // The thread holds the group: it outlives the public server if need be.
                created.append(try LoopThread(name: "loom-loop-\(loop.index)") { [self] in
                    startGate.wait()
                    loop.run()  // returns at once if the server was shut down before it started
                    if runningLoops.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 { exited.open() }
                })
            } catch {
                state.store(2, ordering: .releasing)
                _ = runningLoops.subtract(loops.count - created.count, ordering: .relaxed)
                startGate.open()
                for thread in created { thread.join() }
                for loop in loops.dropFirst(created.count) { loop.listener?.close() }
                throw error
            }
        }
        threads.withLock { $0 = created }
    }

    func start() {
        guard state.compareExchange(expected: 0, desired: 1, ordering: .acquiringAndReleasing).exchanged else { return }
        startGate.open()
    }

    func serveForever() {
        start()
        exited.wait()
        joinThreads()
    }

    func shutdown(gracePeriod: Duration, detachIfOnLoop: Bool) {
        grace.store(max(0, gracePeriod.saturatingMilliseconds), ordering: .relaxed)
        state.store(2, ordering: .releasing)
        startGate.open()  // never started: the loops run once, close their listeners and return
        for loop in loops { loop.wake() }
        if loops.contains(where: { $0.isOnLoopThread }) {
            // Waiting here would deadlock. From deinit nobody will join the threads later:
            // detach them (each holds the group until its loop returns).
            if detachIfOnLoop {
                for thread in takeThreads() { thread.detach() }
            }
            return
        }
        exited.wait()
        joinThreads()
    }

    private func takeThreads() -> [LoopThread] {
        threads.withLock { threads -> [LoopThread] in
            defer { threads = [] }
            return threads
        }
    }

    private func joinThreads() {
        for thread in takeThreads() { thread.join() }
    }

    // MARK: Loop side

    var isStopping: Bool { state.load(ordering: .relaxed) == 2 }
    var gracePeriodMilliseconds: Int64 { grace.load(ordering: .relaxed) }
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
        Self.report(error, peer: peer, to: configuration.errorHandler)
    }

    /// Python's `handle_error`: to `handler`, or a block on stderr. Static so that a handler task
    /// finishing after its loop stopped can report without touching the group.
    static func report(
        _ error: any Error, peer: SocketAddress?, to handler: (@Sendable (any Error, SocketAddress?) -> Void)?
    ) {
        if let handler {
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

extension Duration {
    /// Whole milliseconds, saturating at `Int64.min`/`Int64.max` instead of trapping.
    var saturatingMilliseconds: Int64 {
        let (seconds, atto) = components
        let (millis, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        if overflow { return seconds < 0 ? .min : .max }
        let (sum, overflow2) = millis.addingReportingOverflow(atto / 1_000_000_000_000_000)
        return overflow2 ? (millis < 0 ? .min : .max) : sum
    }
}

extension Int64 {
    /// `self + other` clamped to the representable range (loop clock arithmetic with huge timeouts).
    @inline(__always)
    func saturatingAdd(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }
}
