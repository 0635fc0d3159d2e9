/// The PROXY header's command.
public enum ProxyCommand: Sendable, Hashable {
    /// A relayed connection: the addresses are the original client's.
    case proxy
    /// The proxy's own connection (a health check): use the real endpoints.
    case local
}
