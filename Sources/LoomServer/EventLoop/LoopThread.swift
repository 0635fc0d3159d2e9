#if canImport(Glibc)
import Glibc
#endif
import CLoomShims
import LoomSockets

/// A joinable pthread for one event loop (the loops need nothing more than start and join).
struct LoopThread: @unchecked Sendable {  // pthread_t is a plain id; joined or detached exactly once by the group
    let id: pthread_t

    private final class Body: Sendable {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    /// Starts `body` on a new thread named `name` (shown by `top -H`, at most 15 bytes). Throws
    /// when the system refuses a thread (`EAGAIN`: thread or memory limits).
    init(name: String, _ run: @escaping @Sendable () -> Void) throws(SocketError) {
        var thread = pthread_t()
        let body = Body { _ = cloom_set_thread_name(String(name.utf8.prefix(15))!); run() }
        let box = Unmanaged.passRetained(body).toOpaque()
        let rc = pthread_create(&thread, nil, { raw in
            Unmanaged<Body>.fromOpaque(raw!).takeRetainedValue().run()
            return nil
        }, box)
        guard rc == 0 else {
            Unmanaged<Body>.fromOpaque(box).release()
            throw SocketError("pthread_create", errno: rc)
        }
        id = thread
    }

    func join() {
        pthread_join(id, nil)
    }

    /// For a thread nobody will join: its resources are freed when it returns.
    func detach() {
        pthread_detach(id)
    }
}
