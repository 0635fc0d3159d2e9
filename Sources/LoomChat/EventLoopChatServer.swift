import LoomServer
import LoomSockets
import Synchronization

/// The chat room on Loom's `EventLoopServer` with `StreamProtocol` handlers (`ChatConnection`),
/// Python's asyncio way: callbacks on one event loop, non-blocking writes, no locks.
///
/// **One loop.** A `Transport` may only be used on its own loop's thread, and a broadcast writes
/// to every member's transport, so the whole room runs on a single loop (`loops: 1`, as asyncio
/// runs one), and its order of events is simply the order the loop handles reads.
///
/// **Getting onto the loop from outside.** `EventLoopServer` has no public way to run code on a
/// loop from another thread, and ``shutdown(gracePeriod:)`` (called from a signal thread) must
/// tell every member `{"event":"shutdown"}` through their transports. So it does what any client
/// can: it connects to the server itself and sends a random 128-bit token as its first line.
/// The connection carrying that token runs the room's shutdown on the loop, answers `ok` and
/// closes; only then is the `EventLoopServer` shut down. (The same trick could hop between
/// loops, a connection per loop; it is not needed with one.)
public final class EventLoopChatServer: ChatServer {
    private let server: EventLoopServer
    private let controlToken: [UInt8]
    private let started = Atomic<Bool>(false)

    /// How long shutdown waits for the loop to acknowledge the room's shutdown.
    static let controlTimeout = Duration.seconds(5)

    /// Binds and listens; ``serveForever()`` runs it.
    public init(configuration: ChatServerConfiguration) throws(ServerError) {
        var random = SystemRandomNumberGenerator()
        let token = "control-" + (0..<2).map { _ in String(random.next() as UInt64, radix: 16) }.joined(separator: "-")
        controlToken = Array(token.utf8)
        let hub = LoopRoom(maxQueue: configuration.maxQueue, controlToken: controlToken)
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

    /// Tells every member `{"event":"shutdown"}` (through the control connection described
    /// above, bounded by a 5 s timeout), then shuts the event loop server down.
    public func shutdown(gracePeriod: Duration) {
        if started.load(ordering: .acquiring) { shutDownRoom() }
        server.shutdown(gracePeriod: gracePeriod)
    }

    private func shutDownRoom() {
        let address = serverAddress
        // A server bound to the wildcard address is reached through loopback.
        let host = switch address.host {
        case "0.0.0.0", "": "127.0.0.1"
        case "::": "::1"
        default: address.host
        }
        guard let control = try? Socket.createConnection(host: host, port: address.port, timeout: Self.controlTimeout) else { return }
        defer { control.close() }
        do throws(SocketError) {
            try control.sendAll(controlToken + [0x0A])
            // "ok" or end of file: either way the loop has run the room's shutdown.
            _ = try control.recv(maxBytes: 16)
        } catch {
            return
        }
    }
}
