#if canImport(Glibc)
import Glibc
#endif

/// The one error type of the socket layer: the failing operation, the address where there is one,
/// and the `errno` the kernel returned.
///
/// Match the common cases through ``kind``:
/// ```swift
/// do { try socket.connect(to: address) }
/// catch let error as SocketError where error.kind == .connectionRefused { … }
/// ```
/// Its description is one line, for example `connect to 127.0.0.1:9999: connection refused`.
public struct SocketError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The errors users handle, named; everything else is ``Kind/other``.
    public enum Kind: Sendable, Equatable {
        /// Nothing listens at the address (`ECONNREFUSED`; Python's `ConnectionRefusedError`).
        case connectionRefused
        /// The peer reset the connection (`ECONNRESET`; Python's `ConnectionResetError`).
        case connectionReset
        /// The connection was aborted before it was accepted (`ECONNABORTED`).
        case connectionAborted
        /// Sending to a peer that has closed (`EPIPE`; Python's `BrokenPipeError`).
        case brokenPipe
        /// A positive timeout passed before the operation could complete.
        case timedOut
        /// A non-blocking socket (timeout `.zero`) could not complete the operation at once.
        case wouldBlock
        /// The address is taken (`EADDRINUSE`).
        case addressInUse
        /// The address is not local to this machine (`EADDRNOTAVAIL`).
        case addressNotAvailable
        /// `EACCES` or `EPERM`, for example binding a port below 1024.
        case permissionDenied
        /// `ENETUNREACH`, `ENETDOWN`.
        case networkUnreachable
        /// `EHOSTUNREACH`, `EHOSTDOWN`.
        case hostUnreachable
        /// The socket is not connected (`ENOTCONN`).
        case notConnected
        /// The socket was closed (by this process) before or during the call.
        case closed
        /// The peer closed the stream before the data a call needs had arrived
        /// (``BufferedReader/read(exactly:)``). A plain ``Socket/recv(maxBytes:)`` reports
        /// end-of-file as an empty result instead, as in Python.
        case endOfFile
        /// Name resolution (`getaddrinfo`) failed.
        case nameResolution
        /// The process or system ran out of descriptors (`EMFILE`, `ENFILE`).
        case tooManyOpenFiles
        /// `EINVAL`, or input Loom rejects before calling the kernel (a bad port or path).
        case invalidArgument
        /// Any other errno: see ``SocketError/errno``.
        case other
    }

    /// The failing operation, as a user would name it: `connect`, `recv`, `bind`, `accept`…
    public let operation: String
    /// The address involved, where there is one.
    public var address: SocketAddress? { addressBox?.address }
    /// Boxed: a `SocketAddress` is 136 bytes, and every `try await` of a `throws(SocketError)`
    /// call keeps room for one error in the caller's async frame, which a suspended task holds
    /// (ten thousand idle `AsyncConnection` handlers paid 176 bytes a call site; now 48).
    private let addressBox: AddressBox?
    /// The `errno` value (for ``Kind/nameResolution`` the `getaddrinfo` code; for a timeout `ETIMEDOUT`).
    public let errno: Int32
    /// The named category of ``errno``.
    public let kind: Kind
    /// Extra text for errors that errno cannot describe (name resolution, invalid input).
    public let detail: String?

    /// Creates an error from an `errno` value.
    public init(_ operation: String, errno: Int32, address: SocketAddress? = nil) {
        self.operation = operation
        self.errno = errno
        self.addressBox = address.map(AddressBox.init)
        self.kind = Kind(errno: errno)
        self.detail = nil
    }

    /// Creates an error of a given kind with a description of its own.
    public init(_ operation: String, kind: Kind, errno: Int32 = 0, address: SocketAddress? = nil, detail: String) {
        self.operation = operation
        self.errno = errno
        self.addressBox = address.map(AddressBox.init)
        self.kind = kind
        self.detail = detail
    }

    static func timedOut(_ operation: String, address: SocketAddress? = nil) -> SocketError {
        SocketError(operation, kind: .timedOut, errno: ETIMEDOUT, address: address, detail: "timed out")
    }

    /// One line: the operation, the address where there is one, and the reason, for example
    /// `connect to 127.0.0.1:9999: connection refused`.
    public var description: String {
        var head = operation
        if let address {
            head += (operation == "bind" || operation == "connect" || operation == "sendto") ? " to \(address)" : " \(address)"
        }
        let reason: String
        if let detail {
            reason = detail
        } else {
            reason = String(cString: strerror(errno)).lowercased()
        }
        return "\(head): \(reason)"
    }
}

extension SocketError {
    /// Equal when every public field is (the box's identity does not matter).
    public static func == (lhs: SocketError, rhs: SocketError) -> Bool {
        lhs.operation == rhs.operation && lhs.errno == rhs.errno && lhs.kind == rhs.kind
            && lhs.detail == rhs.detail && lhs.address == rhs.address
    }
}

/// An immutable heap copy of a ``SocketError``'s address.
private final class AddressBox: Sendable {
    let address: SocketAddress
    init(_ address: SocketAddress) { self.address = address }
}

extension SocketError.Kind {
    init(errno: Int32) {
        switch errno {
        case ECONNREFUSED: self = .connectionRefused
        case ECONNRESET: self = .connectionReset
        case ECONNABORTED: self = .connectionAborted
        case EPIPE: self = .brokenPipe
        case ETIMEDOUT: self = .timedOut
        case EAGAIN, EINPROGRESS, EALREADY: self = .wouldBlock
        case EADDRINUSE: self = .addressInUse
        case EADDRNOTAVAIL: self = .addressNotAvailable
        case EACCES, EPERM: self = .permissionDenied
        case ENETUNREACH, ENETDOWN: self = .networkUnreachable
        case EHOSTUNREACH, EHOSTDOWN: self = .hostUnreachable
        case ENOTCONN: self = .notConnected
        case EBADF: self = .closed
        case EMFILE, ENFILE: self = .tooManyOpenFiles
        case EINVAL: self = .invalidArgument
        default: self = .other
        }
    }
}
