import Logging
import LoomSockets

/// Python's `socketserver.ThreadingTCPServer`: a ``TCPServer`` that runs each connection on its
/// own thread. The course's server:
///
/// ```swift
/// let server = try ThreadingTCPServer(host: "localhost", port: 9999, handler: MyTCPHandler.self)
/// try server.serveForever()
/// ```
///
/// `concurrency: .threading(daemonThreads: true)` is Python's `daemon_threads = True`;
/// `.threading(blockOnClose: false)` is `block_on_close = False`.
// @unchecked Sendable: adds no state to TCPServer's.
open class ThreadingTCPServer: TCPServer, @unchecked Sendable {
    /// Binds `host` on `port` and listens; a thread per connection.
    public override init(
        host: String = "127.0.0.1", port: Int, handler: BaseRequestHandler.Type,
        concurrency: Concurrency = .threading, configuration: ServerConfiguration = ServerConfiguration(),
        logger: Logger = BaseServer.defaultLogger
    ) throws(ServerError) {
        try super.init(host: host, port: port, handler: handler, concurrency: concurrency,
                       configuration: configuration, logger: logger)
    }

    /// Binds `host` on `port` and listens; a thread per connection. With `bindAndActivate: false` (Python's
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

    /// Binds `host` on `port` and listens (unless `bindAndActivate` is false); a thread per connection, whose
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

    /// Binds `address` and listens; a thread per connection.
    public override init(
        address: SocketAddress, handler: BaseRequestHandler.Type,
        concurrency: Concurrency = .threading, configuration: ServerConfiguration = ServerConfiguration(),
        logger: Logger = BaseServer.defaultLogger
    ) throws(ServerError) {
        try super.init(address: address, handler: handler, concurrency: concurrency,
                       configuration: configuration, logger: logger)
    }

    /// Binds `address` and listens; a thread per connection. With `bindAndActivate: false` (Python's
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

    /// Binds `address` and listens (unless `bindAndActivate` is false); a thread per connection, whose
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
