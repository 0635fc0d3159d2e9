#if canImport(Glibc)
import Glibc
#endif
import CLoomShims
import Dispatch
import LoomSockets
import Synchronization

/// One event loop: a thread, an epoll ``Selector``, the connections it owns and a run queue for
/// the async handlers' tasks (it is their `TaskExecutor`, so a resumed `recv` continues on this
/// thread instead of hopping to the global pool).
///
/// Everything but ``enqueue(_:)``, ``post(_:)``, ``wake()`` and ``isOnLoopThread`` runs on the
/// loop's own thread (before ``run()`` starts, on the thread that creates the server). Once the loop
/// has returned, jobs still arriving for its tasks run on Dispatch's global queue.
final class EventLoop: TaskExecutor, @unchecked Sendable {  // the mutable vars are used only on the loop thread (init before it starts, finish at its end); other threads use only the Mutex inbox, the atomics and the eventfd waker
    enum AcceptPause { case none, maxConnections, failing }

    /// Work handed over by other threads.
    struct Inbox {
        var jobs: [UnownedJob] = []
        var sockets: [Socket] = []
        /// Set when the loop has returned: nothing will drain the inbox any more.
        var closed = false
    }

    let index: Int
    unowned(unsafe) let group: EventLoopGroup  // the loop's thread holds the group until run() returns
    /// The server's error handler, copied so that tasks outliving the loop can still report.
    let errorHandler: (@Sendable (any Error, SocketAddress?) -> Void)?
    let selector: Selector<Transport?>
    let waker: SelectorWaker
    let readBuffer: UnsafeMutableRawBufferPointer
    var listener: Socket?
    var listenerRegistered = false
    var acceptPause = AcceptPause.none
    var acceptBackoff = AcceptBackoff()
    /// Loop clock of the last accept error reported: a failure streak reports at most once a second.
    var acceptErrorReportedAt: Int64?

    /// Live connections by descriptor.
    var connections: [Transport?] = []
    var connectionCount = 0
    /// Connections closed during this turn: their `connectionLost` runs after the callbacks.
    var lost: [Transport] = []
    /// Async handler tasks started here and not finished. Atomic because a task that outlives the
    /// loop (stuck past the grace period) finishes on the global executor.
    let liveTaskCount = Atomic<Int>(0)
    var liveTasks: Int { liveTaskCount.load(ordering: .relaxed) }

    var now: Int64 = 0
    /// Turns of the loop so far (tests check that an idle loop does not turn).
    let turns = Atomic<Int>(0)
    var idleCheckAt: Int64?
    var stopping = false
    var stopDeadline: Int64 = 0

    /// The loop thread's id, 0 until run() starts. Relaxed is enough: only the loop thread can
    /// find its own id here, and it wrote it; any other thread sees 0 or a different id.
    private let thread = Atomic<UInt>(0)
    /// Set by finish(): jobs go to the global executor from then on (loop thread only).
    private var jobsClosed = false
    private var localJobs: [UnownedJob] = []
    private var runningJobs: [UnownedJob] = []
    // Synchronization.Mutex, not LoomThreading's internal FutexMutex (not visible here). Its lock is
    // in the uninstrumented standard library, so a Thread Sanitizer run may flag inbox accesses.
    private let inbox = Mutex(Inbox())
    private let inboxPending = Atomic<Bool>(false)

    init(index: Int, group: EventLoopGroup, listener: Socket?) throws(SocketError) {
        self.index = index
        self.group = group
        self.errorHandler = group.configuration.errorHandler
        self.listener = listener
        selector = try Selector<Transport?>()
        waker = selector.waker
        readBuffer = .allocate(byteCount: max(4096, group.configuration.readBufferSize), alignment: 16)
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
        let thread = thread.load(ordering: .relaxed)
        return thread != 0 && pthread_equal(thread, pthread_self()) != 0
    }

    /// Reports through the server's error handler; safe from any thread, even after the loop stopped.
    func report(_ error: any Error, peer: SocketAddress?) {
        EventLoopGroup.report(error, peer: peer, to: errorHandler)
    }

