#if canImport(Glibc)
import Glibc
#endif

/// Which direction(s) ``Socket/shutdown(_:)`` closes: Python's `SHUT_RD`, `SHUT_WR`, `SHUT_RDWR`.
public enum ShutdownMode: Sendable {
    /// No more receiving (`SHUT_RD`).
    case read
    /// No more sending: the peer reads end-of-file, and this side can still receive (`SHUT_WR`).
    case write
    /// Both (`SHUT_RDWR`).
    case both

    var rawValue: Int32 {
        switch self {
        case .read: Int32(SHUT_RD)
        case .write: Int32(SHUT_WR)
        case .both: Int32(SHUT_RDWR)
        }
    }
}
