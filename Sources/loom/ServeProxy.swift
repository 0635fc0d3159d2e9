import ArgumentParser
import Logging
import Loom

/// `loom serve --proxy-protocol required|optional`: the connections come from a proxy (HAProxy's
/// `send-proxy` / `send-proxy-v2`) that announces each original client in a PROXY header.
enum ProxyProtocolOption: String, ExpressibleByArgument, CaseIterable {
    case required, optional

    /// The library's mode.
    var mode: ProxyProtocolMode {
        switch self {
        case .required: .required
        case .optional: .optional
        }
    }
}

/// The line `loom serve`'s message handlers (upper, reply) log for a connection that came with a
/// PROXY header: the original client as the proxy saw it, so that the log of a server behind a
/// load balancer names clients, not the balancer.
enum ProxiedConnectionLog {
    /// `connection from 127.0.0.1:54321 to 127.0.0.1:8080 (PROXY v2)`; nothing without a header.
    /// For an async handler: synchronous and never inlined, so that the header and addresses it
    /// reads live on the thread's stack, not in the handler task's frame, which every idle
    /// connection keeps (a few hundred bytes there pushed each task past its first 1 KB slab).
    @inline(never)
    static func log(_ connection: AsyncConnection, to logger: Logger) {
        log(connection.proxyHeader, client: connection.peerAddress, to: logger)
    }

    static func log(_ header: ProxyHeader?, client: SocketAddress?, to logger: Logger) {
        guard let header else { return }
        let version = header.version == .v1 ? "v1" : "v2"
        let command = header.command == .local ? " LOCAL" : ""
        let destination = header.destination.map { " to \($0)" } ?? ""
        logger.info("connection from \(client.map { "\($0)" } ?? "?")\(destination) (PROXY \(version)\(command))")
    }
}
