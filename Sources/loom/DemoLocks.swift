import ArgumentParser
import Loom
import Synchronization

/// A value the demos guard with one of Loom's locks.
final class Guarded<Value>: @unchecked Sendable {
    // @unchecked Sendable: every access goes through the demo's Lock/RLock.
    var value: Value
    init(_ value: Value) { self.value = value }
}

/// `loom demo lock`: 100 threads decrement a counter under a Lock.
///
/// The course's program joined only the last thread (it looped over `tl` but joined `t`);
/// here every thread is joined before the final value is printed.
struct DemoLock: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "lock", abstract: "100 threads decrement a counter under a Lock.")

    @OptionGroup var time: Speed

    func run() throws {
        let lock = Lock()
        let num = Guarded(101)
        let time = self.time
        var threads: [Thread] = []
        for _ in 0..<100 {
            let thread = Thread {
                Console.line("--get num:\(lock.withLock { num.value })")
                Thread.sleep(for: time.scaled(1))
                lock.withLock { num.value -= 1 }
            }
            try thread.start()
            threads.append(thread)
        }
        for thread in threads { try thread.join() }  // every thread, not only the last
        Console.line("final num: \(lock.withLock { num.value })")
    }
}

/// `loom demo rlock`: Nested run1/run2 inside one RLock.
///
/// The course's program busy-waited on `active_count()`; here every thread is joined.
struct DemoRLock: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rlock", abstract: "Nested run1/run2 inside one RLock.")

    func run() throws {
        let lock = RLock()
        let nums = Guarded((num: 0, num2: 0))

        @Sendable func run1() -> Int {
            Console.line("grab the first part data")
            return lock.withLock {
                nums.value.num += 1
                return nums.value.num
            }
        }
        @Sendable func run2() -> Int {
            Console.line("grab the second part data")
            return lock.withLock {
                nums.value.num2 += 1
                return nums.value.num2
            }
        }
        @Sendable func run3() {
            let (res, res2) = lock.withLock {
                let res = run1()  // takes the same RLock again: fine, it is reentrant
                Console.line("-----------between run1 and run2 ----------")
                let res2 = run2()
                return (res, res2)
            }
            Console.line("\(res) \(res2)")
        }

        let threads = (0..<10).map { _ in Thread(target: run3) }
        for thread in threads { try thread.start() }
        for thread in threads { try thread.join() }
        Console.line("-----all threads done-------")
        let (num, num2) = lock.withLock { nums.value }
        Console.line("\(num) \(num2)")
    }
}

/// `loom demo semaphore`: A BoundedSemaphore(5) shared by 20 threads.
///
/// The course's program busy-waited on `active_count()`; here every thread is joined, and the
/// high-water mark of threads inside at once shows the semaphore's bound.
struct DemoSemaphore: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "semaphore", abstract: "A BoundedSemaphore(5) shared by 20 threads.")

    @OptionGroup var time: Speed

    func run() throws {
        let semaphore = try BoundedSemaphore(5)
        let inside = Atomic<Int>(0)
        let highWater = Atomic<Int>(0)
        let time = self.time
        let threads = (0..<20).map { n in
            Thread {
                semaphore.withAcquired {
                    highWater.max(inside.add(1, ordering: .relaxed).newValue, ordering: .relaxed)
                    Thread.sleep(for: time.scaled(1))
                    Console.line("run the thread: \(n)")
                    inside.subtract(1, ordering: .relaxed)
                }
            }
        }
        for thread in threads { try thread.start() }
        for thread in threads { try thread.join() }
        Console.line("----all threads done---")
        Console.line("max inside at once: \(highWater.load(ordering: .relaxed))")
    }
}
