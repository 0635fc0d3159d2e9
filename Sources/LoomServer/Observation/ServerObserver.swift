/// What a server tells an observer about its connections: the seam for metrics (the `LoomMetrics`
/// product implements it with swift-metrics), kept free of any metrics library so that a server
/// without one pays a single nil check per connection event and nothing per byte.
///
/// Set it with ``ServerConfiguration/observer``; both server families call it:
/// - ``connectionAccepted()`` when a connection enters the server (a threaded server: after
///   ``BaseServer/verifyRequest(_:clientAddress:)`` let it in; an event loop: once it is watched),
/// - ``connectionClosed(_:)`` exactly once for each of them, when its handler is done,
/// - ``handlerFailed(_:)`` when the handler threw (a threaded server: what
///   ``BaseServer/finishRequest(_:clientAddress:)`` threw; an event loop: a ``StreamProtocol``
///   callback or an async handler that threw),
/// - ``connectionLimitReached()`` when ``ServerConfiguration/maxConnections`` connections are
///   inside and the server stops accepting. Neither family refuses a connection then: new clients
///   wait in the listen backlog until one leaves. It is called once each time the server fills up.
///
/// Calls come from the servers' threads (the serving thread, handler threads, event loops) at
/// the same time: an observer must be thread-safe and quick, since it runs on the request path.
/// Datagram servers have no connections and tell it nothing.
///
/// ```swift
/// final class Tally: ServerObserver {
///     let closed = Atomic<Int>(0)   // import Synchronization
///     func connectionAccepted() {}
///     func connectionClosed(_ connection: ClosedConnection) { closed.add(1, ordering: .relaxed) }
///     func handlerFailed(_ error: any Error) {}
///     func connectionLimitReached() {}
/// }
/// ```
public protocol ServerObserver: AnyObject, Sendable {
    /// A connection entered the server.
    func connectionAccepted()
    /// A connection the observer was told of with ``connectionAccepted()`` is closed.
    func connectionClosed(_ connection: ClosedConnection)
    /// A connection's handler threw `error` (the connection is then closed).
    func handlerFailed(_ error: any Error)
    /// The server holds ``ServerConfiguration/maxConnections`` connections and stopped accepting.
    func connectionLimitReached()
}

/// What a closed connection did, as ``ServerObserver/connectionClosed(_:)`` hears it.
///
/// Bytes are counted where it costs nothing per read or write: an event loop's transport adds
/// each transfer to two integers of its own; a threaded server asks the kernel once, at the end,
/// for the TCP connection's totals (`TCP_INFO`'s bytes received, and bytes acknowledged plus those
/// still queued: everything the handler handed to the kernel). A threaded server's Unix-domain
/// connections have no such totals: they report 0 bytes.
public struct ClosedConnection: Sendable, Hashable {
    /// Bytes received from the peer (an event loop: read by the server; a threaded server: received
    /// by the kernel, which includes any the handler left unread).
    public var bytesRead: UInt64
    /// Bytes sent to the peer (handed to the kernel).
    public var bytesWritten: UInt64
    /// From the moment the connection entered the server until it closed.
    public var duration: Duration

    /// Creates a record.
    public init(bytesRead: UInt64, bytesWritten: UInt64, duration: Duration) {
        self.bytesRead = bytesRead
        self.bytesWritten = bytesWritten
        self.duration = duration
    }
}

/// An optional observer compared by identity, so that ``ServerConfiguration`` stays `Hashable`.
struct ObserverSlot: Sendable, Hashable {
    let observer: (any ServerObserver)?

    static func == (lhs: ObserverSlot, rhs: ObserverSlot) -> Bool {
        lhs.observer === rhs.observer
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(observer.map { ObjectIdentifier($0) })
    }
}
