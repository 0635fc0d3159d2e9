#if canImport(Glibc)
import Glibc
#endif
import LoomSockets
import LoomSystem

/// The requests inside a server: how many (for `maxConnections` and the pool's capacity), on which
/// threads (so `serverClose()` from a handler does not wait for itself), and their connections
/// (so a graceful shutdown can close what is left after its deadline).
///
/// A request counts from the moment it is accepted until its connection is closed, so a flood
/// never outruns the limit while threads are still starting.
// @unchecked Sendable: every stored property is read and written with the monitor held.
final class ActiveRequests: @unchecked Sendable {
    private struct Entry {
        var thread: pthread_t?
        let connection: Socket?
    }

    private let monitor = Monitor()
    private var entries: [Int: Entry] = [:]
    private var nextToken = 0
    private var loopWaitsForCapacity = false
    private let limit: Int?
    private let wake: EventWaker
    private let observer: (any ServerObserver)?

    init(limit: Int?, wake: EventWaker, observer: (any ServerObserver)? = nil) {
        self.limit = limit
        self.wake = wake
        self.observer = observer
    }

    /// Requests in the server now.
    var count: Int { monitor.withLock { entries.count } }

    /// True when one more request fits. When it does not, the next ``end(_:)`` that frees a slot
    /// signals the wake-up descriptor, so the serve loop can sleep without polling the listener.
    func hasCapacity() -> Bool {
        guard let limit else { return true }
        let (room, filledUp) = monitor.withLock { () -> (Bool, Bool) in
            if entries.count < limit { return (true, false) }
            // Once per time the server fills up: the flag stays set until a slot frees.
            defer { loopWaitsForCapacity = true }
            return (false, !loopWaitsForCapacity)
        }
        if filledUp { observer?.connectionLimitReached() }
        return room
    }

    /// Records a request accepted on the serving thread; returns its token.
    func begin(connection: Socket?) -> Int {
        monitor.withLock {
            nextToken &+= 1
            entries[nextToken] = Entry(thread: nil, connection: connection)
            return nextToken
        }
    }

    /// Records the thread that runs the request.
    func attach(_ token: Int) {
        let me = pthread_self()
        monitor.withLock { entries[token]?.thread = me }
    }

    /// Records a finished request and wakes whoever waits for a slot or for the server to empty.
    func end(_ token: Int) {
        let signal = monitor.withLock { () -> Bool in
            entries[token] = nil
            monitor.broadcast()
            if loopWaitsForCapacity, let limit, entries.count < limit {
                loopWaitsForCapacity = false
                return true
            }
            return false
        }
        if signal { wake.wakeup() }
    }

    /// Waits until no request is left but the caller's own (when a handler calls it), or until
    /// `deadline`. Returns true when the server emptied.
    func waitUntilIdle(until deadline: Deadline?) -> Bool {
        let me = pthread_self()
        return monitor.withLock {
            func others() -> Int {
                entries.values.reduce(0) { count, entry in
                    count + ((entry.thread.map { pthread_equal($0, me) != 0 } ?? false) ? 0 : 1)
                }
            }
            while others() > 0 {
                if let deadline {
                    if !monitor.wait(until: deadline) { return others() == 0 }
                } else {
                    monitor.wait()
                }
            }
            return true
        }
    }

    /// Shuts down both directions of every connection still open, so blocked handlers wake up
    /// (their `recv` returns end-of-file, their sends fail) and finish. Descriptors stay open
    /// until their handlers close them, so no number is reused under a running handler.
    func abortAll() -> Int {
        let connections = monitor.withLock { entries.values.compactMap(\.connection) }
        for connection in connections {
            try? connection.shutdown(.both)
        }
        return connections.count
    }
}
