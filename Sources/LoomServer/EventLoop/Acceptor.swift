import LoomSockets
import LoomSystem

/// A loop's listening socket and the rules for accepting from it: bursts of at most 64, a pause
/// at `maxConnections`, and a back-off when accepting fails for lack of descriptors or memory.
/// Loop-bound: used only on its loop's thread.
final class Acceptor {
    enum Pause { case none, maxConnections, failing }

    /// The loop owns the acceptor and outlives it; set once, right after both are made.
    unowned(unsafe) var loop: EventLoop!
    private(set) var listener: Socket?
    private var registered = false
    private(set) var pause = Pause.none
    private var backoff = AcceptBackoff()

    init(listener: Socket?) {
        self.listener = listener
    }

    /// Accepts what is queued, up to 64 connections a turn so other work is not starved.
    func acceptBurst() {
        guard let listener, pause == .none, !loop.group.isStopping else { return }
        let group = loop.group
        for _ in 0..<64 {
            guard group.reserveConnection() else {
                pause(.maxConnections)
                return
            }
            do {
                guard let socket = try listener.acceptNonBlocking() else {
                    group.connectionClosed()
                    return
                }
                backoff.reset()
                group.dispatch(socket, from: loop)
            } catch {
                group.connectionClosed()
                switch error.kind {
                case .connectionAborted, .connectionReset, .permissionDenied:
                    continue  // that client is gone; the next may be fine
                default:
                    // Out of descriptors (EMFILE, ENFILE), buffers or memory (ENOBUFS, ENOMEM), or a broken
                    // listener: the listener stays readable and level-triggered epoll would spin. Stop
                    // watching it and retry after the back-off, or as soon as one of our connections closes.
                    if backoff.pause() { loop.report(error, peer: nil) }
                    pause(.failing)
                    if let until = backoff.pausedUntil { loop.timers.schedule(at: until.nanoseconds, .wakeUp) }
                    return
                }
            }
        }
    }

    private func pause(_ reason: Pause) {
        pause = reason
        if registered, let listener {
            _ = try? loop.selector.unregister(listener)
            registered = false
        }
        if reason == .maxConnections { loop.group.noteAcceptPaused() }
    }

    /// Watches the listener again (after a pause, or at start).
    func resume() {
        guard let listener, !registered, !loop.group.isStopping else { return }
        pause = .none
        registered = (try? loop.selector.register(listener, events: .read, data: nil)) != nil
    }

    /// A connection closed: a descriptor is free again, so a failing accept may succeed now.
    func connectionClosed() {
        if pause == .failing { resume() }
    }

    /// At each turn's timers: resume once there is room again or the back-off is over.
    func checkPause() {
        if pause == .maxConnections, loop.group.hasRoom { resume() }
        if pause == .failing, !backoff.isPaused() { resume() }
    }

    /// Stops accepting for good and closes the listener (the server is stopping).
    func close() {
        guard let listener else { return }
        if registered { _ = try? loop.selector.unregister(listener) }
        registered = false
        listener.close()
        self.listener = nil
    }
}
