import LoomSockets

/// The event-driven family's PROXY stage: the protocol a connection starts with when the server
/// reads PROXY headers (``ServerConfiguration/proxyProtocol``). It feeds the bytes received to a
/// ``ProxyHeaderParser`` until the header is complete, then steps aside: the transport gets the
/// header (so ``Transport/peerAddress`` is the original client), the server's own protocol (or
/// async handler) is put in its place and gets `connectionMade`, then the bytes that followed the
/// header, unchanged. The protocol never sees the header, nor a connection that sent a bad one.
///
/// A refused, truncated or late header fails the connection: one report through the server's
/// error path naming the peer and the reason, and the connection is closed. The deadline is a
/// timer on the loop's heap, set when the connection is adopted.
final class ProxyHeaderStage: StreamProtocol {
    private let inner: any StreamProtocol
    private let mode: ProxyProtocolMode
    private let parser = ProxyHeaderParser()
    /// Set from `connectionMade` until the hand-over or the loss: the transport holds this stage
    /// and this stage the transport, a cycle both ends break.
    private var transport: Transport?
    /// Header bytes of a header split over several reads (empty in the common case: the whole
    /// header in the first read is parsed in place).
    private var pending: [UInt8] = []
    private var deadline: Cancellable?

    init(inner: any StreamProtocol, mode: ProxyProtocolMode) {
        self.inner = inner
        self.mode = mode
    }

    /// Holds the stage weakly for the deadline's callback: a cancelled timer stays in the heap
    /// until it is due, and must not keep a closed connection's objects alive until then.
    private final class WeakStage {
        weak var stage: ProxyHeaderStage?
        init(_ stage: ProxyHeaderStage) { self.stage = stage }
    }

    func connectionMade(_ transport: Transport) {
        self.transport = transport
        let timeout = transport.loop.group.configuration.server.proxyHeaderTimeout
        let bound = EventLoopBound(WeakStage(self), eventLoop: transport.loop)
        deadline = transport.loop.schedule(after: timeout) { bound.value.stage?.timedOut() }
    }

    func dataReceived(_ data: UnsafeRawBufferPointer) throws {
        guard transport != nil else { return }
        if pending.isEmpty {
            if try !decide(data) { pending.append(contentsOf: data) }
            return
        }
        pending.append(contentsOf: data)
        let bytes = pending
        pending = []
        if try !bytes.withUnsafeBytes({ try decide($0) }) { pending = bytes }
    }

    func eofReceived() throws -> Bool {
        guard transport != nil else { return false }
        // In .optional mode, bytes short of a full signature were the application's.
        let plain = mode == .optional && !pending.withUnsafeBytes { ProxyHeaderParser.isCommitted($0) }
        guard plain else { throw ProxyProtocolError.truncated(received: pending.count) }
        let bytes = pending
        pending = []
        try bytes.withUnsafeBytes { try handOver(header: nil, leftover: $0) }
        return try inner.eofReceived()
    }

    func connectionLost(_ error: (any Error)?) {
        // Lost before the hand-over: the server's protocol never saw the connection.
        deadline?.cancel()
        transport = nil
    }

    /// Parses what has arrived; false while the header is incomplete.
    private func decide(_ bytes: UnsafeRawBufferPointer) throws -> Bool {
        switch try parser.parse(bytes) {
        case .needMoreData:
            return false
        case .header(let header):
            try handOver(header: header, leftover: UnsafeRawBufferPointer(rebasing: bytes[header.length...]))
        case .notProxyHeader:
            guard mode == .optional else { throw ProxyProtocolError.notProxyHeader }
            try handOver(header: nil, leftover: bytes)
        }
        return true
    }

    /// The header is in (or, in .optional mode, absent): the server's protocol takes the connection.
    private func handOver(header: ProxyHeader?, leftover: UnsafeRawBufferPointer) throws {
        guard let transport else { return }
        deadline?.cancel()
        deadline = nil
        self.transport = nil
        transport.proxyHeader = header
        transport.handler = inner
        try inner.connectionMade(transport)
        if !leftover.isEmpty, !transport.isClosing { try inner.dataReceived(leftover) }
    }

    private func timedOut() {
        guard let transport, !transport.isClosing else { return }
        transport.fail(ProxyProtocolError.timedOut(received: pending.count))
    }
}
