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
        concurrency: Concurrency = .classDefault, configuration: ServerConfiguration = ServerConfiguration(),
        logger: Logger = BaseServer.defaultLogger
    ) throws(ServerError) {
        let address: SocketAddress
        do throws(SocketError) { address = try SocketAddress(unixPath: path) } catch { throw .socket(error) }
        try super.init(socket: BaseServer.unboundSocket(for: address, type: .datagram), address: address, bound: false,
                       handlers: RequestHandlerMaker(type: handler), concurrency: concurrency,
                       configuration: configuration, logger: logger)
        try bindAndActivate()
    }

    /// Binds `path`. With `bindAndActivate: false` (Python's `bind_and_activate=False`) the
    /// socket is created but not bound: set options on ``BaseServer/socket``, then call
    /// ``BaseServer/serverBind()`` and ``BaseServer/serverActivate()``.
    public init(
        path: String, handler: BaseRequestHandler.Type,
        concurrency: Concurrency = .classDefault, configuration: ServerConfiguration = ServerConfiguration(),
        logger: Logger = BaseServer.defaultLogger, bindAndActivate: Bool
    ) throws(ServerError) {
        let address: SocketAddress
        do throws(SocketError) { address = try SocketAddress(unixPath: path) } catch { throw .socket(error) }
        try super.init(socket: BaseServer.unboundSocket(for: address, type: .datagram), address: address, bound: false,
                       handlers: RequestHandlerMaker(type: handler), concurrency: concurrency,
                       configuration: configuration, logger: logger)
        if bindAndActivate { try self.bindAndActivate() }
    }

    /// Binds `path` (unless `bindAndActivate` is false); each request's handler is
    /// made by `handlerFactory` (see ``RequestHandlerFactory``).
    public init<Handler: BaseRequestHandler>(
        path: String,
        concurrency: Concurrency = .classDefault, configuration: ServerConfiguration = ServerConfiguration(),
        logger: Logger = BaseServer.defaultLogger, bindAndActivate: Bool = true,
        handlerFactory: @escaping RequestHandlerFactory<Handler>
    ) throws(ServerError) {
        let address: SocketAddress
        do throws(SocketError) { address = try SocketAddress(unixPath: path) } catch { throw .socket(error) }
        try super.init(socket: BaseServer.unboundSocket(for: address, type: .datagram), address: address, bound: false,
                       handlers: RequestHandlerMaker(factory: handlerFactory), concurrency: concurrency,
                       configuration: configuration, logger: logger)
        if bindAndActivate { try self.bindAndActivate() }
    }
}
