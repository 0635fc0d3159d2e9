import LoomSockets

/// `SocketAddress("…")` and `Socket.resolve` on peer- or user-supplied text.
@_spi(Fuzzing) public enum SocketAddressHarness {
    /// Parses the input as an address. Properties: it never crashes; an address it accepts
    /// prints (``SocketAddress/description``) as text that parses back to the same address; and
    /// for a numeric host, `getaddrinfo` (``Socket/resolve(host:port:type:)``) agrees with the
    /// parser. Names are never resolved (the harness calls `resolve` only for hosts `inet_pton`
    /// accepted, which `getaddrinfo` answers without the network).
    public static func run(_ data: [UInt8]) throws(FuzzFailure) {
        let text = String(decoding: data, as: UTF8.self)
        guard let address = try? SocketAddress(text) else { return }
        let printed = address.description
        let again = try? SocketAddress(printed)
        try fuzzCheck(again == address, "'\(text)' parsed as \(printed), which parses as \(again.map { "\($0)" } ?? "an error")")
        guard address.family != .unix else { return }
        let numeric = try? SocketAddress(host: address.host, port: address.port)
        try fuzzCheck(numeric == address, "'\(text)': host and port do not rebuild \(printed)")
        let resolved = (try? Socket.resolve(host: address.host, port: address.port)) ?? []
        try fuzzCheck(resolved.contains(address), "'\(text)': getaddrinfo gives \(resolved), not \(printed)")
    }
}
