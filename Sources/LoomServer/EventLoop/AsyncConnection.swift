#if canImport(Glibc)
import Glibc
#endif
import LoomSockets

/// One connection of an ``EventLoopServer`` for an `async` handler: Python's asyncio
/// `StreamReader`/`StreamWriter` pair with `socket`'s names.
///
/// Its methods run on the connection's event loop (the handler's task prefers that loop as its
/// executor), so a `recv` that waits costs no thread and resumes without a thread hop.
///
/// ```swift
/// let server = try EventLoopServer { connection in
///     while true {
///         let data = try await connection.recv(maxBytes: 4096)
///         if data.isEmpty { return }            // the peer closed
///         try await connection.sendAll(data)
///     }
/// }
/// ```
public final class AsyncConnection {
    let adapter: AsyncConnectionAdapter

    init(adapter: AsyncConnectionAdapter) {
        self.adapter = adapter
    }

    /// The connected peer: behind a proxy speaking the PROXY protocol, the original client.
    public var peerAddress: SocketAddress? { adapter.transport?.peerAddress }

    /// The PROXY protocol header the connection started with, or nil (see ``Transport/proxyHeader``).
    public var proxyHeader: ProxyHeader? { adapter.transport?.proxyHeader }

    /// The event loop the connection lives on (nil once it is closed): schedule timers on it with
    /// ``EventLoop/schedule(after:_:)``.
    public var eventLoop: EventLoop? { adapter.transport?.loop }

    /// Receives what is there, up to `maxBytes`, waiting if nothing is. An empty array means the
    /// peer closed its side. Throws on a reset, the idle timeout or a server shutdown, and
    /// ``SocketError/Kind/invalidArgument`` when another task is already waiting in `recv` on
    /// this connection (which of the two would get the bytes is undefined).
    nonisolated(nonsending) public func recv(maxBytes: Int) async throws(SocketError) -> [UInt8] {
        // Only the suspension is written here; every decision and every error is made in the
        // adapter's synchronous methods. A suspended handler keeps this frame (and its callers')
        // in its task's memory: a value of `SocketError` (two hundred bytes) or a temporary held
        // here costs that much more per idle connection, times ten thousand.
        let adapter = self.adapter
        let limit = max(1, maxBytes)
        if adapter.beginReceive(maxBytes: limit) == .wait {
            _ = await withUnsafeContinuation { adapter.reader = $0 }
        }
        return try adapter.finishReceive(maxBytes: limit)
    }

    /// Receives into `buffer` (no allocation) and returns the byte count; 0 means the peer closed.
    nonisolated(nonsending) public func recv(into buffer: UnsafeMutableRawBufferPointer) async throws(SocketError) -> Int {
        let adapter = self.adapter
        if adapter.beginReceive(into: buffer) == .wait {
            _ = await withUnsafeContinuation { adapter.reader = $0 }
        }
        return try adapter.finishReceive(into: buffer)
    }

    /// Queues every byte for sending; waits while the connection's write buffer is above its
    /// high-water mark (asyncio's `write` + `drain`). Throws if the connection is gone.
    nonisolated(nonsending) public func sendAll(_ buffer: UnsafeRawBufferPointer) async throws(SocketError) {
        let adapter = self.adapter
        adapter.write(buffer)  // sent or copied before any suspension
        while adapter.mustDrain {
            await withUnsafeContinuation { adapter.writer = $0 }
        }
        try adapter.finishSend()
    }

    /// Sends every byte of `bytes`.
    nonisolated(nonsending) public func sendAll(_ bytes: [UInt8]) async throws(SocketError) {
        let adapter = self.adapter
        adapter.write(bytes)
        while adapter.mustDrain {
            await withUnsafeContinuation { adapter.writer = $0 }
        }
        try adapter.finishSend()
    }

    /// Sends `text` as UTF-8.
    nonisolated(nonsending) public func sendAll(_ text: String) async throws(SocketError) {
        let adapter = self.adapter
        adapter.write(text)
        while adapter.mustDrain {
            await withUnsafeContinuation { adapter.writer = $0 }
        }
        try adapter.finishSend()
    }

    /// Python's `write_eof()`: once flushed, the peer reads end-of-file; receiving still works.
    public func shutdownWrite() {
        adapter.transport?.writeEOF()
    }

    /// Flushes and closes. Also happens when the handler returns.
    public func close() {
        adapter.transport?.close()
    }
}

/// Moves a value into the handler's task, which runs on the same event loop as its creator.
struct LoopBound<Value>: @unchecked Sendable {  // the task prefers the loop as executor, so the value never leaves the loop's thread
    let value: Value
}

/// The protocol side of an ``AsyncConnection``: buffers what arrives before the handler asks,
/// resumes a waiting `recv` or `sendAll`.
///
/// Memory is the design constraint: ten thousand idle connections each keep one of these, a
/// `Transport`, a suspended task and its frames. So the state is small (a failure is boxed, not
/// two hundred bytes inline), and the async methods of ``AsyncConnection`` only suspend: the
/// decisions are the synchronous `begin…`/`finish…` methods here, whose temporaries live on the
/// loop thread's stack instead of in the task.
final class AsyncConnectionAdapter: StreamProtocol {
    /// What a receive does after ``beginReceive(maxBytes:)``: wait, or finish at once.
    enum ReceiveStart { case ready, wait }

