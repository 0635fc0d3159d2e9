import LoomThreading

/// The one place where the server starts threads for handlers: a Loom ``LoomThreading/Thread``
/// per request or per pool worker, so handlers see a real `Thread.current`, non-daemon handler
/// threads count for `Thread.waitForNonDaemonThreads()`, and a finished thread leaves nothing
/// behind in the server (Python 3.7 kept a `Thread` object per request until close, bpo-37193).
enum HandlerThread {
    /// Starts `body` on a new thread. Throws when the system refuses one (`EAGAIN`).
    static func spawn(
        name: String, daemon: Bool, stackSize: Int?, _ body: @escaping @Sendable () -> Void
    ) throws(ServerError) {
        let thread = Thread(name: name, daemon: daemon, stackSize: stackSize, target: body)
        do throws(ThreadingError) {
            try thread.start()
        } catch {
            throw .cannotStartThread(error)
        }
    }
}
