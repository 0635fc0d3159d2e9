import LoomSystem
import CLoomShims
import Glibc
import Synchronization

/// Every thread that is alive as far as Loom knows: started Loom threads, the main thread and
/// the dummy threads standing for threads Loom did not start. Python's `_active` + `_limbo`.
final class ThreadRegistry: Sendable {
    static let shared = ThreadRegistry()

    private let threads = Protected<[ObjectIdentifier: Thread]>([:])
    /// Run once, before waiting for non-daemon threads at exit (Python's `_register_atexit`),
    /// latest first; each under the id `addExitHook` returned, so its owner can remove it.
    private let exitHooks = Protected<(nextID: Int, hooks: [(id: Int, run: @Sendable () -> Void)])?>((0, []))

    func add(_ thread: Thread) {
        threads.withLock { $0[ObjectIdentifier(thread)] = thread }
    }

    func remove(_ thread: Thread) {
        _ = threads.withLock { $0.removeValue(forKey: ObjectIdentifier(thread)) }
    }

    var all: [Thread] { threads.withLock { Array($0.values) } }

    var count: Int { threads.withLock { $0.count } }

    /// Registers `hook` to run at the start of `waitForNonDaemonThreads()` and returns its id
    /// for ``removeExitHook(_:)``; returns `nil` (and does nothing) if that has already begun.
    func addExitHook(_ hook: @escaping @Sendable () -> Void) -> Int? {
        exitHooks.withLock { state in
            guard state != nil else { return nil }
            let id = state!.nextID
            state!.nextID += 1
            state!.hooks.append((id, hook))
            return id
        }
    }

    /// Unregisters a hook (and releases what it captured); does nothing if it is gone already.
    func removeExitHook(_ id: Int) {
        let removed = exitHooks.withLock { state -> (@Sendable () -> Void)? in
            guard let index = state?.hooks.firstIndex(where: { $0.id == id }) else { return nil }
            return state!.hooks.remove(at: index).run
        }
        _ = removed  // released outside the lock
    }

    func runExitHooks() {
        let hooks = exitHooks.withLock { state in
            defer { state = nil }
            return state?.hooks ?? []
        }
        for hook in hooks.reversed() { hook.run() }
    }
}

/// The calling thread's `Thread` object, in a pthread key. Loom threads store themselves
/// unretained for the life of their body (`bootstrap` keeps them alive) and clear it when they
/// end; the main and dummy threads store a retained reference that the key's destructor
/// releases when their thread exits.
enum CurrentThread {
    static let key: pthread_key_t = {
        var key = pthread_key_t()
        let result = pthread_key_create(&key) { pointer in
            guard let pointer else { return }
            let thread = Unmanaged<Thread>.fromOpaque(pointer).takeRetainedValue()
            ThreadRegistry.shared.remove(thread)
        }
        precondition(result == 0, "pthread_key_create failed: \(result)")
        return key
    }()

    @inline(__always)
    static func get() -> Thread? {
        guard let pointer = pthread_getspecific(key) else { return nil }
        return Unmanaged<Thread>.fromOpaque(pointer).takeUnretainedValue()
    }

    static func set(_ thread: Thread) {
        pthread_setspecific(key, Unmanaged.passUnretained(thread).toOpaque())
    }

    static func clear() {
        pthread_setspecific(key, nil)
    }

    /// Creates the `Thread` object for a thread Loom did not start.
    static func adopt() -> Thread {
        let thread: Thread
        if cloom_gettid() == getpid() {
            thread = mainThread
        } else {
            thread = Thread(existingNamed: Thread.newName("Dummy"), daemon: true, dummy: true)
            thread.state.withLock { $0.nativeID = cloom_gettid() }
            thread.published.cell.pointee.store(1, ordering: .releasing)
            ThreadRegistry.shared.add(thread)
        }
        thread.state.withLock { $0.ident = UInt(pthread_self()) }
        pthread_setspecific(key, Unmanaged.passRetained(thread).toOpaque())
        return thread
    }
}

/// The main thread's object, created on first use from whichever thread asks first.
let mainThread: Thread = {
    let thread = Thread(existingNamed: "MainThread", daemon: false, dummy: false)
    thread.state.withLock { $0.nativeID = getpid() }
    thread.published.cell.pointee.store(1, ordering: .releasing)
    ThreadRegistry.shared.add(thread)
    return thread
}()

