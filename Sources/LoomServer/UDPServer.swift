import Logging
import LoomSockets

/// Python's `socketserver.UDPServer`: one request per datagram, serial by default.
///
/// The handler finds the datagram in ``BaseRequestHandler/packet`` and replies with
/// `request.sendTo(reply, to: clientAddress)`, or subclasses ``DatagramRequestHandler``.
/// Datagrams up to ``ServerConfiguration/maxPacketSize`` (64 KiB) arrive whole.
// @unchecked Sendable: adds no state to BaseServer's.
open class UDPServer: BaseServer, @unchecked Sendable {
    /// Binds `host` (numeric or a name, IPv4 preferred) on `port`.
    public init(
        host: String = "127.0.0.1", port: Int, handler: BaseRequestHandler.Type,
        concurrency: Concurrency = .classDefault, configuration: ServerConfiguration = ServerConfiguration(),
        logger: Logger = BaseServer.defaultLogger
    ) throws(ServerError) {
        let address = try resolveServerAddress(host: host, port: port, type: .datagram)
        try super.init(socket: BaseServer.unboundSocket(for: address, type: .datagram), address: address, bound: false,
                       handlers: RequestHandlerMaker(type: handler), concurrency: concurrency,
                       configuration: configuration, logger: logger)
        try bindAndActivate()
    }

    /// Binds `host` (numeric or a name, IPv4 preferred) on `port`. With `bindAndActivate: false` (Python's
    /// `bind_and_activate=False`) the socket is created but not bound: set options on ``BaseServer/socket``,
    /// then call ``BaseServer/serverBind()`` and ``BaseServer/serverActivate()``.
    public init(
        host: String = "127.0.0.1", port: Int, handler: BaseRequestHandler.Type,
        concurrency: Concurrency = .classDefault, configuration: ServerConfiguration = ServerConfiguration(),
        logger: Logger = BaseServer.defaultLogger, bindAndActivate: Bool
    ) throws(ServerError) {
        let address = try resolveServerAddress(host: host, port: port, type: .datagram)
        try super.init(socket: BaseServer.unboundSocket(for: address, type: .datagram), address: address, bound: false,
                       handlers: RequestHandlerMaker(type: handler), concurrency: concurrency,
                       configuration: configuration, logger: logger)
        if bindAndActivate { try self.bindAndActivate() }
    }

    /// Binds `host` (numeric or a name, IPv4 preferred) on `port` (unless `bindAndActivate` is false); each
    /// request's handler is made by `handlerFactory` (see ``RequestHandlerFactory``).
    public init<Handler: BaseRequestHandler>(
        host: String = "127.0.0.1", port: Int,
        concurrency: Concurrency = .classDefault, configuration: ServerConfiguration = ServerConfiguration(),
        logger: Logger = BaseServer.defaultLogger, bindAndActivate: Bool = true,
        handlerFactory: @escaping RequestHandlerFactory<Handler>
    ) throws(ServerError) {
        let address = try resolveServerAddress(host: host, port: port, type: .datagram)
        try super.init(socket: BaseServer.unboundSocket(for: address, type: .datagram), address: address, bound: false,
                       handlers: RequestHandlerMaker(factory: handlerFactory), concurrency: concurrency,
                       configuration: configuration, logger: logger)
        if bindAndActivate { try self.bindAndActivate() }
    }

    /// Binds `address` (IPv4 or IPv6).
    public init(
        address: SocketAddress, handler: BaseRequestHandler.Type,
        concurrency: Concurrency = .classDefault, configuration: ServerConfiguration = ServerConfiguration(),
        logger: Logger = BaseServer.defaultLogger
    ) throws(ServerError) {
        try super.init(socket: BaseServer.unboundSocket(for: address, type: .datagram), address: address, bound: false,
                       handlers: RequestHandlerMaker(type: handler), concurrency: concurrency,
                       configuration: configuration, logger: logger)
        try bindAndActivate()
    }

    /// Binds `address` (IPv4 or IPv6). With `bindAndActivate: false` (Python's `bind_and_activate=False`) the
    /// socket is created but not bound: set options on ``BaseServer/socket``, then call
    /// ``BaseServer/serverBind()`` and ``BaseServer/serverActivate()``.
    public init(
        address: SocketAddress, handler: BaseRequestHandler.Type,
        concurrency: Concurrency = .classDefault, configuration: ServerConfiguration = ServerConfiguration(),
        logger: Logger = BaseServer.defaultLogger, bindAndActivate: Bool
    ) throws(ServerError) {
        try super.init(socket: BaseServer.unboundSocket(for: address, type: .datagram), address: address, bound: false,
                       handlers: RequestHandlerMaker(type: handler), concurrency: concurrency,
                       configuration: configuration, logger: logger)
        if bindAndActivate { try self.bindAndActivate() }
    }

    /// Binds `address` (IPv4 or IPv6) (unless `bindAndActivate` is false); each request's handler is
    /// made by `handlerFactory` (see ``RequestHandlerFactory``).
    public init<Handler: BaseRequestHandler>(
        address: SocketAddress,
        concurrency: Concurrency = .classDefault, configuration: ServerConfiguration = ServerConfiguration(),
        logger: Logger = BaseServer.defaultLogger, bindAndActivate: Bool = true,
        handlerFactory: @escaping RequestHandlerFactory<Handler>
    ) throws(ServerError) {
        try super.init(socket: BaseServer.unboundSocket(for: address, type: .datagram), address: address, bound: false,
                       handlers: RequestHandlerMaker(factory: handlerFactory), concurrency: concurrency,
                       configuration: configuration, logger: logger)
        if bindAndActivate { try self.bindAndActivate() }
    }
}
