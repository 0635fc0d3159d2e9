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
        concurrency: Concurrency = .serial, configuration: ServerConfiguration = ServerConfiguration(),
        logger: Logger = BaseServer.defaultLogger
    ) throws(ServerError) {
        let address = try resolveServerAddress(host: host, port: port, type: .datagram)
        try super.init(socket: BaseServer.boundSocket(address, type: .datagram, concurrency: concurrency, configuration: configuration),
                       handler: handler, concurrency: concurrency,
                       configuration: configuration, logger: logger)
    }

    /// Binds `address` (IPv4 or IPv6).
    public init(
        address: SocketAddress, handler: BaseRequestHandler.Type,
        concurrency: Concurrency = .serial, configuration: ServerConfiguration = ServerConfiguration(),
        logger: Logger = BaseServer.defaultLogger
    ) throws(ServerError) {
        try super.init(socket: BaseServer.boundSocket(address, type: .datagram, concurrency: concurrency, configuration: configuration),
                       handler: handler, concurrency: concurrency,
                       configuration: configuration, logger: logger)
    }
}
