/// The outcome of one non-blocking read or write, without allocating an error: the event
/// loop's hot path (SwiftNIO's `IOResult`, with end of file and failure as values too).
package enum IOResult: Equatable, Sendable {
    /// This many bytes moved (never 0 for a read of a non-empty buffer: see ``endOfFile``).
    case bytes(Int)
    /// `EAGAIN`: try again when the selector reports readiness.
    case wouldBlock
    /// The peer closed its side (a read returned 0).
    case endOfFile
    /// Any other errno; `EINTR` never appears (it is retried).
    case failed(Int32)
}
