/// Python's `socketserver.ThreadingUnixDatagramServer`: a ``UnixDatagramServer`` with a thread per datagram.
// @unchecked Sendable: adds no state to UnixDatagramServer's.
open class ThreadingUnixDatagramServer: UnixDatagramServer, @unchecked Sendable {
    /// A thread per datagram: every initialiser of ``UnixDatagramServer`` makes one when not given a
    /// `concurrency` of its own.
    open override class var defaultConcurrency: Concurrency { .threading }
}
