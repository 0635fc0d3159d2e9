import LoomThreading

/// Runs blocking work (a server's `serveForever()`, a draining `shutdown(gracePeriod:)`) on a
/// thread of its own and awaits it, so that no Swift concurrency thread is ever blocked by it.
enum BlockingCall {
    /// Runs `body` on a new daemon thread named `name` and returns its result.
    static func run<T: Sendable>(name: String, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let thread = Thread(name: name, daemon: true) {
                continuation.resume(with: Result { try body() })
            }
            do {
                try thread.start()
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }
}
