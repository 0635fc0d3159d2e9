import LoomSockets

/// A ``StreamRequestHandler``'s `wfile`: Python's `_SocketWriter` when unbuffered (each write is a
/// `sendall`, as with Python's default `wbufsize = 0`), or a ``LoomSockets/BufferedWriter`` that
/// sends when full, on ``flush()``, and when the handler finishes.
public final class SocketWriter {
    /// The connection written to (under a TLS stream, the socket it wraps).
    public var socket: Socket { stream.transport }
    /// What is written to: the connection, or the TLS stream over it.
    public let stream: any ByteStream
    private let buffer: BufferedWriter?

    /// A writer on `stream` (a ``LoomSockets/Socket`` or a TLS stream); `bufferSize` 0 sends
    /// every write at once.
    public init(_ stream: any ByteStream, bufferSize: Int = 0) {
        self.stream = stream
        buffer = bufferSize > 0 ? BufferedWriter(stream, capacity: bufferSize) : nil
    }

    /// Writes every byte (or buffers them).
    public func write(_ bytes: [UInt8]) throws(SocketError) {
        if let buffer {
            try buffer.write(bytes)
        } else {
            try bytes.withUnsafeBytes { raw in Result { () throws(SocketError) in try stream.writeAll(raw) } }.get()
        }
    }

    /// Writes `text` as UTF-8.
    public func write(_ text: String) throws(SocketError) {
        if let buffer {
            try buffer.write(text)
        } else {
            var text = text
            try text.withUTF8 { utf8 in
                Result { () throws(SocketError) in try stream.writeAll(UnsafeRawBufferPointer(utf8)) }
            }.get()
        }
    }

    /// Sends what is buffered; nothing to do when unbuffered.
    public func flush() throws(SocketError) {
        try buffer?.flush()
    }
}

// A writer holds a buffer and no lock: it belongs to its handler's thread.
@available(*, unavailable)
extension SocketWriter: Sendable {}
