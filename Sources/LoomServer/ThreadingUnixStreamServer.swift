/// Python's `socketserver.ThreadingUnixStreamServer`: a ``UnixStreamServer`` with a thread per connection.
// @unchecked Sendable: adds no state to UnixStreamServer's.
open class ThreadingUnixStreamServer: UnixStreamServer, @unchecked Sendable {
    /// A thread per connection: every initialiser of ``UnixStreamServer`` makes one when not given a
    /// `concurrency` of its own.
    open override class var defaultConcurrency: Concurrency { .threading }
}
