#if canImport(Glibc)
import Glibc
#endif
import LoomSockets

/// The one place where the server starts threads for handlers: detached pthreads, so a finished
/// thread leaves nothing behind (Python 3.7 kept a `Thread` object per request until close,
/// bpo-37193), with an optional small stack and a name visible in `top -H` and `/proc`.
enum HandlerThread {
    // Carries the closure and the name into the new thread.
    private final class Start {
        let name: String
        let body: @Sendable () -> Void
        init(name: String, body: @escaping @Sendable () -> Void) {
            self.name = name
            self.body = body
        }
    }

    /// Starts `body` on a new detached thread. Throws when the system refuses a thread (`EAGAIN`).
    static func spawn(name: String, stackSize: Int?, _ body: @escaping @Sendable () -> Void) throws(ServerError) {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        if let stackSize {
            let page = Int(sysconf(Int32(_SC_PAGESIZE)))
            pthread_attr_setstacksize(&attributes, (stackSize + page - 1) / page * page)
        }
        let start = Unmanaged.passRetained(Start(name: name, body: body)).toOpaque()
        var thread = pthread_t()
        let status = pthread_create(&thread, &attributes, { raw in
            let start = Unmanaged<Start>.fromOpaque(raw!).takeRetainedValue()
            // The kernel keeps 15 bytes of a thread's name.
            _ = pthread_setname_np(pthread_self(), String(start.name.utf8.prefix(15)) ?? "loom-handler")
            start.body()
            return nil
        }, start)
        if status != 0 {
            Unmanaged<Start>.fromOpaque(start).release()
            throw .socket(SocketError("pthread_create", errno: status))
        }
    }
}
