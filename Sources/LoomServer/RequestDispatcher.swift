/// Runs accepted requests: inline, on a thread each, or on a pool. The strategy is chosen once,
/// at construction, in ``makeDispatcher(for:configuration:)``: the one place a new mode plugs in.
protocol RequestDispatcher: Sendable {
    /// Runs `work` now or later. Throws when it cannot (no thread available).
    func dispatch(_ work: @escaping @Sendable () -> Void) throws(ServerError)
    /// Stops taking work; lets queued work finish. With `wait`, returns once every worker thread
    /// the dispatcher owns has exited (the caller's own excepted).
    func stop(wait: Bool)
}

func makeDispatcher(for concurrency: Concurrency, configuration: ServerConfiguration) -> any RequestDispatcher {
    switch concurrency.strategy {
    case .serial, .classDefault:  // a server resolves classDefault before it gets here
        SerialDispatcher()
    case .threading(let daemonThreads, _):
        ThreadPerRequestDispatcher(name: configuration.threadName, daemon: daemonThreads,
                                   stackSize: configuration.threadStackSize)
    case .pool(let workers, let backlog):
        ThreadPoolDispatcher(workers: workers, backlog: backlog, name: configuration.threadName,
                             stackSize: configuration.threadStackSize)
    }
}

/// Python's plain `TCPServer`: the request runs on the serving thread, before the next accept.
struct SerialDispatcher: RequestDispatcher {
    func dispatch(_ work: @escaping @Sendable () -> Void) throws(ServerError) {
        work()
    }

    func stop(wait: Bool) {}
}
