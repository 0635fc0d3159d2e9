import CLoomShims
import Glibc

/// Why a thread could not start.
package enum ThreadStartError: Error, Sendable, Equatable {
    /// `pthread_attr_setstacksize` refused the size (below the minimum, or not page-aligned).
    case invalidStackSize(Int)
    /// `pthread_create` failed with this errno (`EAGAIN`: thread or memory limits).
    case cannotStart(errno: Int32)
}

/// Loom's one way to start a POSIX thread: `Thread`, the event loops and the command line's
/// signal thread all start theirs here.
package enum ThreadStart {
    /// The signals Loom's threads block: the process-directed ones (`SIGINT`, `SIGTERM`, `SIGHUP`,
    /// `SIGQUIT`) are left to the main thread, as Python delivers signals to its main thread only
    /// (and a `sigwait` thread can only collect a signal every other thread blocks); `SIGPIPE`
    /// cannot kill the process from a Loom thread (a write to a closed pipe returns `EPIPE`).
    /// Thread-directed spare signals (`SIGUSR1`, `SIGUSR2`, real-time) stay open, so a test can
    /// still interrupt a blocked call with `pthread_kill`.
    package static var blockedSignals: sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE] { sigaddset(&set, signal) }
        return set
    }

    private final class Start {
        let name: String?
        let body: () -> Void
        init(name: String?, body: @escaping () -> Void) {
            self.name = name
            self.body = body
        }
    }

    /// Starts `body` on a new joinable thread named `name` (at most 15 bytes are shown by `top -H`)
    /// with a stack of `stackSize` bytes (nil: the system's default) and ``blockedSignals`` blocked.
    /// The caller joins or detaches the returned thread exactly once.
    package static func spawn(
        name: String?, stackSize: Int? = nil, _ body: @escaping () -> Void
    ) throws(ThreadStartError) -> pthread_t {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        if let stackSize, stackSize > 0, pthread_attr_setstacksize(&attributes, stackSize) != 0 {
            throw .invalidStackSize(stackSize)
        }
        // The new thread inherits the creator's mask: block, create, restore, so it starts blocked
        // with no window in which a signal could reach it.
        var blocked = blockedSignals
        var previous = sigset_t()
        pthread_sigmask(SIG_BLOCK, &blocked, &previous)
        defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
        let context = Unmanaged.passRetained(Start(name: name, body: body)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, &attributes, { context in
            let start = Unmanaged<Start>.fromOpaque(context!).takeRetainedValue()
            if let name = start.name { _ = cloom_set_thread_name(String(name.utf8.prefix(15)) ?? "loom") }
            start.body()
            return nil
        }, context)
        if result != 0 {
            Unmanaged<Start>.fromOpaque(context).release()
            throw .cannotStart(errno: result)
        }
        return thread
    }
}
