import Dispatch
import LoomSockets
import LoomSystem

/// Work handed to a loop by other threads, taken at the next turn.
struct Inbox {
    var jobs: [UnownedJob] = []
    var sockets: [Socket] = []
    var callbacks: [@Sendable () -> Void] = []
    /// Set when the loop has returned: nothing will drain the inbox any more.
    var closed = false
}

/// The loop as the async handlers' `TaskExecutor`, and the inbox through which other threads hand
/// it jobs, accepted connections and callbacks.
extension EventLoop: TaskExecutor {
    /// Runs `job` on the loop: at once in this turn's job queue from the loop's own thread, else
    /// through the inbox. Once the loop has returned, on Dispatch's global queue.
    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        if isOnLoopThread && !jobsClosed {
            localJobs.append(job)
            return
        }
        let queued = inbox.withLock { inbox in
            guard !inbox.closed else { return false }
            inbox.jobs.append(job)
            return true
        }
        if queued {
            signalInbox()
        } else {
            // The loop is gone (a task outlived the grace period): run the job on a Dispatch thread
            // rather than strand it, as if on this executor so the task does not hop back here. Such
            // a task shares nothing with the loop any more (its transport is gone), only the atomic
            // task count; a task's jobs never run two at a time.
            DispatchQueue.global().async { [self] in job.runSynchronously(on: asUnownedTaskExecutor()) }
        }
    }

    /// Runs `callback` on the loop's thread at its next turn (asyncio's `call_soon_threadsafe`).
    /// Safe from any thread, the loop's own included. Returns false, and runs nothing, once the
    /// loop has stopped.
    @discardableResult
    public func execute(_ callback: @escaping @Sendable () -> Void) -> Bool {
        let queued = inbox.withLock { inbox in
            guard !inbox.closed else { return false }
            inbox.callbacks.append(callback)
            return true
        }
        if queued { signalInbox() }
        return queued
    }

    /// Hands an accepted connection to this loop (from the acceptor loop).
    func post(_ socket: Socket) {
        let queued = inbox.withLock { inbox in
            guard !inbox.closed else { return false }
            inbox.sockets.append(socket)
            return true
        }
        if queued {
            signalInbox()
        } else {
            socket.close()
            group.connectionClosed()
        }
    }

    private func signalInbox() {
        inboxPending.store(true, ordering: .releasing)
        waker.wakeup()
    }

    func drainInbox() {
        // Cleared before taking the inbox: a producer that appends after this sets it again.
        inboxPending.store(false, ordering: .relaxed)
        let taken = inbox.withLock { inbox in
            defer {
                inbox.jobs.removeAll(keepingCapacity: true)
                inbox.sockets.removeAll(keepingCapacity: true)
                inbox.callbacks.removeAll(keepingCapacity: true)
            }
            return (inbox.jobs, inbox.sockets, inbox.callbacks)
        }
        localJobs.append(contentsOf: taken.0)
        for socket in taken.1 {
            if group.isStopping {
                socket.close()
                group.connectionClosed()
            } else {
                adopt(socket)
            }
        }
        for callback in taken.2 { callback() }
    }

    func runJobs() {
        // Only the jobs queued so far: a task that keeps rescheduling itself cannot starve I/O.
        guard !localJobs.isEmpty else { return }
        swap(&localJobs, &runningJobs)
        let executor = asUnownedTaskExecutor()
        for job in runningJobs {
            job.runSynchronously(on: executor)
        }
        runningJobs.removeAll(keepingCapacity: true)
    }

    /// From now on no job waits for this loop: the inbox is closed and what it holds runs once
    /// here; anything a task schedules later goes to the global executor.
    func closeInbox() {
        let taken = inbox.withLock { inbox in
            inbox.closed = true
            defer { inbox = Inbox(closed: true) }
            return (inbox.jobs, inbox.sockets, inbox.callbacks)
        }
        for socket in taken.1 {
            socket.close()
            group.connectionClosed()
        }
        for callback in taken.2 { callback() }  // accepted by execute(): run, once, on the loop's thread
        localJobs.append(contentsOf: taken.0)
        jobsClosed = true
        runJobs()
    }
}
