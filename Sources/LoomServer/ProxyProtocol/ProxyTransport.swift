/// The transport the proxy received the connection over.
public enum ProxyTransport: Sendable, Hashable {
    /// TCP or a Unix stream.
    case stream
    /// UDP or a Unix datagram.
    case datagram
    /// Not said (v1 `UNKNOWN`, v2 LOCAL or unspecified).
    case unspecified
}
