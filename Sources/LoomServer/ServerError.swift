import LoomSockets
import LoomThreading

/// What a server's own calls throw (a handler's errors go to ``BaseServer/handleError(_:clientAddress:)``).
public enum ServerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The socket layer failed: binding, listening, creating the wake-up descriptor.
    case socket(SocketError)
    /// No thread could be started for a request (the system refused: `EAGAIN`).
    case cannotStartThread(ThreadingError)
    /// `shutdown()` was called on the thread that runs `serveForever()`, for example from a handler
    /// of a serial server. Python deadlocks here; Loom throws. Call it from another thread.
    case shutdownFromServingThread
    /// `serveForever()` or `handleRequest()` was called while the server is already serving.
    case alreadyServing
    /// The server was closed with `serverClose()`.
    case closed
    /// A configuration value is out of range, for example zero workers.
    case invalidConfiguration(String)

    /// A one-line explanation naming what failed, for logs and command-line errors.
    public var description: String {
        switch self {
        case .socket(let error): "\(error)"
        case .cannotStartThread(let error): "cannot start a handler thread: \(error)"
        case .shutdownFromServingThread:
            "shutdown() called from the thread running serveForever() (a serial server's handler?); it would deadlock"
        case .alreadyServing: "the server is already serving on another thread"
        case .closed: "the server is closed"
        case .invalidConfiguration(let reason): "invalid server configuration: \(reason)"
        }
    }
}
