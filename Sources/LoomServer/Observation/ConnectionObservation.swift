import LoomSockets
import LoomSystem

/// A threaded server's connection as its observer sees it: told when it starts (on the serving
/// thread), then once at its end (on the handler's thread), with the kernel's byte totals read
/// just before the connection is shut down. Exists only when an observer is set.
struct ConnectionObservation: Sendable {
    let observer: any ServerObserver
    let start: Deadline

    init(_ observer: any ServerObserver) {
        self.observer = observer
        start = .now()
        observer.connectionAccepted()
    }

    func handlerFailed(_ error: any Error) {
        observer.handlerFailed(error)
    }

    /// Before `shutdownRequest`: after it, unsent bytes would no longer be the handler's alone.
    func closing(_ connection: Socket) {
        let totals = (try? connection.tcpByteTotals()) ?? (received: 0, sent: 0)
        observer.connectionClosed(ClosedConnection(
            bytesRead: totals.received, bytesWritten: totals.sent, duration: Deadline.now().duration(since: start)))
    }
}