    let body: @Sendable (AsyncConnection) async throws -> Void
    private(set) var transport: Transport?
    /// The loop the handler's task counts itself on, held until the task finishes (a task stuck
    /// past the grace period outlives the transport, which is dropped when the connection is lost).
    private var loop: EventLoop?
    /// Bytes no `recv` has asked for yet; made on first need (a handler that keeps up never
    /// needs it), its buffer freed whenever drained: quiet connections hold no read buffers.
    private var inbound: InboundBytes?
    /// While a `recv(maxBytes:)` waits: its limit, and the array made straight from the loop's buffer.
    private var readerMaxBytes = 0
    private var delivered: [UInt8]?
    /// While a `recv(into:)` waits: where `dataReceived` copies to, and how much it copied.
    private var readerBuffer = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    private var readerCount = 0
    /// Set by `begin…` when another task already waits in `recv`; `finish…` throws it.
    // The flags together, so they share one word of the object.
    private var concurrentReceive = false
    private(set) var eof = false
    private(set) var closed = false
    private var writingPaused = false
    /// Set by a write that found the connection gone: ``finishSend()`` throws it.
    private var sendFailed = false
    private var failureBox: FailureBox?
    var reader: UnsafeContinuation<Int, Never>?
    var writer: UnsafeContinuation<Void, Never>?
    /// Unread bytes above this pause reading (TCP then slows the peer).
    private static let inboundLimit = 65536

    init(body: @escaping @Sendable (AsyncConnection) async throws -> Void) {
        self.body = body
    }

    var failure: SocketError? { failureBox?.error }

    func connectionMade(_ transport: Transport) {
        self.transport = transport
        let loop = transport.loop
        self.loop = loop
        loop.liveTaskCount.add(1, ordering: .relaxed)
        let connection = LoopBound(value: AsyncConnection(adapter: self))
        Task(executorPreference: loop) {
            // The task's outermost frame lives as long as the connection: nothing here but the
            // call, the rest is in the synchronous `handlerFinished`. The closure captures one
            // reference and nothing else, so that reference is its context (no box to allocate).
            let connection = connection.value
            do {
                try await connection.adapter.body(connection)
                connection.adapter.handlerFinished(nil, connection: connection)
            } catch {
                connection.adapter.handlerFinished(error, connection: connection)
            }
        }
    }

    /// The handler returned or threw: report, close, count the task out.
    @inline(never)
    func handlerFinished(_ error: (any Error)?, connection: AsyncConnection) {
        guard let loop else { return }
        // Reporting works from any thread, also after the loop stopped (a task that outlived it).
        if let error {
            loop.observer?.handlerFailed(error)
            loop.report(error, peer: connection.peerAddress)
        }
        connection.close()
        loop.liveTaskCount.subtract(1, ordering: .relaxed)
        self.loop = nil
    }

    func dataReceived(_ data: UnsafeRawBufferPointer) {
        if let reader, readerMaxBytes > 0 {
            // One allocation, the array recv returns; no copy through the inbound queue.
            let n = min(data.count, readerMaxBytes)
            delivered = Array(UnsafeRawBufferPointer(rebasing: data[..<n]))
            if n < data.count { keep(UnsafeRawBufferPointer(rebasing: data[n...])) }
            self.reader = nil
            reader.resume(returning: n)
        } else if let reader {
            let n = min(data.count, readerBuffer.count)
            if n > 0 { readerBuffer.baseAddress!.copyMemory(from: data.baseAddress!, byteCount: n) }
            if n < data.count { keep(UnsafeRawBufferPointer(rebasing: data[n...])) }
            readerCount = n
            self.reader = nil
            reader.resume(returning: n)
        } else {
            keep(data)
        }
        if let inbound, inbound.bytes.count >= Self.inboundLimit { transport?.pauseReading() }
    }

    func eofReceived() -> Bool {
        eof = true
        if let reader {
            self.reader = nil
            reader.resume(returning: 0)
        }
        return true  // stay open for writing: the handler closes when it returns
    }

    func connectionLost(_ error: (any Error)?) {
        closed = true
        if let error { failureBox = FailureBox(error as? SocketError ?? SocketError("recv", kind: .other, detail: "\(error)")) }
        if let reader {
            self.reader = nil
            reader.resume(returning: 0)
        }
        if let writer {
            self.writer = nil
            writer.resume()
        }
        transport = nil
    }

    func pauseWriting() {
        writingPaused = true
    }

    func resumeWriting() {
        writingPaused = false
        if let writer {
            self.writer = nil
            writer.resume()
        }
    }

    // MARK: Receiving (the synchronous halves of AsyncConnection.recv)

