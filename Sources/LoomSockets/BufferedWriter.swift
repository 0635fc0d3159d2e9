#if canImport(Glibc)
import Glibc
#endif

/// Buffered writing to a stream socket: Python's `socket.makefile('wb')`.
///
/// Small writes collect in a buffer and leave in one `send` when it is full or on ``flush()``;
/// a write larger than the buffer goes straight to the socket. Nothing is sent before
/// ``flush()`` otherwise, so flush before waiting for a reply.
///
/// ```swift
/// let writer = BufferedWriter(connection)
/// for line in lines { try writer.write(line + "\n") }
/// try writer.flush()
/// ```
///
/// When a send fails (timeout, broken pipe), the bytes not yet sent stay buffered and the
/// error is thrown; the next ``flush()`` tries again. `deinit` makes a last, best-effort flush
/// of an open socket and ignores its errors (as Python's does when a file object is
/// collected): call ``flush()`` yourself to see them. Not thread-safe: use it from one thread at
/// a time (it is not `Sendable`).
public final class BufferedWriter {
    /// The socket written to (for a TLS stream, the socket it wraps). The writer does not own
    /// it: closing the socket is the caller's job.
    public let socket: Socket
    /// What the writer sends to: ``socket`` itself, or a stream over it (TLS).
    public let stream: any ByteStream

    private let storage: UnsafeMutableRawBufferPointer
    private var count = 0

    /// Creates a writer over `socket` with a buffer of `capacity` bytes.
    public init(_ socket: Socket, capacity: Int = 65_536) {
        self.socket = socket
        stream = socket
        storage = .allocate(byteCount: max(64, capacity), alignment: 16)
    }

    /// Creates a writer over any ``ByteStream`` (a TLS stream, for example).
    public init(_ stream: any ByteStream, capacity: Int = 65_536) {
        self.socket = stream.transport
        self.stream = stream
        storage = .allocate(byteCount: max(64, capacity), alignment: 16)
    }

    deinit {
        if count > 0, !stream.isClosed { try? flush() }
        storage.deallocate()
    }

    /// Bytes written and not yet sent.
    public var bufferedCount: Int { count }

    /// Writes `buffer`: into the buffer if it fits, otherwise flushes and sends it directly.
    public func write(_ buffer: UnsafeRawBufferPointer) throws(SocketError) {
        guard !buffer.isEmpty else { return }
        if count + buffer.count > storage.count {
            try flush()
            if buffer.count >= storage.count {
                try stream.writeAll(buffer)
                return
            }
        }
        (storage.baseAddress! + count).copyMemory(from: buffer.baseAddress!, byteCount: buffer.count)
        count += buffer.count
    }

    /// Writes `bytes`.
    public func write(_ bytes: [UInt8]) throws(SocketError) {
        try bytes.withUnsafeBytes { raw in Result { () throws(SocketError) in try write(raw) } }.get()
    }

    /// Writes `text` as UTF-8.
    public func write(_ text: String) throws(SocketError) {
        var text = text
        try text.withUTF8 { utf8 in
            Result { () throws(SocketError) in try write(UnsafeRawBufferPointer(utf8)) }
        }.get()
    }

    /// Sends every buffered byte. With a positive socket timeout, one deadline covers the whole
    /// flush. On failure the unsent bytes stay buffered.
    public func flush() throws(SocketError) {
        guard count > 0 else { return }
        if stream !== socket { return try flushStream() }
        let wait = socket.waitMode()
        var sent = 0
        defer {
            // Keep what was not sent, at the front.
            if sent > 0 {
                let left = count - sent
                if left > 0 { storage.baseAddress!.copyMemory(from: storage.baseAddress! + sent, byteCount: left) }
                count = left
            }
        }
        while sent < count {
            let rest = UnsafeRawBufferPointer(rebasing: storage[sent..<count])
            sent += try socket.perform(.send, "send", events: Int16(POLLOUT), wait: wait, length: rest.count) { fd, length in
                Glibc.send(fd, rest.baseAddress, length, Int32(MSG_NOSIGNAL))
            }
        }
    }

    /// ``flush()`` through a stream other than the socket: one ``ByteStream/writeSome(_:)`` at a
    /// time (each under the socket's timeout), keeping what was not taken.
    private func flushStream() throws(SocketError) {
        var sent = 0
        defer {
            if sent > 0 {
                let left = count - sent
                if left > 0 { storage.baseAddress!.copyMemory(from: storage.baseAddress! + sent, byteCount: left) }
                count = left
            }
        }
        while sent < count {
            sent += try stream.writeSome(UnsafeRawBufferPointer(rebasing: storage[sent..<count]))
        }
    }
}

// A writer holds a mutable buffer and no lock: confine it to one thread at a time.
@available(*, unavailable)
extension BufferedWriter: Sendable {}