    // MARK: Cross-thread entry points

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        if isOnLoopThread && !jobsClosed {
            localJobs.append(job)
            return
        }
        let queued = inbox.withLock { inbox in
            guard !inbox.closed else { return false }
            inbox.jobs.append(job)
            return true
        }
        if queued {
            inboxPending.store(true, ordering: .releasing)
            waker.wakeup()
        } else {
            // The loop is gone (a task outlived the grace period): run the job on a Dispatch thread
            // rather than strand it, as if on this executor so the task does not hop back here. Such
            // a task shares nothing with the loop any more (its transport is gone), only the atomic
            // task count; a task's jobs never run two at a time.
            DispatchQueue.global().async { [self] in job.runSynchronously(on: asUnownedTaskExecutor()) }
        }
    }

    /// Hands an accepted connection to this loop (from the acceptor loop).
    func post(_ socket: Socket) {
        let queued = inbox.withLock { inbox in
            guard !inbox.closed else { return false }
            inbox.sockets.append(socket)
            return true
        }
        if queued {
            inboxPending.store(true, ordering: .releasing)
            waker.wakeup()
        } else {
            socket.close()
            group.connectionClosed()
        }
    }

    func wake() {
        waker.wakeup()
    }

    // MARK: The loop

    func run() {
        thread.store(pthread_self(), ordering: .relaxed)
        now = Self.clockMilliseconds()
        resumeAccepting()
        while true {
            let timeout = nextTimeout()
            var clockRead = false
            do {
                try selector.select(timeout: timeout) { _, events, transport in
                    // The clock must be read after the wait, before any callback: a loop that slept
                    // for a minute would otherwise stamp a new connection or a read a minute old,
                    // and the idle sweep at the end of this turn would close it.
                    if !clockRead {
                        now = Self.clockMilliseconds()
                        clockRead = true
                    }
                    if let transport {
                        handle(transport, events)
                    } else {
                        acceptBurst()
                    }
                }
            } catch {
                report(error, peer: nil)
                break
            }
            if !clockRead { now = Self.clockMilliseconds() }
            turns.store(turns.load(ordering: .relaxed) &+ 1, ordering: .relaxed)  // one writer: no RMW needed
            if inboxPending.load(ordering: .acquiring) { drainInbox() }
            runJobs()
            processLost()
            if group.isStopping, checkStopping() { break }
            runTimers()
        }
        finish()
    }

    private func nextTimeout() -> Duration? {
        if !localJobs.isEmpty || !lost.isEmpty { return .zero }
        var wake: Int64?
        if let idleCheckAt { wake = idleCheckAt }
        if acceptPause == .failing, let until = acceptBackoff.pausedUntil {
            wake = min(wake ?? .max, now.saturatingAdd(max(0, (until.nanoseconds - MonotonicInstant.now.nanoseconds + 999_999) / 1_000_000)))
        }
        if stopping {
            // Past the deadline the stragglers are closed; only the final cut-off is left to wait for.
            wake = min(wake ?? .max, now >= stopDeadline ? stopDeadline.saturatingAdd(1000) : stopDeadline)
        }
        if group.isStopping && !stopping { return .zero }
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
        report(error, peer: transport.peerAddress)
        transport.writeBuffer.removeAll()
        lose(transport, error: error)
    }

    // MARK: Connections

    func adopt(_ socket: Socket) {
        let fd = socket.fileDescriptor
        if group.configuration.noDelay { try? socket.setOption(.noDelay, true) }
        let handler: any StreamProtocol
        switch group.handler {
        case .protocolFactory(let make): handler = make()
        case .async(let body): handler = AsyncConnectionAdapter(body: body)
        }
        let transport = Transport(
            socket: socket, loop: self, handler: handler,
            highWaterMark: group.configuration.writeBufferHighWaterMark,
            lowWaterMark: group.configuration.writeBufferLowWaterMark ?? group.configuration.writeBufferHighWaterMark / 4)
        transport.lastActivity = now
        if Int(fd) >= connections.count {
            connections.append(contentsOf: repeatElement(nil, count: max(Int(fd) + 1 - connections.count, connections.count / 2 + 64)))
        }
        do {
            try selector.register(fileDescriptor: fd, events: .read, data: transport)
            transport.registered = true
        } catch {
            // Never made, so never lost: the protocol hears nothing of this connection.
            report(error, peer: nil)
            transport.state = .closed
            transport.handler = ClosedProtocol.shared
            socket.close()
            group.connectionClosed()
            return
        }
        connections[Int(fd)] = transport
        connectionCount += 1
        if let timeout = group.idleTimeoutMilliseconds, idleCheckAt == nil { idleCheckAt = now.saturatingAdd(timeout) }
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
            do {
                try selector.register(fileDescriptor: fd, events: transport.interest, data: transport)
                transport.registered = true
            } catch {
                // Left unregistered the transport would never hear of its socket again.
                transport.writeBuffer.removeAll()
                lose(transport, error: error)
            }
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
        group.connectionClosed()
        if acceptPause == .failing { resumeAccepting() }  // a descriptor is free again
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
        guard let listener, acceptPause == .none, !group.isStopping else { return }
        for _ in 0..<64 {
            guard group.reserveConnection() else {
                pauseAccepting(.maxConnections)
                return
            }
            do {
                guard let socket = try listener.acceptNonBlocking() else {
                    group.connectionClosed()
                    return
                }
                acceptErrorReportedAt = nil
                acceptBackoff.reset()
                group.dispatch(socket, from: self)
            } catch {
                group.connectionClosed()
                switch error.kind {
                case .connectionAborted, .connectionReset, .permissionDenied:
                    continue  // that client is gone; the next may be fine
                default:
                    // Out of descriptors (EMFILE, ENFILE), buffers or memory (ENOBUFS, ENOMEM), or a broken
                    // listener: the listener stays readable and level-triggered epoll would spin. Stop
                    // watching it and retry after a back-off (10 ms doubling to 1 s), or as soon as one of
                    // our connections closes; report the first failure and then at most once a second.
                    if acceptErrorReportedAt.map({ now - $0 >= 1000 }) ?? true {
                        acceptErrorReportedAt = now
                        report(error, peer: nil)
                    }
                    acceptBackoff.pause()
                    pauseAccepting(.failing)
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
        if reason == .maxConnections { group.noteAcceptPaused() }
    }

    /// Watches the listener again (after a pause, or at start).
    func resumeAccepting() {
        guard let listener, !listenerRegistered, !group.isStopping else { return }
        acceptPause = .none
        listenerRegistered = (try? selector.register(listener, events: .read, data: nil)) != nil
    }

    // MARK: Turn housekeeping

    private func drainInbox() {
        // Cleared before taking the inbox: a producer that appends after this sets it again.
        inboxPending.store(false, ordering: .relaxed)
        let (jobs, sockets) = inbox.withLock { inbox in
            defer { inbox.jobs.removeAll(keepingCapacity: true); inbox.sockets.removeAll(keepingCapacity: true) }
            return (inbox.jobs, inbox.sockets)
        }
        localJobs.append(contentsOf: jobs)
        for socket in sockets {
            if group.isStopping {
                socket.close()
                group.connectionClosed()
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
        if acceptPause == .maxConnections, group.hasRoom { resumeAccepting() }
        if acceptPause == .failing, !acceptBackoff.isPaused() { resumeAccepting() }
        if let check = idleCheckAt, now >= check { sweepIdle() }
    }

    /// Closes connections idle for longer than the idle timeout. Runs at most every eighth of the
    /// timeout, so a connection is closed between 1× and 1.125× the timeout after its last I/O.
    private func sweepIdle() {
        guard let timeout = group.idleTimeoutMilliseconds, connectionCount > 0 else {
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
        idleCheckAt = oldest == .max ? nil : max(oldest.saturatingAdd(timeout), now.saturatingAdd(max(1, timeout / 8)))
    }

    /// Returns true when the loop may exit.
    private func checkStopping() -> Bool {
        if !stopping {
            stopping = true
            stopDeadline = now.saturatingAdd(group.gracePeriodMilliseconds)
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
            if now >= stopDeadline.saturatingAdd(1000) { return true }  // a task stuck elsewhere cannot hold the loop
        }
        return false
    }

    private func finish() {
        for case let transport? in connections where transport.state != .closed {
            lose(transport, error: SocketError.serverShutdown)
        }
        processLost()
        // From now on no job waits for this loop: the inbox is closed and what it holds runs once
        // here; anything a task schedules later goes to the global executor.
        let (jobs, sockets) = inbox.withLock { inbox in
            inbox.closed = true
            defer { inbox.jobs = []; inbox.sockets = [] }
            return (inbox.jobs, inbox.sockets)
        }
        for socket in sockets {
            socket.close()
            group.connectionClosed()
        }
        localJobs.append(contentsOf: jobs)
        jobsClosed = true
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
