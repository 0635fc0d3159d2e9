import LoomSystem
import CLoomShims
import Glibc
import Synchronization

/// A thread of control: Python's `threading.Thread`, on a real POSIX thread.
///
/// Give it a closure, or subclass it and override ``run()``; then ``start()`` it and
/// ``join()`` it.
///
/// ```swift
/// let worker = Thread(name: "worker") { print("hello from", Thread.current.name) }
/// try worker.start()
/// try worker.join()
///
/// final class Greeter: Thread {
///     let number: Int
///     init(_ number: Int) { self.number = number; super.init() }
///     override func run() { print("the number is \(number)!") }
/// }
/// ```
///
/// An error thrown by the body goes to ``Thread/excepthook`` (by default printed to stderr as
/// `Exception in thread NAME: …`); the thread then ends normally and the process keeps running.
///
/// `join(timeout:)` only stops *waiting*: it never stops the thread. A Swift program ends when
/// `main` returns, killing every thread; to end it the way Python does — after every non-daemon
/// thread has finished — call ``Thread/exitProcess(_:)`` (or ``Thread/waitForNonDaemonThreads()``)
/// at the end of `main`. Daemon threads are not waited for and die with the process.
///
/// In a file that also imports Foundation, write `LoomThreading.Thread` (or `Loom.Thread`), since
/// Foundation has a `Thread` of its own.
open class Thread: @unchecked Sendable {
    // @unchecked Sendable: mutable state lives in `state` (`Protected`, behind a futex mutex) or in atomics; `serial` is
    // immutable; `target` (set in init, published by start()) and `threadCleanups` are only touched by the thread itself.
    struct State {
        var name: String
        var daemon: Bool
        var stackSize: Int?
        var started = false
        var ident: UInt?
        var nativeID: pid_t?
    }

    let state: Protected<State>
    private var target: (@Sendable () throws -> Void)?
    /// 1 once `run()` has returned and the thread has left the registry (2: not yet, and
    /// someone sleeps on it).
    let finished = FutexWord(0)
    /// 1 once the new thread has recorded its native id (2: not yet, and someone sleeps on it).
    let published = FutexWord(0)
    let isDummy: Bool
    /// The POSIX thread, created joinable so that `join()` reaps it (its stack goes back to
    /// glibc's cache at once, as with `pthread_join`); detached in `deinit` if nobody joined it.
    private let handle = Atomic<UInt>(0)
    /// 0 not reaped, 1 reaped or detached: whoever flips it does the one `pthread_join`/`detach`.
    private let reaped = Atomic<Bool>(false)
    /// Cleanups registered by `ThreadLocal` for this thread, run as it ends.
    var threadCleanups: [() -> Void] = []

    /// A thread that runs `target`.
    ///
    /// - Parameters:
    ///   - name: Its name; nil or empty: `Thread-N`, as in Python.
    ///   - daemon: Whether it is a daemon thread; by default that of the creating thread (the
    ///     main thread is not a daemon, threads Loom did not start are).
    ///   - stackSize: Its stack size in bytes; by default ``Thread/stackSize``.
    ///   - target: The body.
    public init(name: String? = nil, daemon: Bool? = nil, stackSize: Int? = nil, target: @escaping @Sendable () throws -> Void) {
        self.target = target
        self.isDummy = false
        state = Protected(State(name: Thread.name(given: name), daemon: daemon ?? Thread.current.isDaemon, stackSize: stackSize))
    }

    /// A thread whose body is ``run()``: for subclasses.
    public init(name: String? = nil, daemon: Bool? = nil, stackSize: Int? = nil) {
        self.target = nil
        self.isDummy = false
        state = Protected(State(name: Thread.name(given: name), daemon: daemon ?? Thread.current.isDaemon, stackSize: stackSize))
    }

    /// A thread object for a thread that already runs (the main thread, or one Loom did not start).
    init(existingNamed name: String, daemon: Bool, dummy: Bool) {
        target = nil
        isDummy = dummy
        state = Protected(State(name: name, daemon: daemon, started: true))
    }

    /// The thread's body. The default runs the closure given to the initializer; subclasses
    /// override it. An error it throws goes to ``Thread/excepthook``.
    open func run() throws {
        // As CPython's `Thread.run` (`del self._target`): once run, the closure is dropped, so a
        // thread that its own closure captures (directly or through a holder) is not kept alive
        // by that cycle for ever.
        defer { target = nil }
        try target?()
    }

