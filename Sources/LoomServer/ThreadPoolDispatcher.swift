import LoomSystem
#if canImport(Glibc)
import Glibc
#endif

/// A fixed set of worker threads and a bounded queue of requests waiting for one.
///
/// The queue never overflows: the serve loop stops accepting once `workers + backlog` requests
/// are inside (``Concurrency/capacity``), so further clients wait in the kernel's listen backlog.
/// Workers start with the first request and exit after ``stop(wait:)`` once the queue is empty.
// @unchecked Sendable: the queue, the worker list and the flags are only touched with the monitor held.
final class ThreadPoolDispatcher: RequestDispatcher, @unchecked Sendable {
    private let monitor = Monitor()
    private var queue: [(@Sendable () -> Void)?] = []
    private var head = 0
    private var started = false
    private var stopping = false
    private var workerThreads: [pthread_t] = []
    private var liveWorkers = 0
    private let workers: Int
    private let backlog: Int
    private let name: String
    private let stackSize: Int?

    init(workers: Int, backlog: Int, name: String, stackSize: Int?) {
        self.workers = workers
        self.backlog = backlog
        self.name = name
        self.stackSize = stackSize
    }

    func dispatch(_ work: @escaping @Sendable () -> Void) throws(ServerError) {
        let startWorkers = monitor.withLock { () -> Bool in
            queue.append(work)
            monitor.broadcast()
            defer { started = true }
            return !started
        }
        guard startWorkers else { return }
        for index in 0..<workers {
            monitor.withLock { liveWorkers += 1 }
            do throws(ServerError) {
                try HandlerThread.spawn(name: name, daemon: false, stackSize: stackSize) { [self] in runWorker() }
            } catch {
                let noWorker = monitor.withLock { () -> Bool in
                    liveWorkers -= 1
                    monitor.broadcast()
                    guard index == 0 else { return false }
                    // Not one worker: take the request back so the caller can close it.
                    started = false
                    queue.removeLast()
                    return true
                }
                if noWorker { throw error }
                break
            }
        }
    }

    private func runWorker() {
        let me = pthread_self()
        monitor.withLock { workerThreads.append(me) }
        while let work = next() {
            work()
        }
        monitor.withLock {
            workerThreads.removeAll { pthread_equal($0, me) != 0 }
            liveWorkers -= 1
            monitor.broadcast()
        }
    }

    private func next() -> (@Sendable () -> Void)? {
        monitor.withLock {
            while head == queue.count {
                if stopping { return nil }
                monitor.wait()
            }
            let work = queue[head]
            queue[head] = nil
            head += 1
            if head == queue.count || head > 1024 {
                queue.removeFirst(head)
                head = 0
            }
            return work
        }
    }

    func stop(wait: Bool) {
        let me = pthread_self()
        monitor.withLock {
            stopping = true
            monitor.broadcast()
            guard wait else { return }
            let mine = workerThreads.contains { pthread_equal($0, me) != 0 } ? 1 : 0
            while liveWorkers - mine > 0 {
                monitor.wait()
            }
        }
    }
}
