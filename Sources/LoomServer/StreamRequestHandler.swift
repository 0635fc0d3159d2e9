import LoomSockets

/// Python's `socketserver.StreamRequestHandler`: a handler for a connection, with a buffered
/// reader (`rfile`), a writer (`wfile`), a per-connection timeout and Nagle's algorithm as options.
///
/// ```swift
/// final class LineEcho: StreamRequestHandler {
///     override var timeout: Duration? { .seconds(30) }      // Python: timeout = 30
///     override var disableNagleAlgorithm: Bool { true }     // Python: disable_nagle_algorithm = True
///     override func handle() throws {
///         while case let line = try rfile.readLine(), !line.isEmpty {   // Python: for line in self.rfile
///             try wfile.write(line)
///         }
///     }
/// }
/// ```
open class StreamRequestHandler: BaseRequestHandler {
    /// The connection (Python's `self.connection`, the same socket as ``BaseRequestHandler/request``).
    public var connection: Socket { request }

    /// Python's `timeout`: when set, every read and write on the connection fails with
    /// ``SocketError/Kind/timedOut`` after that long without progress, and the server closes it.
    /// Nil keeps the server's ``ServerConfiguration/idleTimeout``.
    open var timeout: Duration? { nil }

    /// Python's `disable_nagle_algorithm`: sets `TCP_NODELAY` on the connection, so small replies
    /// leave at once. Ignored for Unix-domain connections.
    open var disableNagleAlgorithm: Bool { false }

    /// Python's `wbufsize`: 0 (the default) sends every `wfile` write at once; a positive size
    /// buffers writes until the buffer fills, ``SocketWriter/flush()``, or the end of the request.
    open var writeBufferSize: Int { 0 }

    private var reader: BufferedReader?
    private var writer: SocketWriter?

    /// A buffered reader on the connection (Python's `rfile`; over TLS, on the TLS stream): `readLine()`, `read(exactly:)`,
    /// `read(upTo:)`. Created on first use; mixing it with `connection.recv` loses buffered bytes.
    public var rfile: BufferedReader {
        if let reader { return reader }
        let made = BufferedReader(stream)
        reader = made
        return made
    }

    /// The writer to the connection (Python's `wfile`), buffered as ``writeBufferSize`` says.
    public var wfile: SocketWriter {
        if let writer { return writer }
        let made = SocketWriter(stream, bufferSize: writeBufferSize)
        writer = made
        return made
    }

    /// Applies ``timeout`` and ``disableNagleAlgorithm``. Call `super.setup()` when overriding.
    open override func setup() throws {
        if let timeout { connection.timeout = timeout }
        if disableNagleAlgorithm && connection.family != .unix {
            try connection.setOption(.noDelay, true)
        }
    }

    /// Flushes `wfile`. Call `super.finish()` when overriding.
    open override func finish() throws {
        try writer?.flush()
    }
}
