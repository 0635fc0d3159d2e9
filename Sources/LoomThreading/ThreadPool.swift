import LoomSystem
import Glibc

/// A fixed set of worker threads running submitted tasks: Python's
/// `concurrent.futures.ThreadPoolExecutor`.
///
/// ```swift
/// let pool = try ThreadPool(maxWorkers: 4)
/// let squares = try pool.map(1...10) { $0 * $0 }
/// let future = try pool.submit { try fetch(url) }
/// let page = try future.result(timeout: .seconds(5))   // fetch's error is thrown here
/// pool.shutdown()
/// ```
///
/// The workers are non-daemon threads. ``Thread/waitForNonDaemonThreads()`` (and
/// ``Thread/exitProcess(_:)``) first tell every pool to finish its queued tasks and stop, then
/// wait for them, as Python does at exit. A pool that is freed stops its workers the same way.
public final class ThreadPool: Sendable {
    struct Job: Sendable {
        let run: @Sendable () -> Void
        let cancel: @Sendable () -> Void
    }

    /// How many worker threads the pool runs.
    public let maxWorkers: Int
    let jobs = Queue<Job>()
    private let workers: [Thread]
    /// The exit hook that shuts `jobs` down; removed by `shutdown` and `deinit`, and holding the
    /// queue weakly meanwhile, so a freed pool's queue is freed too.
    private let exitHook: Int?

    /// A pool of `maxWorkers` threads (by default, as Python: the number of CPUs + 4, at most 32),
    /// named `PREFIX_0`, `PREFIX_1`, ….
    ///
    /// - Throws: ``ThreadingError/invalidArgument(_:)`` if `maxWorkers < 1`;
    ///   ``ThreadingError/cannotStartThread(errno:)``.
    public init(maxWorkers: Int? = nil, threadNamePrefix: String = "ThreadPool") throws(ThreadingError) {
        let count = maxWorkers ?? min(32, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) + 4)
        guard count >= 1 else { throw .invalidArgument("max_workers must be greater than 0") }
        self.maxWorkers = count
        let jobs = self.jobs
        var workers: [Thread] = []
        for index in 0..<count {
            let worker = Thread(name: "\(threadNamePrefix)_\(index)", daemon: false) {
                while let job = try? jobs.get() { job.run() }
            }
            do {
                try worker.start()
            } catch {
                jobs.shutdown()
                throw error
            }
            workers.append(worker)
        }
        self.workers = workers
        exitHook = ThreadRegistry.shared.addExitHook { [weak jobs] in jobs?.shutdown() }
    }

    deinit {
        jobs.shutdown()
        if let exitHook { ThreadRegistry.shared.removeExitHook(exitHook) }
    }

    /// Schedules `body` on a worker and returns its ``Future``.
    ///
    /// - Throws: ``ThreadingError/submitAfterShutdown`` after ``shutdown(wait:cancelFutures:)``.
    public func submit<Value: Sendable>(_ body: @escaping @Sendable () throws -> Value) throws(ThreadingError) -> Future<Value> {
        let future = Future<Value>()
        let job = Job(
            run: {
                guard future.markRunning() else { return }
                future.finish(Result { try body() })
            },
            cancel: { future.cancel() }
        )
        do {
            try jobs.put(job)
        } catch {
            throw .submitAfterShutdown
        }
        return future
    }

    /// Runs `body` on every item, on the workers, and returns the results in order. Waits at
    /// most `timeout` in total (one deadline for all).
    ///
    /// - Throws: the first error a call threw (in item order); ``FutureError/timeout``;
    ///   ``ThreadingError/submitAfterShutdown``.
    public func map<Item: Sendable, Value: Sendable>(
        _ items: some Sequence<Item>, timeout: Duration? = nil, _ body: @escaping @Sendable (Item) throws -> Value
    ) throws -> [Value] {
        let deadline = Deadline.after(timeout)
        var futures: [Future<Value>] = []
        for item in items {
            futures.append(try submit { try body(item) })
        }
        defer { for future in futures { future.cancel() } }
        return try futures.map { future in
            try future.result(timeout: deadline.map { $0.remaining })
        }
    }

    /// Stops accepting tasks. The workers finish every queued task (or, with `cancelFutures`,
    /// only the running ones: queued ones are cancelled) and end. With `wait`, returns once they
    /// have. Safe to call more than once.
    public func shutdown(wait: Bool = true, cancelFutures: Bool = false) {
        if cancelFutures {
            jobs.shutdown()
            while let job = try? jobs.getNowait() { job.cancel() }
        } else {
            jobs.shutdown()
        }
        if let exitHook { ThreadRegistry.shared.removeExitHook(exitHook) }
        if wait {
            for worker in workers where worker !== Thread.current { try? worker.join() }
        }
    }
}
