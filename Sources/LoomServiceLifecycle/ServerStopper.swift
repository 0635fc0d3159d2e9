import LoomThreading
import LoomSystem
import Synchronization

/// Stops a server from the synchronous shutdown and cancellation handlers, which must not
/// block: each stop runs on its own thread, and ``waitUntilStopped()`` lets `run()` return only
/// once every stop that was started has finished (the drain included).
final class ServerStopper: Sendable {
    private struct State {
        var running = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Protected(State())
    private let stop: @Sendable (_ gracePeriod: Duration) -> Void

    /// `stop` is the server's blocking `shutdown(gracePeriod:)`.
    init(_ stop: @escaping @Sendable (_ gracePeriod: Duration) -> Void) {
        self.stop = stop
    }

    /// Starts `stop(gracePeriod)` on a thread and returns at once. When no thread can be created,
    /// it stops on the caller's thread rather than not at all.
    func start(gracePeriod: Duration) {
        state.withLock { $0.running += 1 }
        let thread = Thread(name: "loom-service-stop", daemon: true) { [self] in
            stop(gracePeriod)
            finishOne()
        }
        do {
            try thread.start()
        } catch {
            stop(gracePeriod)
            finishOne()
        }
    }

    private func finishOne() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.running -= 1
            guard state.running == 0 else { return [] }
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns when no stop is running (at once if none was started).
    func waitUntilStopped() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { state -> Bool in
                if state.running == 0 { return true }
                state.waiters.append(continuation)
                return false
            }
            if ready { continuation.resume() }
        }
    }
}
