import LoomServer
import LoomSockets
import LoomThreading
import Synchronization

/// The chat room on Loom's `EventLoopServer` with `StreamProtocol` handlers (`ChatConnection`),
/// Python's asyncio way: callbacks on one event loop, non-blocking writes, no locks.
///
/// **One loop.** A `Transport` may only be used on its own loop's thread, and a broadcast writes
/// to every member's transport, so the whole room runs on a single loop (`loops: 1`, as asyncio
/// runs one), and its order of events is simply the order the loop handles reads.
///
/// **Getting onto the loop from outside.** ``shutdown(gracePeriod:)`` runs on another thread (the
/// signal thread) and must tell every member `{"event":"shutdown"}` through their transports: it
/// hands that to the loop with `EventLoop.execute` (asyncio's `call_soon_threadsafe`) and waits
/// for it before the `EventLoopServer` is shut down.
public final class EventLoopChatServer: ChatServer {
    private let server: EventLoopServer
    private let hub: LoopRoom
    private let started = Atomic<Bool>(false)

    /// How long shutdown waits for the loop to tell the members.
    static let shutdownTimeout = Duration.seconds(5)

    /// Binds and listens; ``serveForever()`` runs it.
    public init(configuration: ChatServerConfiguration) throws(ServerError) {
        let hub = LoopRoom(maxQueue: configuration.maxQueue)
        self.hub = hub
        do throws(SocketError) {
            server = try EventLoopServer(configuration: .init(host: configuration.host, port: configuration.port, loops: 1)) {
                ChatConnection(hub: hub)
            }
        } catch {
            throw .socket(error)
        }
    }

    /// The bound address.
    public var serverAddress: SocketAddress { server.serverAddress }

    /// Runs the loop until ``shutdown(gracePeriod:)``.
    public func serveForever() throws(ServerError) {
        started.store(true, ordering: .releasing)
        server.serveForever()
    }

    /// Tells every member `{"event":"shutdown"}` (on the loop, waiting at most 5 s for it), then
    /// shuts the event loop server down.
    public func shutdown(gracePeriod: Duration) {
        if started.load(ordering: .acquiring) { shutDownRoom() }
        server.shutdown(gracePeriod: gracePeriod)
    }

    private func shutDownRoom() {
        let told = Event()
        let queued = server.eventLoops[0].execute { [hub] in
            hub.room.shutdown()
            hub.flush()
            told.set()
        }
        if queued { _ = told.wait(timeout: Self.shutdownTimeout) }
    }
}
