#if canImport(Glibc)
import Glibc
#endif
import CLoomShims
import LoomSockets
import Synchronization

/// One event loop: a thread, an epoll ``Selector``, the connections it owns and a run queue for
/// the async handlers' tasks (it is their `TaskExecutor`, so a resumed `recv` continues on this
/// thread instead of hopping to the global pool).
///
/// Everything but ``enqueue(_:)``, ``post(_:)`` and ``wake()`` runs on the loop's own thread.
final class EventLoop: TaskExecutor, @unchecked Sendable {  // loop state is touched only by its thread; other threads use the locked inbox, atomics and the eventfd waker
    enum AcceptPause { case none, maxConnections, descriptors }

    /// Work handed over by other threads.
    struct Inbox {
        var jobs: [UnownedJob] = []
        var sockets: [Socket] = []
    }

    let index: Int
    unowned(unsafe) let server: EventLoopServer  // the server joins every loop before it is freed
    let selector: Selector<Transport?>
    let waker: SelectorWaker
    let readBuffer: UnsafeMutableRawBufferPointer
    var listener: Socket?
    var listenerRegistered = false
    var acceptPause = AcceptPause.none
    var acceptRetryAt: Int64 = 0
    var acceptBackoff: Int64 = 10
    var emfileReported = false

    /// Live connections by descriptor.
    var connections: [Transport?] = []
    var connectionCount = 0
    /// Connections closed during this turn: their `connectionLost` runs after the callbacks.
    var lost: [Transport] = []
    /// Async handler tasks started here and not finished.
    var liveTasks = 0

    var now: Int64 = 0
    /// Turns of the loop so far (tests check that an idle loop does not turn).
    let turns = Atomic<Int>(0)
    var idleCheckAt: Int64?
    var stopping = false
    var stopDeadline: Int64 = 0

    private var thread: pthread_t?
    private var localJobs: [UnownedJob] = []
    private var runningJobs: [UnownedJob] = []
    private let inbox = Mutex(Inbox())
    private let inboxPending = Atomic<Bool>(false)

    init(index: Int, server: EventLoopServer, listener: Socket?) throws(SocketError) {
        self.index = index
        self.server = server
        self.listener = listener
        selector = try Selector<Transport?>()
        waker = selector.waker
        readBuffer = .allocate(byteCount: max(4096, server.configuration.readBufferSize), alignment: 16)
        localJobs.reserveCapacity(64)
        runningJobs.reserveCapacity(64)
    }

    deinit {
        readBuffer.deallocate()
    }

    static func clockMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    var isOnLoopThread: Bool {
        guard let thread else { return false }
        return pthread_equal(thread, pthread_self()) != 0
    }