    // MARK: Properties

    /// The thread's name, for messages; need not be unique.
    public final var name: String {
        get { state.withLock { $0.name } }
        set { state.withLock { $0.name = newValue } }
    }

    /// Whether this is a daemon thread: one the process does not wait for at exit.
    public final var isDaemon: Bool { state.withLock { $0.daemon } }

    /// Sets the daemon flag; only before ``start()``.
    ///
    /// - Throws: ``ThreadingError/daemonOfActiveThread`` once the thread has started.
    public final func setDaemon(_ daemon: Bool) throws(ThreadingError) {
        try state.withLock { (state) throws(ThreadingError) in
            if state.started { throw .daemonOfActiveThread }
            state.daemon = daemon
        }
    }

    /// The stack size this thread is (or will be) created with; `nil` for ``Thread/stackSize``.
    public final var stackSize: Int? { state.withLock { $0.stackSize } }

    /// The `pthread_t` of the thread, as Python's `ident`: `nil` before ``start()``, kept after
    /// it ends; may be reused by a later thread.
    public final var ident: UInt? { state.withLock { $0.ident } }

    /// The kernel's thread id (`gettid`), as Python's `native_id`: `nil` before ``start()``.
    /// Right after `start()` it waits, very briefly, for the new thread to report it.
    public final var nativeID: Int32? {
        guard state.withLock({ $0.started }) else { return nil }
        _ = Thread.await(published, deadline: nil)
        return state.withLock { $0.nativeID }
    }

    /// Whether the thread has started and its body has not yet returned.
    public final var isAlive: Bool {
        state.withLock { $0.started } && finished.cell.pointee.load(ordering: .acquiring) != 1
    }

    // MARK: Start and join

    /// Starts the thread: ``run()`` begins on a new POSIX thread. When this returns the thread
    /// counts as alive and appears in ``Thread/enumerate()``.
    ///
    /// - Throws: ``ThreadingError/startedTwice`` if already started (even if it has finished);
    ///   ``ThreadingError/cannotStartThread(errno:)`` if the system refuses a new thread;
    ///   ``ThreadingError/invalidStackSize(_:)``.
    public final func start() throws(ThreadingError) {
        let stackSize = try state.withLock { (state) throws(ThreadingError) -> Int in
            if state.started { throw .startedTwice }
            state.started = true
            return state.stackSize ?? Thread.stackSize
        }
        ThreadRegistry.shared.add(self)
        let handle: pthread_t
        do throws(ThreadStartError) {
            // The closure holds the thread object until its body has run.
            handle = try ThreadStart.spawn(name: nil, stackSize: stackSize > 0 ? stackSize : nil) { self.bootstrap() }
        } catch {
            state.withLock { $0.started = false }
            ThreadRegistry.shared.remove(self)
            switch error {
            case .invalidStackSize(let size): throw .invalidStackSize(size)
            case .cannotStart(let code): throw .cannotStartThread(errno: code)
            }
        }
        self.handle.store(UInt(handle), ordering: .releasing)
        state.withLock { if $0.ident == nil { $0.ident = UInt(handle) } }
    }

    private func bootstrap() {
        let me = pthread_self()
        CurrentThread.set(self)
        state.withLock {
            $0.ident = UInt(me)
            $0.nativeID = cloom_gettid()
        }
        Thread.signal(published)
        do {
            try run()
        } catch {
            Thread.reportUncaught(error, in: self)
        }
        finish()
    }

    /// Runs thread-local cleanups, leaves the registry and releases joiners.
    func finish() {
        while let cleanup = threadCleanups.popLast() { cleanup() }
        ThreadRegistry.shared.remove(self)
        Thread.signal(finished)
        CurrentThread.clear()
    }

    /// Waits until the thread has finished. Any number of threads may join it, any number of
    /// times.
    ///
    /// - Throws: ``ThreadingError/joinBeforeStart``, ``ThreadingError/joinCurrentThread``,
    ///   ``ThreadingError/joinDummyThread``.
    public final func join() throws(ThreadingError) {
        _ = try join(timeout: nil)
    }

