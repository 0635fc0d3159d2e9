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

    /// The connected peer.
    public var peerAddress: SocketAddress? { adapter.transport?.peerAddress }

    /// The event loop the connection lives on (nil once it is closed): schedule timers on it with
    /// ``EventLoop/schedule(after:_:)``.
    public var eventLoop: EventLoop? { adapter.transport?.loop }

    /// Receives what is there, up to `maxBytes`, waiting if nothing is. An empty array means the
    /// peer closed its side. Throws on a reset, the idle timeout or a server shutdown, and
    /// ``SocketError/Kind/invalidArgument`` when another task is already waiting in `recv` on
    /// this connection (which of the two would get the bytes is undefined).
    public func recv(maxBytes: Int) async throws(SocketError) -> [UInt8] {
        // The wait is written out here rather than in a helper: every async frame a suspended
        // handler keeps costs memory, times ten thousand idle connections.
        let adapter = self.adapter
        let limit = max(1, maxBytes)
        if let ready = adapter.takeBuffered(maxBytes: limit) { return ready }
        if let failure = adapter.failure { throw failure }
        if adapter.eof || adapter.closed { return [] }
        if adapter.reader != nil { throw SocketError.concurrentRecv }
        adapter.readerMaxBytes = limit
        _ = await withUnsafeContinuation { adapter.reader = $0 }
        adapter.readerMaxBytes = 0
        if let bytes = adapter.delivered {
            adapter.delivered = nil
            return bytes
        }
        if let failure = adapter.failure { throw failure }
        return adapter.takeBuffered(maxBytes: limit) ?? []
    }

    /// Receives into `buffer` (no allocation) and returns the byte count; 0 means the peer closed.
    public func recv(into buffer: UnsafeMutableRawBufferPointer) async throws(SocketError) -> Int {
        if buffer.count == 0 { return 0 }
        return try await adapter.receive(into: buffer)
    }

    /// Queues every byte for sending; waits while the connection's write buffer is above its
    /// high-water mark (asyncio's `write` + `drain`). Throws if the connection is gone.
    public func sendAll(_ buffer: UnsafeRawBufferPointer) async throws(SocketError) {
        try adapter.write(buffer)  // sent or copied before any suspension
        try await adapter.drain()
    }

    /// Sends every byte of `bytes`.
    public func sendAll(_ bytes: [UInt8]) async throws(SocketError) {
        try bytes.withUnsafeBytes { raw in Result { () throws(SocketError) in try adapter.write(raw) } }.get()
        try await adapter.drain()
    }

    /// Sends `text` as UTF-8.
    public func sendAll(_ text: String) async throws(SocketError) {
        var text = text
        try text.withUTF8 { utf8 in Result { () throws(SocketError) in try adapter.write(UnsafeRawBufferPointer(utf8)) } }.get()
        try await adapter.drain()
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
final class AsyncConnectionAdapter: StreamProtocol {
    let body: @Sendable (AsyncConnection) async throws -> Void
    private(set) var transport: Transport?
    // Freed whenever drained: ten thousand quiet connections hold no read buffers.
    private var inbound = ByteQueue(minimumCapacity: 0, keptCapacity: 0)
    /// While a `recv(maxBytes:)` waits: its limit, and the array made straight from the loop's buffer.
    var readerMaxBytes = 0
    var delivered: [UInt8]?
    var eof = false
    var closed = false
    var failure: SocketError?
    var reader: UnsafeContinuation<Int, Never>?
    private var readerBuffer = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    private var writer: UnsafeContinuation<Void, Never>?
    private var writingPaused = false
    /// Unread bytes above this pause reading (TCP then slows the peer).
    private let inboundLimit = 65536

    init(body: @escaping @Sendable (AsyncConnection) async throws -> Void) {
        self.body = body
    }

    func connectionMade(_ transport: Transport) {
        self.transport = transport
        let loop = transport.loop
        loop.liveTaskCount.add(1, ordering: .relaxed)
        let connection = LoopBound(value: AsyncConnection(adapter: self))
        let body = self.body
        Task(executorPreference: loop) {
            let connection = connection.value
            do {
                try await body(connection)
            } catch {
                loop.report(error, peer: connection.peerAddress)
            }
            connection.close()
            loop.liveTaskCount.subtract(1, ordering: .relaxed)
        }
    }

    func dataReceived(_ data: UnsafeRawBufferPointer) {
        if let reader, readerMaxBytes > 0 {
            // One allocation, the array recv returns; no copy through the inbound queue.
            let n = min(data.count, readerMaxBytes)
            delivered = Array(UnsafeRawBufferPointer(rebasing: data[..<n]))
            if n < data.count { inbound.append(UnsafeRawBufferPointer(rebasing: data[n...])) }
            self.reader = nil
            reader.resume(returning: n)
        } else if let reader {
            let n = min(data.count, readerBuffer.count)
            if n > 0 { readerBuffer.baseAddress!.copyMemory(from: data.baseAddress!, byteCount: n) }
            if n < data.count { inbound.append(UnsafeRawBufferPointer(rebasing: data[n...])) }
            self.reader = nil
            reader.resume(returning: n)
        } else {
            inbound.append(data)
        }
        if inbound.count >= inboundLimit { transport?.pauseReading() }
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
        if let error { failure = error as? SocketError ?? SocketError("recv", kind: .other, detail: "\(error)") }
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

    /// Buffered bytes as an array, or nil when nothing is buffered.
    func takeBuffered(maxBytes: Int) -> [UInt8]? {
        guard !inbound.isEmpty else { return nil }
        let n = min(maxBytes, inbound.count)
        let bytes = Array(UnsafeRawBufferPointer(rebasing: inbound.pending[..<n]))
        consumeInbound(n)
        return bytes
    }

    private func consumeInbound(_ n: Int) {
        inbound.consume(n)
        if inbound.count < inboundLimit / 2, let transport, transport.isReadingPaused { transport.resumeReading() }
    }

    func receive(into buffer: UnsafeMutableRawBufferPointer) async throws(SocketError) -> Int {
        if !inbound.isEmpty {
            let n = min(buffer.count, inbound.count)
            buffer.baseAddress!.copyMemory(from: inbound.pending.baseAddress!, byteCount: n)
            consumeInbound(n)
            return n
        }
        if let failure { throw failure }
        if eof || closed { return 0 }
        if reader != nil { throw SocketError.concurrentRecv }
        let n = await withUnsafeContinuation { continuation in
            readerBuffer = buffer
            reader = continuation
        }
        readerBuffer = UnsafeMutableRawBufferPointer(start: nil, count: 0)
        if n == 0, let failure { throw failure }
        return n
    }

    /// Hands `buffer` to the transport (sent now or copied into its write buffer).
    func write(_ buffer: UnsafeRawBufferPointer) throws(SocketError) {
        guard let transport, !closed, transport.state == .open else {
            throw failure ?? SocketError("send", kind: .brokenPipe, errno: EPIPE, detail: "connection closed")
        }
        transport.write(buffer)
        if transport.state == .closed {
            throw transport.lostError as? SocketError ?? SocketError("send", kind: .brokenPipe, errno: EPIPE, detail: "connection closed")
        }
    }

    /// Waits while the write buffer is above its high-water mark.
    func drain() async throws(SocketError) {
        while writingPaused && !closed {
            await withUnsafeContinuation { writer = $0 }
        }
        if closed, let failure { throw failure }
    }
}

extension SocketError {
    /// Two tasks waiting in `recv` on one ``AsyncConnection`` at once.
    static var concurrentRecv: SocketError {
        SocketError("recv", kind: .invalidArgument, errno: EINVAL, detail: "another task is already waiting in recv on this connection")
    }
}
