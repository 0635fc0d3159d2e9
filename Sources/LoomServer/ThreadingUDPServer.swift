import Logging
import LoomSockets

/// Python's `socketserver.ThreadingUDPServer`: a ``UDPServer`` with a thread per datagram.
// @unchecked Sendable: adds no state to UDPServer's.
open class ThreadingUDPServer: UDPServer, @unchecked Sendable {
    /// Binds `host` on `port`; a thread per datagram.
    public override init(
        host: String = "127.0.0.1", port: Int, handler: BaseRequestHandler.Type,
        concurrency: Concurrency = .threading, configuration: ServerConfiguration = ServerConfiguration(),
        logger: Logger = BaseServer.defaultLogger
    ) throws(ServerError) {
        try super.init(host: host, port: port, handler: handler, concurrency: concurrency,
                       configuration: configuration, logger: logger)
    }

    /// Binds `host` on `port`; a thread per datagram. With `bindAndActivate: false` (Python's
    /// `bind_and_activate=False`) the socket is created but not bound: set options on
    /// ``BaseServer/socket``, then call ``BaseServer/serverBind()`` and ``BaseServer/serverActivate()``.
    public override init(
        host: String = "127.0.0.1", port: Int, handler: BaseRequestHandler.Type,
        concurrency: Concurrency = .threading, configuration: ServerConfiguration = ServerConfiguration(),
        logger: Logger = BaseServer.defaultLogger, bindAndActivate: Bool
    ) throws(ServerError) {
        try super.init(host: host, port: port, handler: handler, concurrency: concurrency,
                       configuration: configuration, logger: logger, bindAndActivate: bindAndActivate)
    }

    /// Binds `host` on `port` (unless `bindAndActivate` is false); a thread per datagram, whose
    /// handler `handlerFactory` makes (see ``RequestHandlerFactory``).
    public override init<Handler: BaseRequestHandler>(
        host: String = "127.0.0.1", port: Int,
        concurrency: Concurrency = .threading, configuration: ServerConfiguration = ServerConfiguration(),
        logger: Logger = BaseServer.defaultLogger, bindAndActivate: Bool = true,
        handlerFactory: @escaping RequestHandlerFactory<Handler>
    ) throws(ServerError) {
        try super.init(host: host, port: port, concurrency: concurrency, configuration: configuration,
                       logger: logger, bindAndActivate: bindAndActivate, handlerFactory: handlerFactory)
    }

    /// Binds `address`; a thread per datagram.
    public override init(
        address: SocketAddress, handler: BaseRequestHandler.Type,
        concurrency: Concurrency = .threading, configuration: ServerConfiguration = ServerConfiguration(),
        logger: Logger = BaseServer.defaultLogger
    ) throws(ServerError) {
        try super.init(address: address, handler: handler, concurrency: concurrency,
                       configuration: configuration, logger: logger)
    }

    /// Binds `address`; a thread per datagram. With `bindAndActivate: false` (Python's
    /// `bind_and_activate=False`) the socket is created but not bound: set options on
    /// ``BaseServer/socket``, then call ``BaseServer/serverBind()`` and ``BaseServer/serverActivate()``.
    public override init(
        address: SocketAddress, handler: BaseRequestHandler.Type,
        concurrency: Concurrency = .threading, configuration: ServerConfiguration = ServerConfiguration(),
        logger: Logger = BaseServer.defaultLogger, bindAndActivate: Bool
    ) throws(ServerError) {
        try super.init(address: address, handler: handler, concurrency: concurrency,
                       configuration: configuration, logger: logger, bindAndActivate: bindAndActivate)
    }

    /// Binds `address` (unless `bindAndActivate` is false); a thread per datagram, whose
    /// handler `handlerFactory` makes (see ``RequestHandlerFactory``).
    public override init<Handler: BaseRequestHandler>(
        address: SocketAddress,
        concurrency: Concurrency = .threading, configuration: ServerConfiguration = ServerConfiguration(),
        logger: Logger = BaseServer.defaultLogger, bindAndActivate: Bool = true,
        handlerFactory: @escaping RequestHandlerFactory<Handler>
    ) throws(ServerError) {
        try super.init(address: address, concurrency: concurrency, configuration: configuration,
                       logger: logger, bindAndActivate: bindAndActivate, handlerFactory: handlerFactory)
    }
}
