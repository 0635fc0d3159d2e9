#if canImport(Glibc)
import Glibc
#endif
import LoomSockets
import LoomSystem
import Synchronization

/// One event loop of an ``EventLoopServer``: a thread on an epoll ``Selector`` that owns the
/// connections it serves, runs the async handlers' tasks (it is their `TaskExecutor`, so a resumed
/// `recv` continues on this thread) and keeps a timer queue (asyncio's `call_later`).
///
/// A protocol reaches its loop as ``Transport/loop``. From any thread, ``execute(_:)`` runs a
/// callback on the loop (asyncio's `call_soon_threadsafe`) and ``schedule(after:_:)`` runs one
/// later (`call_later`); a ``Transport`` must only be touched from the loop's own thread.
///
/// Inside, one turn is: wait in the selector (until I/O, a wake-up or the next timer), read the
/// clock once, let each ready transport read or write, take what other threads posted (jobs,
/// connections, callbacks), run the queued task jobs, deliver `connectionLost`s, then fire the
/// timers that are due. The parts live in files of their own: ``Transport`` (a connection's state
/// machine), `EventLoop+Executor.swift` (the inbox and the task executor), `Acceptor.swift`,
/// `EventLoop+Connections.swift` and `TimerHeap.swift` with `EventLoop+Timers.swift`.
// @unchecked Sendable: the mutable state is confined to the loop's thread (asserted in debug builds
// by assertInEventLoop); other threads use only the Protected inbox, the atomics and the eventfd waker.
public final class EventLoop: @unchecked Sendable {
    let index: Int
    /// The loop's thread holds the group until run() returns, and nothing of the loop runs after.
    unowned(unsafe) let group: EventLoopGroup
    let selector: Selector<Transport?>
    let waker: SelectorWaker
    /// One read buffer for every connection of the loop: a read is handed to the protocol and
    /// done with before the next.
    let readBuffer: UnsafeMutableRawBufferPointer
    let acceptor: Acceptor
    /// The server's error path, copied so that tasks outliving the loop (and the group) can still report.
    let errorReporter: ServerErrorReporter
    /// ``ServerConfiguration/observer``, copied for the same reason; nil costs one check a connection.
    let observer: (any ServerObserver)?

    // Loop-confined state is marked @exclusivity(unchecked): only the loop's thread touches it and
    // no access overlaps another, while the run-time checks Swift adds for class properties used
    // from other files cost ~880 instructions a request on the event loop (callgrind, 1 connection).
    /// Live connections by descriptor.
    @exclusivity(unchecked) var connections: [Transport?] = []
    @exclusivity(unchecked) var connectionCount = 0
    /// Connections closed during this turn: their `connectionLost` runs after the callbacks.
    @exclusivity(unchecked) var lost: [Transport] = []
    /// Async handler tasks started here and not finished. Atomic because a task that outlives the
    /// loop (stuck past the grace period) finishes on the global executor.
    let liveTaskCount = Atomic<Int>(0)
    var liveTasks: Int { liveTaskCount.load(ordering: .relaxed) }

    /// The loop's clock (``Deadline`` nanoseconds), read once a turn after the wait, before any
    /// callback: I/O is stamped with it. Timers compare against it too, and since it is read after
    /// the wait that lasted until the earliest deadline, no timer fires early.
    @exclusivity(unchecked) var now: Int64 = 0
    /// Turns of the loop so far (tests check that an idle loop does not turn).
    let turns = Atomic<Int>(0)
    @exclusivity(unchecked) var timers = TimerHeap()
    /// When the next idle sweep is due (nil: no connection to watch).
    @exclusivity(unchecked) var idleCheckAt: Int64?
    @exclusivity(unchecked) var stopping = false
    /// When the grace period ends, measured from a fresh clock reading when stopping began.
    @exclusivity(unchecked) var stopDeadline: Int64 = 0

    /// The loop thread's id, 0 until run() starts. Relaxed is enough: only the loop thread can
    /// find its own id here, and it wrote it; any other thread sees 0 or a different id.
    let thread = Atomic<UInt>(0)
    /// Set by finish(): jobs go to the global executor from then on (loop thread only).
    @exclusivity(unchecked) var jobsClosed = false
    @exclusivity(unchecked) var localJobs: [UnownedJob] = []
    @exclusivity(unchecked) var runningJobs: [UnownedJob] = []
    let inbox = Protected(Inbox())
    let inboxPending = Atomic<Bool>(false)

