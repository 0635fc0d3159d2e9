/// What a ``Selector`` watches a descriptor for: Python's `EVENT_READ` and `EVENT_WRITE`.
///
/// ```swift
/// try selector.register(socket, events: [.read, .write], data: "client")
/// ```
public struct SelectorEvents: OptionSet, Sendable, Hashable, CustomStringConvertible {
    /// Python's bits: `1` for ``read``, `2` for ``write``.
    public let rawValue: UInt8

    /// Creates a set from Python's bit values (`1` read, `2` write). Other bits make
    /// ``Selector/register(_:events:data:)`` throw ``SelectorError/Kind/invalidEvents``.
    @inlinable
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Python's `EVENT_READ`: readable, or the peer hung up, or an error is pending.
    @inlinable public static var read: SelectorEvents { SelectorEvents(rawValue: 1) }
    /// Python's `EVENT_WRITE`: writable, or an error is pending.
    @inlinable public static var write: SelectorEvents { SelectorEvents(rawValue: 2) }

    /// True when the set is non-empty and holds only `read` and `write`.
    @inlinable
    public var isValid: Bool { rawValue != 0 && rawValue & ~3 == 0 }

    /// `read`, `write`, `read|write`, or `events(n)` for an invalid set.
    public var description: String {
        switch rawValue {
        case 1: "read"
        case 2: "write"
        case 3: "read|write"
        default: "events(\(rawValue))"
        }
    }
}
