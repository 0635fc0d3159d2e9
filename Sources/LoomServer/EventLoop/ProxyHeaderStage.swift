import LoomSockets
import LoomTLS

/// The event-driven family's PROXY stage: the protocol a connection starts with when the server
/// reads PROXY headers (``ServerConfiguration/proxyProtocol``). It feeds the bytes received to a
/// ``ProxyHeaderParser`` until the header is complete, then steps aside: the transport gets the
/// header (so ``Transport/peerAddress`` is the original client), the server's own protocol (or
/// async handler) is put in its place and gets `connectionMade`, then the bytes that followed the
/// header, unchanged. The protocol never sees the header, nor a connection that sent a bad one.
/// With TLS as well (``ServerConfiguration/tls``), the hand-over starts the TLS stage instead, and
/// the bytes after the header are the start of the handshake: accept → PROXY header → TLS
/// handshake → protocol, the order the threaded servers follow too.
///
/// A refused, truncated or late header fails the connection: one report through the server's
/// error path naming the peer and the reason, and the connection is closed. The deadline is a
/// timer on the loop's heap, set when the connection is adopted.
final class ProxyHeaderStage: StreamProtocol {
    private let inner: any StreamProtocol
    private let mode: ProxyProtocolMode
    /// The server's TLS, started at the hand-over (nil: plaintext).
    private let tls: TLSContext?
    private let parser = ProxyHeaderParser()
    /// Set from `connectionMade` until the hand-over or the loss: the transport holds this stage
    /// and this stage the transport, a cycle both ends break.
    private var transport: Transport?
    /// Header bytes of a header split over several reads (empty in the common case: the whole
    /// header in the first read is parsed in place).
    private var pending: [UInt8] = []
    private var deadline: Cancellable?

    init(inner: any StreamProtocol, mode: ProxyProtocolMode, tls: TLSContext? = nil) {
        self.inner = inner
        self.mode = mode
        self.tls = tls
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
        // Over TLS the handshake cannot finish after end of file: close (its protocol was never made).
        if tls != nil { return false }
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
        if let tls {
            let configuration = transport.loop.group.configuration
            TLSStage.start(on: transport, context: tls,
                           handshakeTimeout: TLSSetting.handshakeTimeout(idleTimeout: configuration.idleTimeout))
            // The TLS stage copies ciphertext into its engine before it decrypts into the loop's
            // read buffer, so `leftover` may lie in that same buffer.
            if !leftover.isEmpty, transport.tls != nil, !transport.isClosing {
                transport.deliver(leftover, scratch: transport.loop.readBuffer)
            }
            return
        }
        try inner.connectionMade(transport)
        if !leftover.isEmpty, !transport.isClosing { try inner.dataReceived(leftover) }
    }

    private func timedOut() {
        guard let transport, !transport.isClosing else { return }
        transport.fail(ProxyProtocolError.timedOut(received: pending.count))
    }
}
