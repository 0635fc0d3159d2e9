import Logging
import LoomSockets

/// Python's `socketserver.UnixStreamServer`: a stream server on a Unix-domain socket path.
///
/// Binding fails with "address in use" when `path` exists, as in Python; unlike Python,
/// ``BaseServer/serverClose()`` removes the path, so the server can start again.
// @unchecked Sendable: adds no state to BaseServer's.
open class UnixStreamServer: BaseServer, @unchecked Sendable {
    /// Binds `path` and listens.
    public init(
        path: String, handler: BaseRequestHandler.Type,
        concurrency: Concurrency = .serial, configuration: ServerConfiguration = ServerConfiguration(),
        logger: Logger = BaseServer.defaultLogger
    ) throws(ServerError) {
        let address: SocketAddress
        do throws(SocketError) { address = try SocketAddress(unixPath: path) } catch { throw .socket(error) }
        try super.init(socket: BaseServer.boundSocket(address, type: .stream, concurrency: concurrency, configuration: configuration),
                       handler: handler, concurrency: concurrency,
                       configuration: configuration, logger: logger)
    }
}
