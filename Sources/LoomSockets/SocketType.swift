#if canImport(Glibc)
import Glibc
#endif

/// Stream (TCP, Unix stream) or datagram (UDP, Unix datagram): Python's `SOCK_STREAM` and
/// `SOCK_DGRAM`.
public enum SocketType: Sendable, Hashable {
    /// A reliable byte stream: TCP, or a Unix-domain stream socket.
    case stream
    /// Separate messages: UDP, or a Unix-domain datagram socket.
    case datagram

    var rawValue: Int32 {
        switch self {
        case .stream: Int32(SOCK_STREAM.rawValue)
        case .datagram: Int32(SOCK_DGRAM.rawValue)
        }
    }
}
