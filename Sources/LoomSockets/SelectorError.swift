/// The errors of a ``Selector``: Python's `KeyError`, `ValueError` and `OSError` of `selectors`,
/// as one typed error naming the operation and the descriptor.
///
/// Its description is one line, for example `register fd 7: already registered`.
public struct SelectorError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong.
    public enum Kind: Sendable, Equatable {
        /// The descriptor is registered already (Python's `KeyError` from `register`).
        case alreadyRegistered
        /// The socket or descriptor is not registered (Python's `KeyError`).
        case notRegistered
        /// Events empty or outside `read|write` (Python's `ValueError("Invalid events")`).
        case invalidEvents
        /// A negative descriptor or a closed socket (Python's `ValueError("Invalid file descriptor")`).
        case invalidDescriptor
        /// The selector was closed.
        case closed
        /// The kernel refused (`epoll_ctl`, `epoll_wait`); ``SelectorError/underlying`` has errno.
        case system
    }

    /// The category.
    public let kind: Kind
    /// `register`, `modify`, `unregister`, `select`, `key`.
    public let operation: String
    /// The descriptor involved, or -1.
    public let fileDescriptor: Int32
    /// The kernel's error for ``Kind/system``.
    public let underlying: SocketError?

    @usableFromInline
    init(_ kind: Kind, _ operation: String, fileDescriptor: Int32 = -1, underlying: SocketError? = nil) {
        self.kind = kind
        self.operation = operation
        self.fileDescriptor = fileDescriptor
        self.underlying = underlying
    }

    /// One line: the operation, the descriptor if any, and what went wrong.
    public var description: String {
        let head = fileDescriptor >= 0 ? "\(operation) fd \(fileDescriptor)" : operation
        switch kind {
        case .alreadyRegistered: return "\(head): already registered"
        case .notRegistered: return "\(head): not registered"
        case .invalidEvents: return "\(head): invalid events"
        case .invalidDescriptor: return "\(head): invalid file descriptor"
        case .closed: return "\(head): selector is closed"
        case .system: return underlying.map { "\(head): \($0)" } ?? "\(head): system error"
        }
    }
}
