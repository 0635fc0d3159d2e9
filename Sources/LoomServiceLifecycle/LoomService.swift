import LoomServer
import ServiceLifecycle

/// A Loom server of either family as a swift-service-lifecycle `Service`, with the grace
/// period it drains within.
///
/// `run()` serves (on a thread of its own, never blocking a Swift concurrency thread) until
/// the service group's graceful shutdown, then stops accepting, lets the connections in
/// flight finish for up to `gracePeriod`, closes the rest, and returns once all that is done.
/// Cancelling the task stops the server at once (grace period zero).
///
/// ```swift
/// let server = try ThreadingTCPServer(host: "127.0.0.1", port: 9999, handler: MyHandler.self)
/// let group = ServiceGroup(services: [LoomService(server, gracePeriod: .seconds(10))],
///                          gracefulShutdownSignals: [.sigterm], logger: logger)
/// try await group.run()
/// ```
/// Both server classes are also `Service`s themselves, with a 5-second grace period.
public struct LoomService: Service {
    /// The time connections get to finish once a graceful shutdown begins.
    public let gracePeriod: Duration
    private let name: String
    private let serve: @Sendable () throws -> Void
    private let stop: @Sendable (Duration) -> Void

    /// A threaded server (`BaseServer` and its subclasses: TCP, UDP, Unix; serial, threading or pool).
    public init(_ server: BaseServer, gracePeriod: Duration = .seconds(5)) {
        self.gracePeriod = gracePeriod
        name = "loom-service-\(server.serverAddress)"
        serve = { try server.serveForever() }
        stop = { grace in _ = try? server.shutdown(gracePeriod: grace) }
    }

    /// An event-loop server.
    public init(_ server: EventLoopServer, gracePeriod: Duration = .seconds(5)) {
        self.gracePeriod = gracePeriod
        name = "loom-service-\(server.serverAddress)"
        serve = { server.serveForever() }
        stop = { grace in server.shutdown(gracePeriod: grace) }
    }

    /// Serves until graceful shutdown (then drains) or cancellation (then stops at once).
    /// Rethrows what the server's loop throws (for example a server already closed).
    public func run() async throws {
        let stopper = ServerStopper(stop)
        let gracePeriod = gracePeriod
        try await withTaskCancellationHandler {
            try await withGracefulShutdownHandler {
                try await BlockingCall.run(name: name, serve)
                // The loop returns as soon as accepting stops; the drain may still be going on.
                await stopper.waitUntilStopped()
            } onGracefulShutdown: {
                stopper.start(gracePeriod: gracePeriod)
            }
        } onCancel: {
            stopper.start(gracePeriod: .zero)
        }
    }
}
