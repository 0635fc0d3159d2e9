import LoomSystem
import LoomThreading
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Graceful stop on SIGINT/SIGTERM without changing any signal's process-wide disposition.
///
/// ``start(_:)`` blocks SIGINT and SIGTERM in the calling thread (threads created afterwards
/// inherit the mask) and starts one thread that waits for them with `sigwait`. When one
/// arrives, that thread runs `onStop` (which typically closes the listening socket, waking the
/// blocked `accept`), and the command then returns normally: exit status 0, every line printed.
/// Call it first thing in `run()`, before any other thread exists, so no thread is left with
/// the default (fatal) handling of those signals.
enum StopSignals {
    private final class Handler {
        let signals: sigset_t
        let onStop: @Sendable (Int32) -> Void
        init(signals: sigset_t, onStop: @escaping @Sendable (Int32) -> Void) {
            self.signals = signals
            self.onStop = onStop
        }
    }

    static func start(_ onStop: @escaping @Sendable (Int32) -> Void) {
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        let handler = Handler(signals: signals, onStop: onStop)
        do throws(ThreadStartError) {
            // Loom's thread start blocks SIGINT and SIGTERM in the new thread too, as sigwait needs.
            let thread = try ThreadStart.spawn(name: "loom-signals") {
                var signals = handler.signals
                var received: Int32 = 0
                while sigwait(&signals, &received) != 0 {}
                handler.onStop(received)
            }
            pthread_detach(thread)
        } catch {
            // Without the waiting thread, fall back to the default behaviour: die on the signal.
            pthread_sigmask(SIG_UNBLOCK, &signals, nil)
        }
    }
}

/// What to do on SIGINT/SIGTERM when the thing to stop (a server) is created after
/// ``StopSignals/start(_:)`` had to run: the signal thread calls ``signal(_:)``, which waits for
/// the action installed with ``onSignal(_:)`` and runs it there, so no extra thread is needed.
final class StopRequest: Sendable {
    private let action = Protected<(@Sendable (Int32) -> Void)?>(nil)
    private let installed = Event()
    private let handled = Event()

    /// Runs the installed action (waiting for it to be installed). Called once, on the signal thread.
    func signal(_ signal: Int32) {
        _ = installed.wait()
        action.withLock { $0 }?(signal)
        handled.set()
    }

    /// Installs what a signal does; a signal that already arrived runs it now.
    func onSignal(_ body: @escaping @Sendable (Int32) -> Void) {
        action.withLock { $0 = body }
        installed.set()
    }

    /// Waits, at most `timeout`, for the action to have finished (after the loop it stopped returned).
    @discardableResult
    func waitUntilHandled(timeout: Duration) -> Bool {
        handled.wait(timeout: timeout)
    }
}
