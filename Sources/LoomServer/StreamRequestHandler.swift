import LoomSockets

/// Python's `socketserver.StreamRequestHandler`: a handler for a connection, with a per-connection
/// timeout and Nagle's algorithm as options.
///
/// ```swift
/// final class LineEcho: StreamRequestHandler {
///     override var timeout: Duration? { .seconds(30) }      // Python: timeout = 30
///     override var disableNagleAlgorithm: Bool { true }     // Python: disable_nagle_algorithm = True
///     override func handle() throws {
///         let bytes = try connection.recv(maxBytes: 1024)
///         try connection.sendAll(bytes)
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

    /// Applies ``timeout`` and ``disableNagleAlgorithm``. Call `super.setup()` when overriding.
    open override func setup() throws {
        if let timeout { connection.timeout = timeout }
        if disableNagleAlgorithm && connection.family != .unix {
            try connection.setOption(.noDelay, true)
        }
    }
}
