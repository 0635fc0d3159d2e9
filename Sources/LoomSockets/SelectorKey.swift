/// One registration of a ``Selector``: Python's `SelectorKey(fileobj, fd, events, data)`.
public struct SelectorKey<Value> {
    /// The registered socket (Python's `fileobj`), or nil when a bare descriptor was registered.
    public let socket: Socket?
    /// The descriptor as it was at registration (it stays the same even if the socket closes).
    public let fileDescriptor: Int32
    /// The events watched for.
    public let events: SelectorEvents
    /// The value given at registration (Python's `data`).
    public let data: Value

    @inlinable
    init(socket: Socket?, fileDescriptor: Int32, events: SelectorEvents, data: Value) {
        self.socket = socket
        self.fileDescriptor = fileDescriptor
        self.events = events
        self.data = data
    }
}

extension SelectorKey: Sendable where Value: Sendable {}
