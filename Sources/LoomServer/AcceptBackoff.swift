#if canImport(Glibc)
import Glibc
#endif
import LoomSockets
import LoomSystem

/// What a server does when `accept` fails for lack of descriptors (`EMFILE`, `ENFILE`) or of
/// kernel memory (`ENOBUFS`, `ENOMEM`), in both families: the pending connection stays in the
/// backlog and the listener stays readable, so retrying at once would spin a core. The server stops
/// watching the listener for a while instead, doubling the pause from 10 ms up to 1 s while the
/// shortage lasts (a shutdown still wakes it at once), and reports the first failure of a streak
/// and then at most once a second.
struct AcceptBackoff {
    private(set) var pausedUntil: Deadline?
    private var delay: Duration = .milliseconds(10)
    private var reportedAt: Deadline?

    /// What ran out, for the errors that call for a pause: "file descriptors" for `EMFILE` and
    /// `ENFILE`, "kernel memory" for `ENOBUFS` and `ENOMEM`. Nil for any other error (a
    /// connection that failed on its own).
    static func shortage(_ error: SocketError) -> String? {
        if error.kind == .tooManyOpenFiles { return "file descriptors" }
        if error.errno == ENOBUFS || error.errno == ENOMEM { return "kernel memory" }
        return nil
    }

    /// Stops accepting for the current delay and doubles it for next time. Returns whether this
    /// failure should be reported: the first of a streak, then at most one a second.
    mutating func pause() -> Bool {
        let now = Deadline.now()
        pausedUntil = now.advanced(by: delay)
        delay = min(delay * 2, .seconds(1))
        if let reportedAt, now.duration(since: reportedAt) < .seconds(1) { return false }
        reportedAt = now
        return true
    }

    /// An accept succeeded: the streak is over; the next shortage starts with a short pause and
    /// is reported again.
    mutating func reset() {
        delay = .milliseconds(10)
        reportedAt = nil
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