    init(index: Int, group: EventLoopGroup, listener: Socket?) throws(SocketError) {
        self.index = index
        self.group = group
        selector = try Selector<Transport?>()
        waker = selector.waker
        readBuffer = .allocate(byteCount: max(4096, group.configuration.readBufferSize), alignment: 16)
        acceptor = Acceptor(listener: listener)
        errorReporter = group.errorReporter
        observer = group.configuration.server.observer
        localJobs.reserveCapacity(64)
        runningJobs.reserveCapacity(64)
        acceptor.loop = self
    }

    deinit {
        readBuffer.deallocate()
    }

    // MARK: Threads

    /// True on the loop's own thread, while it runs.
    public var inEventLoop: Bool {
        let thread = thread.load(ordering: .relaxed)
        return thread != 0 && pthread_equal(thread, pthread_self()) != 0
    }

    var isOnLoopThread: Bool { inEventLoop }

    /// Debug builds trap when loop-bound state is touched from another thread (SwiftNIO's
    /// `assertInEventLoop`). Before the loop starts, the thread that created the server may drive it.
    @inline(__always)
    func assertInEventLoop(file: StaticString = #fileID, line: UInt = #line) {
        assert(thread.load(ordering: .relaxed) == 0 || inEventLoop,
               "loop-bound state used off its event loop's thread", file: file, line: line)
    }

    /// Reports through the server's error path; safe from any thread, even after the loop stopped.
    func report(_ error: any Error, peer: SocketAddress?) {
        errorReporter.report(error, peer: peer)
    }

    func wake() {
        waker.wakeup()
    }

    // MARK: The loop

    func run() {
        thread.store(pthread_self(), ordering: .relaxed)
        now = Deadline.now().nanoseconds
        acceptor.resume()
        while true {
            let timeout = nextTimeout()
            var clockRead = false
            do {
                try selector.select(timeout: timeout) { _, events, transport in
                    // The clock must be read after the wait, before any callback: a loop that slept
                    // for a minute would otherwise stamp a new connection or a read a minute old,
                    // and the idle sweep at the end of this turn would close it.
                    if !clockRead {
                        now = Deadline.now().nanoseconds
                        clockRead = true
                    }
                    if let transport {
                        transport.ready(events, buffer: readBuffer)
                    } else {
                        acceptor.acceptBurst()
                    }
                }
            } catch {
                report(error, peer: nil)
                break
            }
            if !clockRead { now = Deadline.now().nanoseconds }
            turns.store(turns.load(ordering: .relaxed) &+ 1, ordering: .relaxed)  // one writer: no RMW needed
            if inboxPending.load(ordering: .acquiring) { drainInbox() }
            runJobs()
            processLost()
            if group.isStopping, checkStopping() { break }
            runTimers()
        }
        finish()
    }

    /// How long the selector may sleep: not at all with work queued, else until the earliest timer.
    private func nextTimeout() -> Duration? {
        if !localJobs.isEmpty || !lost.isEmpty { return .zero }
        if group.isStopping && !stopping { return .zero }
        guard let next = timers.nextDeadline else { return nil }  // idle: block until something happens
        return .nanoseconds(max(0, next - Deadline.now().nanoseconds))
    }

    /// Returns true when the loop may exit.
    private func checkStopping() -> Bool {
        if !stopping {
            stopping = true
            // From a fresh reading, not the turn's clock: the grace period is never cut short.
            stopDeadline = Deadline.now().advanced(by: group.gracePeriod).nanoseconds
            timers.schedule(at: stopDeadline, .wakeUp)
            timers.schedule(at: stopDeadline.saturatingAdding(1_000_000_000), .wakeUp)
            acceptor.close()
        }
        if connectionCount == 0 && liveTasks == 0 && localJobs.isEmpty && lost.isEmpty { return true }
        if now >= stopDeadline {
            // Grace is over: close what is left; tasks waiting in recv get an error and finish.
            for case let transport? in connections where transport.state != .closed {
                transport.terminate(SocketError.serverShutdown)
            }
            // A task stuck elsewhere cannot hold the loop longer than a second more.
            if now >= stopDeadline.saturatingAdding(1_000_000_000) { return true }
        }
        return false
    }

    private func finish() {
        for case let transport? in connections where transport.state != .closed {
            transport.lose(SocketError.serverShutdown)
        }
        processLost()
        closeInbox()
        acceptor.close()
        timers.removeAll()
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
