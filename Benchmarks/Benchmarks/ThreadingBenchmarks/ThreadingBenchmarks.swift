import Benchmark
import Dispatch
import Glibc
import LoomThreading
import Synchronization

// Every Loom primitive beside its raw baseline, measured the same way:
//   Lock        vs Synchronization.Mutex and pthread_mutex_t (uncontended, and contended by 2 threads)
//   Event       vs DispatchSemaphore (a set→wake ping-pong between two threads)
//   Thread      vs pthread_create + pthread_join
//   Queue       vs a Mutex-guarded array + DispatchSemaphore (put+get between two threads)
// Times are per operation: the loops run `scaledIterations` (×1000) operations per sample.

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput],
        timeUnits: .nanoseconds,
        warmupIterations: 3,
        scalingFactor: .kilo,
        maxDuration: .seconds(2),
        maxIterations: 1_000
    )

    // MARK: Uncontended lock

    Benchmark("Lock.withLock (uncontended)") { benchmark in
        let lock = Lock()
        var counter = 0
        for _ in benchmark.scaledIterations { lock.withLock { counter &+= 1 } }
        blackHole(counter)
    }

    Benchmark("Lock.acquire+release (uncontended)") { benchmark in
        let lock = Lock()
        for _ in benchmark.scaledIterations {
            lock.acquire()
            try? lock.release()
        }
    }

    Benchmark("RLock.withLock (uncontended)") { benchmark in
        let lock = RLock()
        var counter = 0
        for _ in benchmark.scaledIterations { lock.withLock { counter &+= 1 } }
        blackHole(counter)
    }

    Benchmark("baseline: Mutex.withLock (uncontended)") { benchmark in
        let mutex = Mutex(0)
        for _ in benchmark.scaledIterations { mutex.withLock { $0 &+= 1 } }
        blackHole(mutex.withLock { $0 })
    }

    Benchmark("baseline: pthread_mutex lock+unlock (uncontended)") { benchmark in
        let mutex = PthreadMutex()
        var counter = 0
        for _ in benchmark.scaledIterations {
            mutex.lock()
            counter &+= 1
            mutex.unlock()
        }
        blackHole(counter)
    }

    // MARK: Contended lock (two threads, each doing half the operations)

    Benchmark("Lock.withLock (2 threads)") { benchmark in
        let lock = Lock()
        let counter = UnsafeCounter()
        contend(benchmark.scaledIterations.count) { lock.withLock { counter.value &+= 1 } }
        blackHole(counter.value)
    }

    Benchmark("baseline: Mutex.withLock (2 threads)") { benchmark in
        let mutex = Mutex(0)
        contend(benchmark.scaledIterations.count) { mutex.withLock { $0 &+= 1 } }
        blackHole(mutex.withLock { $0 })
    }

    Benchmark("baseline: pthread_mutex (2 threads)") { benchmark in
        let mutex = PthreadMutex()
        let counter = UnsafeCounter()
        contend(benchmark.scaledIterations.count) {
            mutex.lock()
            counter.value &+= 1
            mutex.unlock()
        }
        blackHole(counter.value)
    }

    // MARK: Hand-offs between two threads (one round trip = two hand-offs)

    let handOffs = Benchmark.Configuration(scalingFactor: .one, maxDuration: .seconds(2), maxIterations: 20_000)

    Benchmark("Event ping-pong (round trip)", configuration: handOffs) { benchmark in
        let ping = Event()
        let pong = Event()
        let rounds = benchmark.scaledIterations.count
        let partner = Thread(daemon: true) {
            for _ in 0..<rounds {
                ping.wait()
                ping.clear()
                pong.set()
            }
        }
        try partner.start()
        benchmark.startMeasurement()
        for _ in 0..<rounds {
            ping.set()
            pong.wait()
            pong.clear()
        }
        benchmark.stopMeasurement()
        try partner.join()
    }

    Benchmark("baseline: DispatchSemaphore ping-pong (round trip)", configuration: handOffs) { benchmark in
        let ping = DispatchSemaphore(value: 0)
        let pong = DispatchSemaphore(value: 0)
        let rounds = benchmark.scaledIterations.count
        let partner = Thread(daemon: true) {
            for _ in 0..<rounds {
                ping.wait()
                pong.signal()
            }
        }
        try partner.start()
        benchmark.startMeasurement()
        for _ in 0..<rounds {
            ping.signal()
            pong.wait()
        }
        benchmark.stopMeasurement()
        try partner.join()
    }

    Benchmark("Queue put+get between 2 threads (per item)", configuration: .init(scalingFactor: .kilo)) { benchmark in
        let queue = Queue<Int>()
        let count = benchmark.scaledIterations.count
        let consumer = Thread(daemon: true) {
            for _ in 0..<count { blackHole(try queue.get()) }
        }
        try consumer.start()
        benchmark.startMeasurement()
        for value in 0..<count { try queue.put(value) }
        try consumer.join()
        benchmark.stopMeasurement()
    }

    Benchmark("Queue(maxsize: 1) ping-pong put+get (per item)", configuration: handOffs) { benchmark in
        let queue = Queue<Int>(maxsize: 1)
        let count = benchmark.scaledIterations.count
        let consumer = Thread(daemon: true) {
            for _ in 0..<count { blackHole(try queue.get()) }
        }
        try consumer.start()
        benchmark.startMeasurement()
        for value in 0..<count { try queue.put(value) }
        try consumer.join()
        benchmark.stopMeasurement()
    }

    Benchmark("baseline: Mutex+array+DispatchSemaphore put+get (per item)", configuration: .init(scalingFactor: .kilo)) { benchmark in
        let items = Mutex<[Int]>([])
        let available = DispatchSemaphore(value: 0)
        let count = benchmark.scaledIterations.count
        let consumer = Thread(daemon: true) {
            for _ in 0..<count {
                available.wait()
                blackHole(items.withLock { $0.removeFirst() })
            }
        }
        try consumer.start()
        benchmark.startMeasurement()
        for value in 0..<count {
            items.withLock { $0.append(value) }
            available.signal()
        }
        try consumer.join()
        benchmark.stopMeasurement()
    }

    // MARK: Thread start + join

    let threads = Benchmark.Configuration(scalingFactor: .one, maxDuration: .seconds(2), maxIterations: 5_000)

    Benchmark("Thread start+join", configuration: threads) { benchmark in
        for _ in benchmark.scaledIterations {
            let thread = Thread(daemon: true) {}
            try thread.start()
            try thread.join()
        }
    }

    Benchmark("baseline: pthread_create+pthread_join", configuration: threads) { benchmark in
        for _ in benchmark.scaledIterations {
            var handle = pthread_t()
            pthread_create(&handle, nil, { _ in nil }, nil)
            pthread_join(handle, nil)
        }
    }
}

/// A pthread mutex at a stable heap address.
final class PthreadMutex: @unchecked Sendable {
    // @unchecked Sendable: the pthread mutex is the synchronisation.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    init() {
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
    }
    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }
    @inline(__always) func lock() { pthread_mutex_lock(mutex) }
    @inline(__always) func unlock() { pthread_mutex_unlock(mutex) }
}

/// A plain counter, guarded by whichever lock is being measured.
final class UnsafeCounter: @unchecked Sendable {
    // @unchecked Sendable: only touched under the lock being measured.
    var value = 0
}

/// Runs `operation` `total` times in all, split between this thread and one more.
func contend(_ total: Int, _ operation: @escaping @Sendable () -> Void) {
    let half = total / 2
    let other = Thread(daemon: true) { for _ in 0..<half { operation() } }
    try! other.start()
    for _ in 0..<(total - half) { operation() }
    try! other.join()
}
