/// Python's `socketserver.ThreadingTCPServer`: a ``TCPServer`` that runs each connection on its
/// own thread. The course's server:
///
/// ```swift
/// let server = try ThreadingTCPServer(host: "localhost", port: 9999, handler: MyTCPHandler.self)
/// try server.serveForever()
/// ```
///
/// `concurrency: .threading(daemonThreads: true)` is Python's `daemon_threads = True`;
/// `.threading(blockOnClose: false)` is `block_on_close = False`.
// @unchecked Sendable: adds no state to TCPServer's.
open class ThreadingTCPServer: TCPServer, @unchecked Sendable {
    /// A thread per connection: every initialiser of ``TCPServer`` makes one when not given a
    /// `concurrency` of its own.
    open override class var defaultConcurrency: Concurrency { .threading }
}
