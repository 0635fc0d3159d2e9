import LoomServer
import ServiceLifecycle

/// Every event-loop server is a `Service`: `ServiceGroup(services: [server], …)`. It drains
/// within 5 seconds on graceful shutdown; wrap it in ``LoomService`` for another grace period.
extension EventLoopServer: Service {
    /// Serves until the group's graceful shutdown (then drains within 5 seconds) or until the
    /// task is cancelled (then stops at once). See ``LoomService/run()``.
    public func run() async throws {
        try await LoomService(self).run()
    }
}
