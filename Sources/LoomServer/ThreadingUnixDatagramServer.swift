import Logging
import LoomSockets

/// Python's `socketserver.ThreadingUnixDatagramServer`: a ``UnixDatagramServer`` with a thread per datagram.
// @unchecked Sendable: adds no state to UnixDatagramServer's.
open class ThreadingUnixDatagramServer: UnixDatagramServer, @unchecked Sendable {
    /// Binds `path`; a thread per datagram.
    public override init(
        path: String, handler: BaseRequestHandler.Type,
        concurrency: Concurrency = .threading, configuration: ServerConfiguration = ServerConfiguration(),
        logger: Logger = BaseServer.defaultLogger
    ) throws(ServerError) {
        try super.init(path: path, handler: handler, concurrency: concurrency,
                       configuration: configuration, logger: logger)
    }

    /// Binds `path`; a thread per datagram. With `bindAndActivate: false` (Python's
    /// `bind_and_activate=False`) the socket is created but not bound: set options on
    /// ``BaseServer/socket``, then call ``BaseServer/serverBind()`` and ``BaseServer/serverActivate()``.
    public override init(
        path: String, handler: BaseRequestHandler.Type,
        concurrency: Concurrency = .threading, configuration: ServerConfiguration = ServerConfiguration(),
        logger: Logger = BaseServer.defaultLogger, bindAndActivate: Bool
    ) throws(ServerError) {
        try super.init(path: path, handler: handler, concurrency: concurrency,
                       configuration: configuration, logger: logger, bindAndActivate: bindAndActivate)
    }

    /// Binds `path` (unless `bindAndActivate` is false); a thread per datagram, whose
    /// handler `handlerFactory` makes (see ``RequestHandlerFactory``).
    public override init<Handler: BaseRequestHandler>(
        path: String,
        concurrency: Concurrency = .threading, configuration: ServerConfiguration = ServerConfiguration(),
        logger: Logger = BaseServer.defaultLogger, bindAndActivate: Bool = true,
        handlerFactory: @escaping RequestHandlerFactory<Handler>
    ) throws(ServerError) {
        try super.init(path: path, concurrency: concurrency, configuration: configuration,
                       logger: logger, bindAndActivate: bindAndActivate, handlerFactory: handlerFactory)
    }
}