    /// Whether a `recv(maxBytes:)` must wait; if it must, records its limit.
    func beginReceive(maxBytes: Int) -> ReceiveStart {
        if hasInbound || failureBox != nil || eof || closed { return .ready }
        if reader != nil {
            concurrentReceive = true
            return .ready
        }
        readerMaxBytes = maxBytes
        return .wait
    }

    /// The result of a `recv(maxBytes:)`, after a wait or without one.
    func finishReceive(maxBytes: Int) throws(SocketError) -> [UInt8] {
        if concurrentReceive {
            concurrentReceive = false
            throw SocketError.concurrentRecv
        }
        readerMaxBytes = 0
        if let bytes = delivered {
            delivered = nil
            return bytes
        }
        if let bytes = takeBuffered(maxBytes: maxBytes) { return bytes }
        if let failure { throw failure }
        return []
    }

    /// Whether a `recv(into:)` must wait; if it must, records the buffer to fill.
    func beginReceive(into buffer: UnsafeMutableRawBufferPointer) -> ReceiveStart {
        if buffer.count == 0 || hasInbound || failureBox != nil || eof || closed { return .ready }
        if reader != nil {
            concurrentReceive = true
            return .ready
        }
        readerBuffer = buffer
        readerCount = -1
        return .wait
    }

    /// The result of a `recv(into:)`, after a wait or without one.
    func finishReceive(into buffer: UnsafeMutableRawBufferPointer) throws(SocketError) -> Int {
        if concurrentReceive {
            concurrentReceive = false
            throw SocketError.concurrentRecv
        }
        if buffer.count == 0 { return 0 }
        let waited = readerBuffer.baseAddress != nil
        readerBuffer = UnsafeMutableRawBufferPointer(start: nil, count: 0)
        if waited && readerCount > 0 {
            defer { readerCount = 0 }
            return readerCount
        }
        readerCount = 0
        if let inbound, !inbound.bytes.isEmpty {
            let n = min(buffer.count, inbound.bytes.count)
            buffer.baseAddress!.copyMemory(from: inbound.bytes.pending.baseAddress!, byteCount: n)
            consumeInbound(n)
            return n
        }
        if let failure { throw failure }
        return 0
    }

    /// Buffered bytes as an array, or nil when nothing is buffered.
    func takeBuffered(maxBytes: Int) -> [UInt8]? {
        guard let inbound, !inbound.bytes.isEmpty else { return nil }
        let n = min(maxBytes, inbound.bytes.count)
        let bytes = Array(UnsafeRawBufferPointer(rebasing: inbound.bytes.pending[..<n]))
        consumeInbound(n)
        return bytes
    }

    private func consumeInbound(_ n: Int) {
        guard let inbound else { return }
        inbound.bytes.consume(n)
        if inbound.bytes.count < Self.inboundLimit / 2, let transport, transport.isReadingPaused { transport.resumeReading() }
    }

    private var hasInbound: Bool {
        guard let inbound else { return false }
        return !inbound.bytes.isEmpty
    }

    private func keep(_ bytes: UnsafeRawBufferPointer) {
        if inbound == nil { inbound = InboundBytes() }
        inbound!.bytes.append(bytes)
    }

    // MARK: Sending (the synchronous halves of AsyncConnection.sendAll)

    /// Hands `buffer` to the transport (sent now or copied into its write buffer); a write to a
    /// closed connection is remembered for ``finishSend()``.
    func write(_ buffer: UnsafeRawBufferPointer) {
        guard let transport, !closed, transport.state == .open else {
            sendFailed = true
            return
        }
        transport.write(buffer)
        if transport.state == .closed { sendFailed = true }
    }

    func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { write($0) }
    }

    func write(_ text: String) {
        var text = text
        text.withUTF8 { write(UnsafeRawBufferPointer($0)) }
    }

    /// Whether a `sendAll` must wait for the write buffer to drain.
    var mustDrain: Bool { writingPaused && !closed && !sendFailed }

    /// Throws if the write failed or the connection was lost while waiting.
    func finishSend() throws(SocketError) {
        if sendFailed {
            sendFailed = false
            throw sendError
        }
        if closed, let failure { throw failure }
    }

    private var sendError: SocketError {
        if let failure { return failure }
        if let error = transport?.lostError as? SocketError { return error }
        return SocketError("send", kind: .brokenPipe, errno: EPIPE, detail: "connection closed")
    }
}

/// An ``AsyncConnectionAdapter``'s unread bytes, out of line: forty-eight bytes a connection that
/// only the connections whose handler falls behind pay.
final class InboundBytes {
    var bytes = ByteQueue(minimumCapacity: 0, keptCapacity: 0)
}

/// A connection's failure, boxed: a `SocketError` inline would cost every connection its size.
final class FailureBox {
    let error: SocketError
    init(_ error: SocketError) { self.error = error }
}

extension SocketError {
    /// Two tasks waiting in `recv` on one ``AsyncConnection`` at once.
    static var concurrentRecv: SocketError {
        SocketError("recv", kind: .invalidArgument, errno: EINVAL, detail: "another task is already waiting in recv on this connection")
    }
}
