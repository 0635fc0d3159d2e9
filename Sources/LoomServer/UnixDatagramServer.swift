import Logging
import LoomSockets

/// Python's `socketserver.UnixDatagramServer`: a datagram server on a Unix-domain socket path.
///
/// A client that wants a reply must bind a path of its own (an unbound client has no address
/// to reply to; ``DatagramRequestHandler`` then sends nothing). ``BaseServer/serverClose()``
/// removes the server's path.
// @unchecked Sendable: adds no state to BaseServer's.
open class UnixDatagramServer: BaseServer, @unchecked Sendable {
    /// Binds `path`.
    public init(
        path: String, handler: BaseRequestHandler.Type,
        concurrency: Concurrency = .serial, configuration: ServerConfiguration = ServerConfiguration(),
        logger: Logger = BaseServer.defaultLogger
    ) throws(ServerError) {
        let address: SocketAddress
        do throws(SocketError) { address = try SocketAddress(unixPath: path) } catch { throw .socket(error) }
        try super.init(socket: BaseServer.boundSocket(address, type: .datagram, concurrency: concurrency, configuration: configuration),
                       handler: handler, concurrency: concurrency,
                       configuration: configuration, logger: logger)
    }
}