/// What ``Thread/excepthook`` receives: the error a thread's body threw, and the thread.
public struct ExceptHookArguments: Sendable {
    /// The error thrown by the thread's body.
    public let error: any Error
    /// The thread whose body threw.
    public let thread: Thread
}

private let installedExceptHook = Protected<@Sendable (ExceptHookArguments) -> Void>(Thread.defaultExcepthook)
private let defaultStackSize = Atomic<Int>(0)

extension Thread {
    // MARK: The calling thread and the others

    /// The calling thread's `Thread`. For a thread Loom did not start it is a dummy object, as
    /// Python's `_DummyThread`: alive, a daemon, named `Dummy-N`, and not joinable.
    public static var current: Thread {
        CurrentThread.get() ?? CurrentThread.adopt()
    }

    /// The process's main thread, named `MainThread`. Its ``ident`` is known once the main
    /// thread itself has used Loom (creating a `Thread` is enough).
    public static var main: Thread { mainThread }

    /// How many threads are alive: the main thread, started Loom threads that have not finished,
    /// and dummy threads for other threads that have used Loom. Equals `enumerate().count`.
    public static var activeCount: Int {
        _ = mainThread
        return ThreadRegistry.shared.count
    }

    /// Every thread alive (see ``activeCount``); never a thread not yet started or finished.
    public static func enumerate() -> [Thread] {
        _ = mainThread
        return ThreadRegistry.shared.all
    }

    // MARK: Stack size

    /// The stack size, in bytes, for threads created without one; 0 means the system default.
    public static var stackSize: Int { defaultStackSize.load(ordering: .relaxed) }

    /// Sets ``stackSize`` (Python's `threading.stack_size(size)`); 0 restores the system default.
    ///
    /// - Throws: ``ThreadingError/invalidStackSize(_:)`` below 16 KiB (except 0) or negative.
    public static func setStackSize(_ bytes: Int) throws(ThreadingError) {
        guard bytes == 0 || bytes >= 16_384 else { throw .invalidStackSize(bytes) }
        defaultStackSize.store(bytes, ordering: .relaxed)
    }

    // MARK: Uncaught errors

    /// Called with every error a thread's body throws (Python's `threading.excepthook`). The
    /// thread then ends normally; nothing reaches `join()`. The default prints
    /// `Exception in thread NAME: ERROR` to stderr in one write.
    public static var excepthook: @Sendable (ExceptHookArguments) -> Void {
        get { installedExceptHook.withLock { $0 } }
        set { installedExceptHook.withLock { $0 = newValue } }
    }

    /// The hook installed at start-up (Python's `threading.__excepthook__`).
    public static let defaultExcepthook: @Sendable (ExceptHookArguments) -> Void = { arguments in
        var text = "Exception in thread \(arguments.thread.name): \(arguments.error)\n"
        _ = text.withUTF8 { writeAll(2, UnsafeRawBufferPointer($0)) }
    }

    static func reportUncaught(_ error: any Error, in thread: Thread) {
        excepthook(ExceptHookArguments(error: error, thread: thread))
    }

    // MARK: Exit

    /// Waits until every non-daemon thread has finished, including threads those threads start
    /// meanwhile (Python does this when the main module ends). Daemon threads are not waited
    /// for. Runs first the exit hooks, which let ``ThreadPool``s finish their queued work.
    public static func waitForNonDaemonThreads() {
        ThreadRegistry.shared.runExitHooks()
        let me = Thread.current
        while true {
            let pending = ThreadRegistry.shared.all.filter {
                $0 !== me && $0 !== mainThread && !$0.isDummy && !$0.isDaemon
            }
            if pending.isEmpty { return }
            for thread in pending { try? thread.join() }
        }
    }

    /// Ends the process as Python does at the end of its main module: marks the main thread
    /// finished (releasing threads that join it), waits for every non-daemon thread
    /// (``waitForNonDaemonThreads()``), then calls `exit(status)`, which ends daemon threads
    /// wherever they are — no cleanup runs in them. Call it at the end of `main`.
    public static func exitProcess(_ status: Int32 = 0) -> Never {
        if Thread.current === mainThread {
            Thread.signal(mainThread.finished)
        }
        waitForNonDaemonThreads()
        exit(status)
    }
}

extension Thread {
    /// Suspends the calling thread for `duration` (Python's `time.sleep`), on the monotonic
    /// clock, resuming after signals; never returns early. Zero or negative returns at once.
    public static func sleep(for duration: Duration) {
        guard duration > .zero else { return }
        var deadline = Deadline.after(duration).absoluteTimespec
        while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, nil) == EINTR {}
    }
}
