/// Whether a server insists on a PROXY protocol header.
public enum ProxyProtocolMode: Sendable, Hashable {
    /// Every connection must start with a PROXY header (v1 or v2); any other is refused. The
    /// only safe choice when the port is reachable by the proxy alone.
    case required
    /// A connection may start with a PROXY header or be plain. Anybody who can reach the port
    /// can then claim any client address: use it only while migrating.
    case optional
}