    // MARK: Cross-thread entry points

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        if isOnLoopThread {
            localJobs.append(job)
        } else {
            inbox.withLock { $0.jobs.append(job) }
            inboxPending.store(true, ordering: .releasing)
            waker.wakeup()
        }
    }

    /// Hands an accepted connection to this loop (from the acceptor loop).
    func post(_ socket: Socket) {
        inbox.withLock { $0.sockets.append(socket) }
        inboxPending.store(true, ordering: .releasing)
        waker.wakeup()
    }

    func wake() {
        waker.wakeup()
    }

    // MARK: The loop

    func run() {
        thread = pthread_self()
        now = Self.clockMilliseconds()
        resumeAccepting()
        while true {
            let timeout = nextTimeout()
            do {
                try selector.select(timeout: timeout) { _, events, transport in
                    if let transport {
                        handle(transport, events)
                    } else {
                        acceptBurst()
                    }
                }
            } catch {
                server.report(error, peer: nil)
                break
            }
            now = Self.clockMilliseconds()
            turns.store(turns.load(ordering: .relaxed) &+ 1, ordering: .relaxed)  // one writer: no RMW needed
            if inboxPending.load(ordering: .acquiring) { drainInbox() }
            runJobs()
            processLost()
            if server.isStopping, checkStopping() { break }
            runTimers()
        }
        finish()
    }

    private func nextTimeout() -> Duration? {
        if !localJobs.isEmpty || !lost.isEmpty { return .zero }
        var wake: Int64?
        if let idleCheckAt { wake = idleCheckAt }
        if acceptPause == .descriptors { wake = min(wake ?? .max, acceptRetryAt) }
        if stopping { wake = min(wake ?? .max, stopDeadline) }
        if server.isStopping && !stopping { return .zero }
        guard let wake else { return nil }  // idle: block until something happens
        return .milliseconds(max(0, wake - now))
    }

    @inline(__always)
    private func handle(_ transport: Transport, _ events: SelectorEvents) {
        if events.contains(.write) {
            transport.flush()
        }
        if events.contains(.read), transport.state == .open, !transport.readingPaused, !transport.eofSeen {
            read(transport)
        }
    }

    @inline(__always)
    private func read(_ transport: Transport) {
        switch transport.socket.receiveNonBlocking(into: readBuffer) {
        case .bytes(let n):
            transport.lastActivity = now
            do {
                try transport.handler.dataReceived(UnsafeRawBufferPointer(start: readBuffer.baseAddress, count: n))
            } catch {
                fail(transport, error)
            }
        case .wouldBlock:
            break
        case .endOfFile:
            transport.eofSeen = true
            transport.set(interest: transport.interest.subtracting(.read))
            do {
                if try !transport.handler.eofReceived() { transport.close() }
            } catch {
                fail(transport, error)
            }
        case .failed(let code):
            lose(transport, error: SocketError("recv", errno: code))
        }
    }

    /// A callback threw: report it, drop the connection (asyncio's `_fatal_error`).
    func fail(_ transport: Transport, _ error: any Error) {
        server.report(error, peer: transport.peerAddress)
        transport.writeBuffer.removeAll()
        lose(transport, error: error)
    }

    // MARK: Connections

    func adopt(_ socket: Socket) {
        let fd = socket.fileDescriptor
        if server.configuration.noDelay { try? socket.setOption(.noDelay, true) }
        let handler: any StreamProtocol
        switch server.handler {
        case .protocolFactory(let make): handler = make()
        case .async(let body): handler = AsyncConnectionAdapter(body: body)
        }
        let transport = Transport(
            socket: socket, loop: self, handler: handler,
            highWaterMark: server.configuration.writeBufferHighWaterMark,
            lowWaterMark: server.configuration.writeBufferLowWaterMark ?? server.configuration.writeBufferHighWaterMark / 4)
        transport.lastActivity = now
        if Int(fd) >= connections.count {
            connections.append(contentsOf: repeatElement(nil, count: max(Int(fd) + 1 - connections.count, connections.count / 2 + 64)))
        }
        connections[Int(fd)] = transport
        connectionCount += 1
        do {
            try selector.register(fileDescriptor: fd, events: .read, data: transport)
            transport.registered = true
        } catch {
            server.report(error, peer: nil)
            lose(transport, error: error)
            return
        }
        if let timeout = server.idleTimeoutMilliseconds, idleCheckAt == nil { idleCheckAt = now + timeout }
        do {
            try handler.connectionMade(transport)
        } catch {
            fail(transport, error)
        }
    }

    func updateInterest(of transport: Transport) {
        let fd = transport.socket.fileDescriptor
        guard fd >= 0 else { return }
        if transport.interest.isEmpty {
            if transport.registered {
                _ = try? selector.unregister(fileDescriptor: fd)
                transport.registered = false
            }
        } else if !transport.registered {
            transport.registered = (try? selector.register(fileDescriptor: fd, events: transport.interest, data: transport)) != nil
        } else {
            do {
                try selector.modifyEvents(fileDescriptor: fd, events: transport.interest)
            } catch {
                transport.registered = false
                lose(transport, error: error)
            }
        }
    }

    /// Closes the descriptor now; `connectionLost` runs once the current callbacks return.
    func lose(_ transport: Transport, error: (any Error)?) {
        guard transport.state != .closed else { return }
        transport.state = .closed
        transport.lostError = error
        let fd = transport.socket.fileDescriptor
        if transport.registered {
            _ = try? selector.unregister(fileDescriptor: fd)
            transport.registered = false
        }
        if fd >= 0, Int(fd) < connections.count { connections[Int(fd)] = nil }
        transport.socket.close()
        connectionCount -= 1
        lost.append(transport)
        server.connectionClosed()
        if acceptPause == .descriptors { resumeAccepting() }  // a descriptor is free again
    }

    private func processLost() {
        while !lost.isEmpty {
            let batch = lost
            lost.removeAll(keepingCapacity: true)
            for transport in batch {
                transport.handler.connectionLost(transport.lostError)
                transport.handler = ClosedProtocol.shared
            }
        }
    }

    // MARK: Accepting

    private func acceptBurst() {
        guard let listener, acceptPause == .none, !server.isStopping else { return }
        for _ in 0..<64 {
            guard server.reserveConnection() else {
                pauseAccepting(.maxConnections)
                return
            }
            do {
                guard let socket = try listener.acceptNonBlocking() else {
                    server.connectionClosed()
                    return
                }
                emfileReported = false
                acceptBackoff = 10
                server.dispatch(socket, from: self)
            } catch {
                server.connectionClosed()
                switch error.kind {
                case .tooManyOpenFiles:
                    // Out of descriptors: stop watching the listener (level-triggered epoll would spin),
                    // retry after a back-off or as soon as one of our connections closes.
                    if !emfileReported {
                        emfileReported = true
                        server.report(error, peer: nil)
                    }
                    acceptRetryAt = now + acceptBackoff
                    acceptBackoff = min(acceptBackoff * 2, 1000)
                    pauseAccepting(.descriptors)
                    return
                case .connectionAborted, .connectionReset, .permissionDenied:
                    continue  // that client is gone; the next may be fine
                default:
                    server.report(error, peer: nil)
                    return
                }
            }
        }
    }

    private func pauseAccepting(_ reason: AcceptPause) {
        acceptPause = reason
        if listenerRegistered, let listener {
            _ = try? selector.unregister(listener)
            listenerRegistered = false
        }
        if reason == .maxConnections { server.noteAcceptPaused() }
    }

    /// Watches the listener again (after a pause, or at start).
    func resumeAccepting() {
        guard let listener, !listenerRegistered, !server.isStopping else { return }
        acceptPause = .none
        listenerRegistered = (try? selector.register(listener, events: .read, data: nil)) != nil
    }

    // MARK: Turn housekeeping

    private func drainInbox() {
        inboxPending.store(false, ordering: .releasing)
        let (jobs, sockets) = inbox.withLock { inbox in
            defer { inbox.jobs.removeAll(keepingCapacity: true); inbox.sockets.removeAll(keepingCapacity: true) }
            return (inbox.jobs, inbox.sockets)
        }
        localJobs.append(contentsOf: jobs)
        for socket in sockets {
            if server.isStopping {
                socket.close()
                server.connectionClosed()
            } else {
                adopt(socket)
            }
        }
    }

    private func runJobs() {
        // Only the jobs queued so far: a task that keeps rescheduling itself cannot starve I/O.
        guard !localJobs.isEmpty else { return }
        swap(&localJobs, &runningJobs)
        let executor = asUnownedTaskExecutor()
        for job in runningJobs {
            job.runSynchronously(on: executor)
        }
        runningJobs.removeAll(keepingCapacity: true)
    }

    private func runTimers() {
        if acceptPause == .maxConnections, server.hasRoom { resumeAccepting() }
        if acceptPause == .descriptors, now >= acceptRetryAt { resumeAccepting() }
        if let check = idleCheckAt, now >= check { sweepIdle() }
    }

    /// Closes connections idle for longer than the idle timeout. Runs at most every eighth of the
    /// timeout, so a connection is closed between 1× and 1.125× the timeout after its last I/O.
    private func sweepIdle() {
        guard let timeout = server.idleTimeoutMilliseconds, connectionCount > 0 else {
            idleCheckAt = nil
            return
        }
        var oldest = Int64.max
        for case let transport? in connections where transport.state != .closed {
            if now - transport.lastActivity >= timeout {
                transport.writeBuffer.removeAll()
                lose(transport, error: SocketError.idleTimeout)
            } else {
                oldest = min(oldest, transport.lastActivity)
            }
        }
        idleCheckAt = oldest == .max ? nil : max(oldest + timeout, now + max(1, timeout / 8))
    }

    /// Returns true when the loop may exit.
    private func checkStopping() -> Bool {
        if !stopping {
            stopping = true
            stopDeadline = now + server.gracePeriodMilliseconds
            if let listener {
                if listenerRegistered { _ = try? selector.unregister(listener) }
                listenerRegistered = false
                listener.close()
                self.listener = nil
            }
        }
        if connectionCount == 0 && liveTasks == 0 && localJobs.isEmpty && lost.isEmpty { return true }
        if now >= stopDeadline {
            // Grace is over: close what is left; tasks waiting in recv get an error and finish.
            for case let transport? in connections where transport.state != .closed {
                transport.writeBuffer.removeAll()
                lose(transport, error: SocketError.serverShutdown)
            }
            if now >= stopDeadline + 1000 { return true }  // a task stuck elsewhere cannot hold the loop
        }
        return false
    }

    private func finish() {
        for case let transport? in connections where transport.state != .closed {
            lose(transport, error: SocketError.serverShutdown)
        }
        processLost()
        runJobs()
        listener?.close()
        listener = nil
        selector.close()
    }
}

extension SocketError {
    static var idleTimeout: SocketError {
        SocketError("recv", kind: .timedOut, errno: ETIMEDOUT, detail: "idle timeout")
    }

    static var serverShutdown: SocketError {
        SocketError("recv", kind: .connectionAborted, errno: ECONNABORTED, detail: "server shut down")
    }
}
