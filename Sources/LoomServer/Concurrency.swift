/// How a server runs its request handlers, chosen at construction as Python chooses a mix-in.
///
/// ```swift
/// let serial = try TCPServer(port: 9999, handler: Upper.self)                       // one at a time
/// let threads = try ThreadingTCPServer(port: 9999, handler: Upper.self)            // a thread each
/// let pool = try TCPServer(port: 9999, handler: Upper.self, concurrency: .pool(workers: 8))
/// ```
public struct Concurrency: Sendable, Hashable, CustomStringConvertible {
    enum Strategy: Sendable, Hashable {
        case serial
        case threading(daemonThreads: Bool, blockOnClose: Bool)
        case pool(workers: Int, backlog: Int)
        case classDefault
    }

    let strategy: Strategy

    /// Whatever the server's class chooses, its ``BaseServer/defaultConcurrency``: ``serial`` for
    /// `TCPServer`, ``threading`` for `ThreadingTCPServer`. Every server initialiser's default, so
    /// that a subclass choosing its own (as Python's `class Server(ThreadingMixIn, TCPServer)`)
    /// keeps every initialiser of the class it extends.
    public static let classDefault = Concurrency(strategy: .classDefault)

    /// One request at a time, on the thread that calls `serveForever()` (Python's `TCPServer`).
    /// A slow or silent client holds up every other.
    public static let serial = Concurrency(strategy: .serial)

    /// A new thread per request (Python's `ThreadingMixIn`), non-daemon, and `serverClose()`
    /// waits for them.
    public static let threading = Concurrency(strategy: .threading(daemonThreads: false, blockOnClose: true))

    /// A new thread per request.
    /// - Parameters:
    ///   - daemonThreads: Python's `daemon_threads`: `serverClose()` does not wait for them.
    ///   - blockOnClose: Python's `block_on_close`: `serverClose()` waits for running handlers.
    ///
    /// Finished threads are never retained (Python 3.7 kept one per request, bpo-37193).
    public static func threading(daemonThreads: Bool = false, blockOnClose: Bool = true) -> Concurrency {
        Concurrency(strategy: .threading(daemonThreads: daemonThreads, blockOnClose: blockOnClose))
    }

    /// A fixed pool of `workers` threads and a queue of at most `backlog` accepted requests waiting
    /// for one. When both are full the server stops accepting: new clients wait in the kernel's
    /// listen backlog, and no thread or memory is spent on them.
    public static func pool(workers: Int, backlog: Int? = nil) -> Concurrency {
        Concurrency(strategy: .pool(workers: workers, backlog: backlog ?? workers))
    }

    /// How many requests may be in the server at once (running or queued) by the strategy itself;
    /// nil when only `maxConnections` limits it.
    var capacity: Int? {
        switch strategy {
        case .serial: nil
        case .threading: nil
        case .pool(let workers, let backlog): workers + backlog
        case .classDefault: nil
        }
    }

    /// Whether `serverClose()` waits for handlers still running.
    var waitsOnClose: Bool {
        switch strategy {
        case .serial: true
        case .threading(let daemon, let block): !daemon && block
        case .pool, .classDefault: true
        }
    }

    /// The strategy as written in Swift (`serial`, `threading(daemonThreads: false, blockOnClose: true)`, `pool(workers: 8, backlog: 8)`), for logs.
    public var description: String {
        switch strategy {
        case .serial: "serial"
        case .threading(let daemon, let block): "threading(daemonThreads: \(daemon), blockOnClose: \(block))"
        case .pool(let workers, let backlog): "pool(workers: \(workers), backlog: \(backlog))"
        case .classDefault: "classDefault"
        }
    }

    /// This strategy, or the class's choice when this is ``classDefault`` (a class choosing
    /// `classDefault` itself gets serial).
    func resolved(classChoice: Concurrency) -> Concurrency {
        guard strategy == .classDefault else { return self }
        return classChoice.strategy == .classDefault ? .serial : classChoice
    }
}
