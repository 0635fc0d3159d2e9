import LoomSystem
import Synchronization

/// A thread-safe FIFO queue: Python's `queue.Queue`.
///
/// Bounded by ``maxsize`` (0 or less: unbounded). `put` blocks while the queue is full and `get`
/// while it is empty, each forever, for a timeout, or not at all; ``taskDone()`` and ``join()``
/// let a producer wait until every item has been processed; ``shutdown(immediate:)`` (Python
/// 3.13) ends it for producers and, once drained, for consumers.
///
/// ```swift
/// let jobs = Queue<Int>(maxsize: 10)
/// Thread { while let job = try? jobs.get() { handle(job); try? jobs.taskDone() } }.start()
/// try jobs.put(42)
/// jobs.join()
/// ```
///
/// ``LifoQueue`` and ``PriorityQueue`` are subclasses with the same API and another order.
public class Queue<Element: Sendable>: @unchecked Sendable {
    // @unchecked Sendable: every stored `var` (here and in subclasses) is guarded by `mutex`;
    // the elements handed between threads are Sendable.
    let mutex = FutexMutex()
    private let notEmpty = WaitList()
    private let notFull = WaitList()
    private let allTasksDone = WaitList()
    private var buffer = RingBuffer<Element>()
    private var limit: Int
    private var unfinishedTasks = 0
    private var isShutDownFlag = false
    /// The item count, mirrored outside the mutex so a waiter can spin on it without the lock.
    private let approximateCount = Atomic<Int>(0)

    /// A queue holding at most `maxsize` items; 0 or less means unbounded.
    public init(maxsize: Int = 0) {
        limit = maxsize
    }

    /// Before parking, drops the mutex and spins briefly until `ready` (read from the atomic
    /// count) holds: in a stream of hand-offs the other thread usually acts within a microsecond,
    /// and a spin costs no system call on either side. Returns with the mutex held again.
    private func spinOutsideLock(until ready: (Int) -> Bool) {
        mutex.unlock()
        for _ in 0..<spinLimit where ready(approximateCount.load(ordering: .relaxed)) { break }
        mutex.lock()
    }

    // Storage, overridden by the subclasses; always called with `mutex` held.
    func storagePut(_ item: Element) { buffer.append(item) }
    func storageGet() -> Element { buffer.removeFirst()! }
    var storageCount: Int { buffer.count }

    /// Whether a `put` must wait; re-read on every wake-up, since ``maxsize`` may have changed
    /// (to 0 or less: unbounded) meanwhile.
    private var isAtLimit: Bool { limit > 0 && storageCount >= limit }

    /// The bound; 0 or less means unbounded. May be changed at any time; every `put` re-reads it.
    public var maxsize: Int {
        get { mutex.withLock { limit } }
        set {
            mutex.withLock {
                limit = newValue
                notFull.notifyAll()
            }
        }
    }

    /// The number of items (a snapshot).
    public var qsize: Int { mutex.withLock { storageCount } }

    /// Whether the queue holds no items (a snapshot; Python's `empty()`).
    public var isEmpty: Bool { mutex.withLock { storageCount == 0 } }

    /// Whether a bounded queue is at its bound (a snapshot; Python's `full()`).
    public var isFull: Bool { mutex.withLock { limit > 0 && storageCount >= limit } }

    /// Whether ``shutdown(immediate:)`` has been called.
    public var isShutDown: Bool { mutex.withLock { isShutDownFlag } }

    /// Adds `item`. On a full bounded queue: waits for room, forever (`timeout: nil`) or for at
    /// most `timeout`; with `block: false` fails at once.
    ///
    /// - Throws: ``QueueError/shutDown`` if the queue is (or gets) shut down;
    ///   ``QueueError/full`` when there is no room in time; ``QueueError/negativeTimeout`` for a
    ///   negative timeout on a bounded queue (as Python, even when there is room).
    public func put(_ item: Element, block: Bool = true, timeout: Duration? = nil) throws(QueueError) {
        mutex.lock()
        defer { mutex.unlock() }
        if isShutDownFlag { throw .shutDown }
        if limit > 0 {
            if !block {
                if storageCount >= limit { throw .full }
            } else if let timeout {
                if timeout < .zero { throw .negativeTimeout }
                let deadline = Deadline.after(timeout)
                if storageCount >= limit { spinOutsideLock { [limit] in $0 < limit } }
                while isAtLimit {
                    if isShutDownFlag { throw .shutDown }
                    if deadline.hasPassed { throw .full }
                    _ = notFull.wait(releasing: mutex, deadline: deadline)
                    if isShutDownFlag { throw .shutDown }
                }
            } else {
                if storageCount >= limit { spinOutsideLock { [limit] in $0 < limit } }
                while isAtLimit {
                    if isShutDownFlag { throw .shutDown }
                    _ = notFull.wait(releasing: mutex, deadline: nil)
                    if isShutDownFlag { throw .shutDown }
                }
            }
        }
        storagePut(item)
        approximateCount.store(storageCount, ordering: .relaxed)
        unfinishedTasks += 1
        notEmpty.notify()
    }

    /// `put(item, block: false)`.
    public func putNowait(_ item: Element) throws(QueueError) {
        try put(item, block: false)
    }

