/// Python's `socketserver.ThreadingUDPServer`: a ``UDPServer`` with a thread per datagram.
// @unchecked Sendable: adds no state to UDPServer's.
open class ThreadingUDPServer: UDPServer, @unchecked Sendable {
    /// A thread per datagram: every initialiser of ``UDPServer`` makes one when not given a
    /// `concurrency` of its own.
    open override class var defaultConcurrency: Concurrency { .threading }
}
