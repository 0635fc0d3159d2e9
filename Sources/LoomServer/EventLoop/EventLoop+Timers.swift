import LoomSockets
import LoomSystem

/// The loop's timers: users' callbacks (asyncio's `call_later`) and the loop's own housekeeping,
/// all on one ``TimerHeap``.
extension EventLoop {
    /// Runs `callback` on the loop's thread once `delay` has passed (asyncio's `call_later`), never
    /// earlier. Safe from any thread. Cancel it with the returned ``Cancellable``. A callback still
    /// pending when the loop stops does not run.
    @discardableResult
    public func schedule(after delay: Duration, _ callback: @escaping @Sendable () -> Void) -> Cancellable {
        let timer = Cancellable(callback)
        // The deadline is taken now, on the caller's clock reading, whichever thread it is.
        let deadline = Deadline.after(max(.zero, delay)).nanoseconds
        if isOnLoopThread {
            timers.schedule(at: deadline, .user(timer))
        } else {
            execute { [self] in timers.schedule(at: deadline, .user(timer)) }
        }
        return timer
    }

    /// Fires the timers due at the turn's clock, then the housekeeping they may have woken.
    func runTimers() {
        while let entry = timers.popDue(now: now) {
            if case .user(let timer) = entry.kind, !timer.isCancelled { timer.action() }
        }
        acceptor.checkPause()
        if let check = idleCheckAt, now >= check { sweepIdle() }
    }

    /// After a connection arrives: make sure an idle sweep is planned.
    func scheduleIdleSweepIfNeeded() {
        guard let timeout = group.idleTimeoutNanoseconds, idleCheckAt == nil else { return }
        idleCheckAt = now.saturatingAdding(timeout)
        timers.schedule(at: idleCheckAt!, .wakeUp)
    }

    /// Closes connections idle for longer than the idle timeout. Runs at most every eighth of the
    /// timeout, so a connection is closed between 1× and 1.125× the timeout after its last I/O.
    private func sweepIdle() {
        guard let timeout = group.idleTimeoutNanoseconds, connectionCount > 0 else {
            idleCheckAt = nil
            return
        }
        var oldest = Int64.max
        for case let transport? in connections where transport.state != .closed {
            if now - transport.lastActivity >= timeout {
                transport.terminate(SocketError.idleTimeout)
            } else {
                oldest = min(oldest, transport.lastActivity)
            }
        }
        if oldest == .max {
            idleCheckAt = nil
        } else {
            let next = max(oldest.saturatingAdding(timeout), now.saturatingAdding(max(1, timeout / 8)))
            idleCheckAt = next
            timers.schedule(at: next, .wakeUp)
        }
    }
}
