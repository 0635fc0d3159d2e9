import LoomServer
import LoomSockets

/// A running chat room on TCP, whichever engine serves it: ``ThreadingChatServer`` or
/// ``EventLoopChatServer``. Both speak exactly the same protocol (see ``ClientMessage`` and
/// ``ServerMessage``).
public protocol ChatServer: AnyObject, Sendable {
    /// The bound address, with the real port when the configuration asked for port 0.
    var serverAddress: SocketAddress { get }

    /// Serves until ``shutdown(gracePeriod:)`` is called from another thread.
    func serveForever() throws(ServerError)

    /// Tells every member `{"event":"shutdown"}`, closes them once their queues are sent, stops
    /// accepting, and returns when the server has stopped: connections still open after
    /// `gracePeriod` are closed. Call it from another thread than the one in ``serveForever()``.
    func shutdown(gracePeriod: Duration)
}

/// Which engine serves the room.
public enum ChatMode: String, Sendable, CaseIterable {
    /// The course's way: a thread per client reading, a bounded `Queue` per client drained by
    /// its writer thread, a `Lock`-protected member table (``ThreadingChatServer``).
    case threading
    /// One event loop with `StreamProtocol` handlers, as Python's asyncio (``EventLoopChatServer``).
    case eventloop

    /// Creates (binds) a server of this mode; call ``ChatServer/serveForever()`` to run it.
    public func makeServer(_ configuration: ChatServerConfiguration) throws(ServerError) -> any ChatServer {
        switch self {
        case .threading: try ThreadingChatServer(configuration: configuration)
        case .eventloop: try EventLoopChatServer(configuration: configuration)
        }
    }
}

/// Where a chat server listens and how patient it is with slow members.
public struct ChatServerConfiguration: Sendable {
    /// Address to bind (loopback unless told otherwise).
    public var host: String
    /// Port to bind; 0 picks a free one (see ``ChatServer/serverAddress``).
    public var port: Int
    /// A member whose outgoing queue would exceed this many messages is disconnected, and the
    /// room gets its leave event with `"reason":"too slow"`. In threading mode the queue is the
    /// member's `Queue(maxsize:)`; in event-loop mode it is the lines held back while the
    /// connection's transport has paused writing (its 64 KiB buffer is full). Either way the
    /// kernel's socket buffers come on top.
    public var maxQueue: Int

    /// A configuration; throws `ServerError.invalidConfiguration` when `maxQueue < 1`
    /// or the port is out of range.
    public init(host: String = "127.0.0.1", port: Int = 9998, maxQueue: Int = ChatLimits.defaultMaxQueue) throws(ServerError) {
        guard maxQueue >= 1 else { throw .invalidConfiguration("maxQueue must be at least 1, not \(maxQueue)") }
        guard (0...65535).contains(port) else { throw .invalidConfiguration("port must be 0-65535, not \(port)") }
        self.host = host
        self.port = port
        self.maxQueue = maxQueue
    }
}
