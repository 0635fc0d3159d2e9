import COpenSSL

/// Python's `ssl.TLSVersion`: the protocol versions a context may negotiate.
public enum TLSVersion: Sendable, Equatable, CustomStringConvertible {
    /// The lowest version the library allows (OpenSSL's security level still applies).
    case minimumSupported
    /// TLS 1.2.
    case tlsv1_2
    /// TLS 1.3.
    case tlsv1_3
    /// The highest version the library supports.
    case maximumSupported

    /// OpenSSL's constant; 0 means "no bound" for the min/max setters.
    var openSSLValue: Int32 {
        switch self {
        case .minimumSupported, .maximumSupported: 0
        case .tlsv1_2: TLS1_2_VERSION
        case .tlsv1_3: TLS1_3_VERSION
        }
    }

    /// `TLSv1.2`, as Python's `SSLSocket.version()` spells it.
    public var description: String {
        switch self {
        case .minimumSupported: "MINIMUM_SUPPORTED"
        case .tlsv1_2: "TLSv1.2"
        case .tlsv1_3: "TLSv1.3"
        case .maximumSupported: "MAXIMUM_SUPPORTED"
        }
    }
}

/// Python's `ssl.CERT_NONE`, `CERT_OPTIONAL`, `CERT_REQUIRED`: whether the peer's certificate
/// is asked for and verified.
public enum VerifyMode: Sendable, Equatable {
    /// No certificate is asked for (server) or verified (client: insecure).
    case none
    /// A server asks for a client certificate and verifies it if one is sent.
    case optional
    /// The peer must present a certificate that verifies (mutual TLS on a server).
    case required
}

/// Python's `ssl.Purpose`: what `create_default_context` prepares a context for.
public enum TLSPurpose: Sendable, Equatable {
    /// A client context that authenticates servers (`Purpose.SERVER_AUTH`): certificates and
    /// host names verified against the system's roots.
    case serverAuth
    /// A server context (`Purpose.CLIENT_AUTH`): no client certificate is asked for until
    /// ``TLSContext/verifyMode`` says so.
    case clientAuth
}
