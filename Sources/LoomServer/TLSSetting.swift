import LoomTLS

/// ``ServerConfiguration/tls``, kept Hashable: a ``TLSContext`` is a reference to OpenSSL state
/// with no value of its own, so two configurations are equal when they hold the same context.
///
/// The handshake of each connection is bounded by ``ServerConfiguration/idleTimeout``, or by
/// ``defaultHandshakeTimeout`` (10 s) when that is nil, so that a client that stops in the middle
/// of its handshake never holds a thread or a connection slot for ever.
struct TLSSetting: Hashable, Sendable {
    /// How long a handshake may take when the configuration has no idle timeout.
    static let defaultHandshakeTimeout: Duration = .seconds(10)

    let context: TLSContext?

    init(_ context: TLSContext?) { self.context = context }

    static func == (lhs: TLSSetting, rhs: TLSSetting) -> Bool { lhs.context === rhs.context }

    func hash(into hasher: inout Hasher) {
        hasher.combine(context.map(ObjectIdentifier.init))
    }

    /// A client context would make every handshake fail: say so when the server is made.
    func validate() throws(ServerError) {
        if let context, context.purpose != .clientAuth {
            throw .invalidConfiguration("tls needs a server-side context, TLSContext(purpose: .clientAuth)")
        }
    }

    /// The handshake's bound for a server whose idle timeout is `idleTimeout`.
    static func handshakeTimeout(idleTimeout: Duration?) -> Duration {
        idleTimeout ?? defaultHandshakeTimeout
    }
}
