import LoomSockets

/// A ``StreamRequestHandler``'s `wfile`: Python's `_SocketWriter` when unbuffered (each write is a
/// `sendall`, as with Python's default `wbufsize = 0`), or a ``LoomSockets/BufferedWriter`` that
/// sends when full, on ``flush()``, and when the handler finishes.
public final class SocketWriter {
    /// The connection written to.
    public let socket: Socket
    private let buffer: BufferedWriter?

    /// A writer on `socket`; `bufferSize` 0 sends every write at once.
    public init(_ socket: Socket, bufferSize: Int = 0) {
        self.socket = socket
        buffer = bufferSize > 0 ? BufferedWriter(socket, capacity: bufferSize) : nil
    }

    /// Writes every byte (or buffers them).
    public func write(_ bytes: [UInt8]) throws(SocketError) {
        if let buffer { try buffer.write(bytes) } else { try socket.sendAll(bytes) }
    }

    /// Writes `text` as UTF-8.
    public func write(_ text: String) throws(SocketError) {
        if let buffer { try buffer.write(text) } else { try socket.sendAll(text) }
    }

    /// Sends what is buffered; nothing to do when unbuffered.
    public func flush() throws(SocketError) {
        try buffer?.flush()
    }
}

// A writer holds a buffer and no lock: it belongs to its handler's thread.
@available(*, unavailable)
extension SocketWriter: Sendable {}
