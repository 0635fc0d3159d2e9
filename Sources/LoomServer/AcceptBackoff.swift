#if canImport(Glibc)
import Glibc
#endif
import LoomSockets
import LoomSystem

/// What the serve loop does when `accept` fails for lack of descriptors (`EMFILE`, `ENFILE`) or
/// of kernel memory (`ENOBUFS`, `ENOMEM`):
/// the pending connection stays in the backlog and the listener stays readable, so retrying at
/// once would spin a core. The loop stops watching the listener for a while instead, doubling
/// the pause from 10 ms up to 1 s while the shortage lasts; `shutdown()` still wakes it at once.
struct AcceptBackoff {
    private(set) var pausedUntil: Deadline?
    private var delay: Duration = .milliseconds(10)

    /// What ran out, for the errors that call for a pause (the connection stays queued and the
    /// listener readable, so retrying at once would spin): "file descriptors" for `EMFILE` and
    /// `ENFILE`, "kernel memory" for `ENOBUFS` and `ENOMEM`. Nil for any other error (a
    /// connection that failed on its own), which is retried at once.
    static func shortage(_ error: SocketError) -> String? {
        if error.kind == .tooManyOpenFiles { return "file descriptors" }
        if error.errno == ENOBUFS || error.errno == ENOMEM { return "kernel memory" }
        return nil
    }

    /// Stops accepting for the current delay and doubles it for next time.
    mutating func pause() {
        pausedUntil = Deadline.after(delay)
        delay = min(delay * 2, .seconds(1))
    }

    /// An accept succeeded: the next shortage starts with a short pause again.
    mutating func reset() {
        delay = .milliseconds(10)
    }

    /// True while paused; clears the pause once it has passed.
    mutating func isPaused() -> Bool {
        guard let until = pausedUntil else { return false }
        if until.hasPassed {
            pausedUntil = nil
            return false
        }
        return true
    }
}
