import Logging
import LoomSockets

/// Python's `socketserver.TCPServer`: a TCP server, serial by default.
///
/// ```swift
/// let server = try TCPServer(host: "127.0.0.1", port: 9999, handler: MyTCPHandler.self)
/// try server.serveForever()
/// ```
/// Pass `concurrency: .threading` or `.pool(workers:)` for Python's mix-ins, or use
/// ``ThreadingTCPServer``. Port 0 binds a free port: read it from ``BaseServer/serverAddress``.
// @unchecked Sendable: adds no state to BaseServer's.
open class TCPServer: BaseServer, @unchecked Sendable {
    /// Binds `host` (a numeric address or a name; IPv4 is preferred when a name has both, as
    /// Python's `AF_INET` servers do) on `port` and listens.
    ///
    /// Throws ``ServerError/socket(_:)`` at once when the address is in use, cannot be resolved
    /// or is not permitted.
    public init(
        host: String = "127.0.0.1", port: Int, handler: BaseRequestHandler.Type,
        concurrency: Concurrency = .classDefault, configuration: ServerConfiguration = ServerConfiguration(),
        logger: Logger = BaseServer.defaultLogger
    ) throws(ServerError) {
        let address = try resolveServerAddress(host: host, port: port, type: .stream)
        try super.init(socket: BaseServer.unboundSocket(for: address, type: .stream), address: address, bound: false,
                       handlers: RequestHandlerMaker(type: handler), concurrency: concurrency,
                       configuration: configuration, logger: logger)
        try bindAndActivate()
    }

    /// Binds `host` (a numeric address or a name; IPv4 is preferred when a name has both, as
    /// Python's `AF_INET` servers do) on `port` and listens.
    ///
    /// Throws ``ServerError/socket(_:)`` at once when the address is in use, cannot be resolved
    /// or is not permitted. Unless `bindAndActivate` is false (Python's `bind_and_activate=False`):
    /// then the socket is created but not bound; set options on ``BaseServer/socket``, then call
    /// ``BaseServer/serverBind()`` and ``BaseServer/serverActivate()``.
    public init(
        host: String = "127.0.0.1", port: Int, handler: BaseRequestHandler.Type,
        concurrency: Concurrency = .classDefault, configuration: ServerConfiguration = ServerConfiguration(),
        logger: Logger = BaseServer.defaultLogger, bindAndActivate: Bool
    ) throws(ServerError) {
        let address = try resolveServerAddress(host: host, port: port, type: .stream)
        try super.init(socket: BaseServer.unboundSocket(for: address, type: .stream), address: address, bound: false,
                       handlers: RequestHandlerMaker(type: handler), concurrency: concurrency,
                       configuration: configuration, logger: logger)
        if bindAndActivate { try self.bindAndActivate() }
    }

    /// Binds `host` (a numeric address or a name; IPv4 is preferred when a name has both, as
    /// Python's `AF_INET` servers do) on `port` and listens.
    ///
    /// Throws ``ServerError/socket(_:)`` at once when the address is in use, cannot be resolved
    /// or is not permitted (unless `bindAndActivate` is false). Each request's handler is made by
    /// `handlerFactory` (see ``RequestHandlerFactory``).
    public init<Handler: BaseRequestHandler>(
        host: String = "127.0.0.1", port: Int,
        concurrency: Concurrency = .classDefault, configuration: ServerConfiguration = ServerConfiguration(),
        logger: Logger = BaseServer.defaultLogger, bindAndActivate: Bool = true,
        handlerFactory: @escaping RequestHandlerFactory<Handler>
    ) throws(ServerError) {
        let address = try resolveServerAddress(host: host, port: port, type: .stream)
        try super.init(socket: BaseServer.unboundSocket(for: address, type: .stream), address: address, bound: false,
                       handlers: RequestHandlerMaker(factory: handlerFactory), concurrency: concurrency,
                       configuration: configuration, logger: logger)
        if bindAndActivate { try self.bindAndActivate() }
    }

    /// Binds `address` (IPv4 or IPv6) and listens.
    public init(
        address: SocketAddress, handler: BaseRequestHandler.Type,
        concurrency: Concurrency = .classDefault, configuration: ServerConfiguration = ServerConfiguration(),
        logger: Logger = BaseServer.defaultLogger
    ) throws(ServerError) {
        try super.init(socket: BaseServer.unboundSocket(for: address, type: .stream), address: address, bound: false,
                       handlers: RequestHandlerMaker(type: handler), concurrency: concurrency,
                       configuration: configuration, logger: logger)
        try bindAndActivate()
    }

    /// Binds `address` (IPv4 or IPv6) and listens. With `bindAndActivate: false` (Python's
    /// `bind_and_activate=False`) the socket is created but not bound: set options on ``BaseServer/socket``,
    /// then call ``BaseServer/serverBind()`` and ``BaseServer/serverActivate()``.
    public init(
        address: SocketAddress, handler: BaseRequestHandler.Type,
        concurrency: Concurrency = .classDefault, configuration: ServerConfiguration = ServerConfiguration(),
        logger: Logger = BaseServer.defaultLogger, bindAndActivate: Bool
    ) throws(ServerError) {
        try super.init(socket: BaseServer.unboundSocket(for: address, type: .stream), address: address, bound: false,
                       handlers: RequestHandlerMaker(type: handler), concurrency: concurrency,
                       configuration: configuration, logger: logger)
        if bindAndActivate { try self.bindAndActivate() }
    }

    /// Binds `address` (IPv4 or IPv6) and listens (unless `bindAndActivate` is false); each request's handler
    /// is made by `handlerFactory` (see ``RequestHandlerFactory``).
    public init<Handler: BaseRequestHandler>(
        address: SocketAddress,
        concurrency: Concurrency = .classDefault, configuration: ServerConfiguration = ServerConfiguration(),
        logger: Logger = BaseServer.defaultLogger, bindAndActivate: Bool = true,
        handlerFactory: @escaping RequestHandlerFactory<Handler>
    ) throws(ServerError) {
        try super.init(socket: BaseServer.unboundSocket(for: address, type: .stream), address: address, bound: false,
                       handlers: RequestHandlerMaker(factory: handlerFactory), concurrency: concurrency,
                       configuration: configuration, logger: logger)
        if bindAndActivate { try self.bindAndActivate() }
    }
}

/// Resolves a server's host the way Python's `AF_INET` servers do, but allowing IPv6: the first
/// IPv4 address if there is one, otherwise the first address.
func resolveServerAddress(host: String, port: Int, type: SocketType) throws(ServerError) -> SocketAddress {
    do throws(SocketError) {
        if let numeric = try? SocketAddress(host: host, port: port) { return numeric }
        let addresses = try Socket.resolve(host: host, port: port, type: type)
        guard let address = addresses.first(where: { $0.family == .ipv4 }) ?? addresses.first else {
            throw SocketError("getaddrinfo \(host)", kind: .nameResolution, detail: "no address")
        }
        return address
    } catch {
        throw .socket(error)
    }
}
