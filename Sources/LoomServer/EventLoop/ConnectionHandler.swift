/// What a server makes for each connection: a protocol object, or an async function that gets
/// an ``AsyncConnection``.
enum ConnectionHandler: Sendable {
    case protocolFactory(@Sendable () -> any StreamProtocol)
    case async(@Sendable (AsyncConnection) async throws -> Void)
}

/// Placed in a transport after `connectionLost`, so the protocol and the transport (which hold
/// each other) are freed.
final class ClosedProtocol: StreamProtocol, Sendable {
    static let shared = ClosedProtocol()
}