    /// Removes and returns the next item. On an empty queue: waits for one, forever
    /// (`timeout: nil`) or for at most `timeout`; with `block: false` fails at once.
    ///
    /// - Throws: ``QueueError/shutDown`` once the queue is shut down and empty;
    ///   ``QueueError/empty`` when no item comes in time; ``QueueError/negativeTimeout`` for a
    ///   negative timeout (as Python, even when items are available).
    public func get(block: Bool = true, timeout: Duration? = nil) throws(QueueError) -> Element {
        mutex.lock()
        defer { mutex.unlock() }
        if isShutDownFlag && storageCount == 0 { throw .shutDown }
        if !block {
            if storageCount == 0 { throw .empty }
        } else if let timeout {
            if timeout < .zero { throw .negativeTimeout }
            let deadline = Deadline.after(timeout)
            if storageCount == 0 { spinOutsideLock { $0 > 0 } }
            while storageCount == 0 {
                if isShutDownFlag { throw .shutDown }
                if deadline.hasPassed { throw .empty }
                _ = notEmpty.wait(releasing: mutex, deadline: deadline)
                if isShutDownFlag && storageCount == 0 { throw .shutDown }
            }
        } else {
            if storageCount == 0 { spinOutsideLock { $0 > 0 } }
            while storageCount == 0 {
                if isShutDownFlag { throw .shutDown }
                _ = notEmpty.wait(releasing: mutex, deadline: nil)
                if isShutDownFlag && storageCount == 0 { throw .shutDown }
            }
        }
        let item = storageGet()
        approximateCount.store(storageCount, ordering: .relaxed)
        notFull.notify()
        return item
    }

    /// `get(block: false)`.
    public func getNowait() throws(QueueError) -> Element {
        try get(block: false)
    }

    /// Marks one item taken with `get` as processed; when every item put has been processed,
    /// ``join()`` returns.
    ///
    /// - Throws: ``QueueError/taskDoneTooManyTimes`` if called more times than items were put.
    public func taskDone() throws(QueueError) {
        try mutex.withLock { () throws(QueueError) in
            let unfinished = unfinishedTasks - 1
            if unfinished < 0 { throw .taskDoneTooManyTimes }
            unfinishedTasks = unfinished
            if unfinished == 0 { allTasksDone.notifyAll() }
        }
    }

    /// Blocks until every item ever put has been marked done with ``taskDone()`` (or removed by
    /// an immediate shutdown). Returns at once if none is pending.
    public func join() {
        mutex.withLock {
            while unfinishedTasks > 0 {
                _ = allTasksDone.wait(releasing: mutex, deadline: nil)
            }
        }
    }

    /// Shuts the queue down (Python 3.13): every `put`, blocked or future, throws
    /// ``QueueError/shutDown``; `get` goes on returning the remaining items and then throws it.
    /// With `immediate: true` the remaining items are dropped first (each counted as done, so
    /// ``join()`` returns). May be called again, e.g. `immediate` after a plain shutdown.
    public func shutdown(immediate: Bool = false) {
        mutex.withLock {
            isShutDownFlag = true
            if immediate {
                while storageCount > 0 {
                    _ = storageGet()
                    if unfinishedTasks > 0 { unfinishedTasks -= 1 }
                }
                approximateCount.store(0, ordering: .relaxed)
                allTasksDone.notifyAll()
            }
            notEmpty.notifyAll()
            notFull.notifyAll()
        }
    }
}

/// A thread-safe LIFO queue (a stack): Python's `queue.LifoQueue`. Same API as ``Queue``; `get`
/// returns the item put last.
public final class LifoQueue<Element: Sendable>: Queue<Element>, @unchecked Sendable {
    // @unchecked Sendable: `stack` is guarded by the inherited `mutex`.
    private var stack: [Element] = []

    /// A stack holding at most `maxsize` items; 0 or less means unbounded.
    public override init(maxsize: Int = 0) {
        super.init(maxsize: maxsize)
    }

    override func storagePut(_ item: Element) { stack.append(item) }
    override func storageGet() -> Element { stack.removeLast() }
    override var storageCount: Int { stack.count }
}

/// A thread-safe priority queue: Python's `queue.PriorityQueue`. Same API as ``Queue``; `get`
/// returns the smallest item, by `<` or by the given comparator.
///
/// ```swift
/// let work = PriorityQueue<(priority: Int, job: String)>(by: { $0.priority < $1.priority })
/// ```
public final class PriorityQueue<Element: Sendable>: Queue<Element>, @unchecked Sendable {
    // @unchecked Sendable: `heap` is guarded by the inherited `mutex`; the comparator is
    // @Sendable.
    private var heap: Heap<Element>

    /// A priority queue ordered by `areInIncreasingOrder`, holding at most `maxsize` items.
    public init(maxsize: Int = 0, by areInIncreasingOrder: @escaping @Sendable (Element, Element) -> Bool) {
        heap = Heap(by: areInIncreasingOrder)
        super.init(maxsize: maxsize)
    }

    override func storagePut(_ item: Element) { heap.insert(item) }
    override func storageGet() -> Element { heap.popMin()! }
    override var storageCount: Int { heap.count }
}

extension PriorityQueue where Element: Comparable {
    /// A priority queue ordered by `<`, holding at most `maxsize` items.
    public convenience init(maxsize: Int = 0) {
        self.init(maxsize: maxsize, by: { $0 < $1 })
    }
}