    /// Waits until the thread has finished or `timeout` has passed, and returns whether it has
    /// finished (Python returns `None` and makes you call `is_alive()`; this returns the answer).
    /// A zero or negative timeout just looks.
    ///
    /// This never stops the thread: after a timeout it keeps running. The timeout holds for
    /// daemon and non-daemon threads alike, and each call has its own: joining N threads one
    /// after another, each with timeout T, can take N × T.
    ///
    /// - Throws: ``ThreadingError/joinBeforeStart``, ``ThreadingError/joinCurrentThread``,
    ///   ``ThreadingError/joinDummyThread``.
    @discardableResult
    public final func join(timeout: Duration?) throws(ThreadingError) -> Bool {
        if isDummy { throw .joinDummyThread }
        guard state.withLock({ $0.started }) else { throw .joinBeforeStart }
        if self === Thread.current { throw .joinCurrentThread }
        // Without a timeout the first joiner goes straight to `pthread_join`, which returns once
        // the thread has exited, so after `finish()`: one wake-up (the kernel's, as the thread
        // exits) instead of two (our `finished` flag, then the exit). Measured (Benchmarks/, p50,
        // median of 5 runs): start+join went from 1.37× to 1.16× of raw `pthread_create`+join.
        if timeout == nil, reapNow() { return true }
        guard Thread.await(finished, deadline: Deadline.after(timeout)) else { return false }
        reap()
        return true
    }

    /// Claims the one `pthread_join` and performs it, waiting for the thread to exit; false if
    /// someone else has claimed it (they joined, or `deinit` detached) or `start()` has not yet
    /// stored the handle.
    private func reapNow() -> Bool {
        let thread = handle.load(ordering: .acquiring)
        guard thread != 0, !reaped.load(ordering: .relaxed),
            reaped.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        else { return false }
        pthread_join(pthread_t(thread), nil)
        return true
    }

    /// Joins the finished POSIX thread once (it is returning from its body by now).
    private func reap() {
        let thread = handle.load(ordering: .acquiring)
        guard thread != 0, !reaped.load(ordering: .relaxed),
            reaped.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        else { return }
        pthread_join(pthread_t(thread), nil)
    }

    deinit {
        let thread = handle.load(ordering: .acquiring)
        if thread != 0, reaped.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged {
            pthread_detach(pthread_t(thread))
        }
    }

    /// Sets a one-shot flag to 1, waking its sleepers only if there are any.
    static func signal(_ flag: borrowing FutexWord) {
        if flag.cell.pointee.exchange(1, ordering: .acquiringAndReleasing) == 2 {
            flag.wake(Int32.max)
        }
    }

    /// Waits until a one-shot flag is 1, or `deadline`; returns whether it is.
    static func await(_ flag: borrowing FutexWord, deadline: Deadline?) -> Bool {
        for _ in 0..<spinLimit where flag.cell.pointee.load(ordering: .acquiring) == 1 {
            return true
        }
        while true {
            var state = flag.cell.pointee.load(ordering: .acquiring)
            if state == 1 { return true }
            if let deadline, deadline.hasPassed { return false }
            if state == 0 {
                let (exchanged, original) = flag.cell.pointee.compareExchange(expected: 0, desired: 2, ordering: .acquiringAndReleasing)
                if !exchanged {
                    state = original
                    if state == 1 { return true }
                }
            }
            _ = flag.wait(expected: 2, deadline: deadline)
        }
    }

    // MARK: Names

    /// Python's `_counter`: one count from 1 for `Thread-N` and `Dummy-N` alike.
    private static let counter = Atomic<Int>(0)

    /// Python's `_newname(template)`: `"Thread"` gives `Thread-N` with the next count.
    static func newName(_ prefix: String) -> String {
        "\(prefix)-\(counter.add(1, ordering: .relaxed).newValue)"
    }

    /// Python's rule in `Thread.__init__`: a name that is given and not empty is kept; otherwise
    /// `Thread-N`. (Python appends ` (target)` with the target function's `__name__`; a Swift
    /// closure has no name, so nothing is appended.)
    static func name(given name: String?) -> String {
        if let name, !name.isEmpty { return name }
        return newName("Thread")
    }
}

extension Thread: CustomStringConvertible {
    public var description: String {
        let snapshot = state.withLock { ($0.name, $0.started, $0.daemon, $0.ident) }
        var status = !snapshot.1 ? "initial" : (isAlive ? "started" : "stopped")
        if snapshot.2 { status += " daemon" }
        if let ident = snapshot.3 { status += " \(ident)" }
        return "<Thread(\(snapshot.0), \(status))>"
    }
}
