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
        concurrency: Concurrency = .classDefault, configuration: ServerConfiguration = ServerConfiguration(),
        logger: Logger = BaseServer.defaultLogger
    ) throws(ServerError) {
        let address: SocketAddress
        do throws(SocketError) { address = try SocketAddress(unixPath: path) } catch { throw .socket(error) }
        try super.init(socket: BaseServer.unboundSocket(for: address, type: .stream), address: address, bound: false,
                       handlers: RequestHandlerMaker(type: handler), concurrency: concurrency,
                       configuration: configuration, logger: logger)
        try bindAndActivate()
    }

    /// Binds `path` and listens. With `bindAndActivate: false` (Python's `bind_and_activate=False`) the
    /// socket is created but not bound: set options on ``BaseServer/socket``, then call
    /// ``BaseServer/serverBind()`` and ``BaseServer/serverActivate()``.
    public init(
        path: String, handler: BaseRequestHandler.Type,
        concurrency: Concurrency = .classDefault, configuration: ServerConfiguration = ServerConfiguration(),
        logger: Logger = BaseServer.defaultLogger, bindAndActivate: Bool
    ) throws(ServerError) {
        let address: SocketAddress
        do throws(SocketError) { address = try SocketAddress(unixPath: path) } catch { throw .socket(error) }
        try super.init(socket: BaseServer.unboundSocket(for: address, type: .stream), address: address, bound: false,
                       handlers: RequestHandlerMaker(type: handler), concurrency: concurrency,
                       configuration: configuration, logger: logger)
        if bindAndActivate { try self.bindAndActivate() }
    }

    /// Binds `path` and listens (unless `bindAndActivate` is false); each request's handler is
    /// made by `handlerFactory` (see ``RequestHandlerFactory``).
    public init<Handler: BaseRequestHandler>(
        path: String,
        concurrency: Concurrency = .classDefault, configuration: ServerConfiguration = ServerConfiguration(),
        logger: Logger = BaseServer.defaultLogger, bindAndActivate: Bool = true,
        handlerFactory: @escaping RequestHandlerFactory<Handler>
    ) throws(ServerError) {
        let address: SocketAddress
        do throws(SocketError) { address = try SocketAddress(unixPath: path) } catch { throw .socket(error) }
        try super.init(socket: BaseServer.unboundSocket(for: address, type: .stream), address: address, bound: false,
                       handlers: RequestHandlerMaker(factory: handlerFactory), concurrency: concurrency,
                       configuration: configuration, logger: logger)
        if bindAndActivate { try self.bindAndActivate() }
    }
}
