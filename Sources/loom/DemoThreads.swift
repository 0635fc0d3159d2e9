import ArgumentParser
import LoomSystem
import Loom

/// The time-scale option of the timed demos: every sleep and timeout is divided by it.
struct Speed: ParsableArguments {
    @Option(help: "Time scale: 2 runs twice as fast (every sleep and timeout is divided by it).")
    var speed: Double = 1

    func validate() throws {
        guard speed > 0, speed.isFinite else { throw ValidationError("--speed must be a positive number") }
    }

    /// `seconds` of demo time, in real time.
    func scaled(_ seconds: Double) -> Duration {
        .nanoseconds(Int64(seconds / speed * 1e9))
    }
}

/// `loom demo threads`: 100 threads started from a closure.
///
/// The course's program starts them and ends its main module without joining them; Python then
/// waits for every non-daemon thread. Loom does the same, explicitly, with
/// `Thread.waitForNonDaemonThreads()`.
struct DemoThreads: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "threads", abstract: "100 threads started from a closure.")

    @OptionGroup var time: Speed

    func run() throws {
        let time = self.time
        for index in 0..<100 {
            let thread = Thread {
                Thread.sleep(for: time.scaled(Double(Int.random(in: 0...5))))
                Console.line("running on number: \(index)")
                Thread.sleep(for: time.scaled(3))
            }
            try thread.start()
        }
        // What Python does when the main module ends: wait for every non-daemon thread.
        Thread.waitForNonDaemonThreads()
        Console.line("all 100 threads done")
    }
}

/// The course's `MyThread`: a `Thread` subclass overriding `run()`.
final class NumberThread: Thread, @unchecked Sendable {
    // @unchecked Sendable: adds only immutable state.
    let number: Int
    let time: Speed

    init(_ number: Int, time: Speed) {
        self.number = number
        self.time = time
        super.init()
    }

    override func run() {
        Thread.sleep(for: time.scaled(Double(Int.random(in: 0...3))))
        Console.line("the number is \(number)!")
    }
}

/// `loom demo thread-subclass`: 100 threads from a Thread subclass overriding run().
struct DemoThreadSubclass: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "thread-subclass", abstract: "100 threads from a Thread subclass overriding run().")

    @OptionGroup var time: Speed

    func run() throws {
        let threads = (0..<100).map { NumberThread($0, time: time) }
        for thread in threads { try thread.start() }
        for thread in threads { try thread.join() }
        Console.line("all 100 threads done")
    }
}

/// `loom demo join`: join(timeout:) and daemon threads, as Python really behaves.
///
/// A "main" thread starts 5 children one after another and joins each with a 2 s timeout while
/// each sleeps 2 s; the program's main thread joins that thread with a 3 s timeout and ends.
/// `join(timeout:)` never stops a thread: it only stops waiting. A daemon thread (the default
/// here, as in the course) is not waited for, so the process ends with it still running; with
/// `--no-daemon` the process waits for every thread, as Python does at exit.
struct DemoJoin: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "join", abstract: "join(timeout:) and daemon threads, as Python really behaves.")

    @OptionGroup var time: Speed

    @Flag(inversion: .prefixedNo, help: "Make the \"main\" thread (and so its children) a daemon thread.")
    var daemon = true

    func run() throws {
        let time = self.time
        let main = Thread(name: "main", daemon: daemon) {
            for index in 0..<5 {
                let child = Thread {
                    Console.line("[\(index)]---------running--------")
                    Thread.sleep(for: time.scaled(2))
                    Console.line("[\(index)]----done-----")
                }
                try child.start()
                let start = Deadline.now()
                let finished = try child.join(timeout: time.scaled(2))
                let waited = Self.seconds(Deadline.now().duration(since: start), time)
                Console.line("starting thread, the name is \(child.name): join(timeout: 2 s) returned after \(waited) s, "
                    + (finished ? "the thread has finished" : "the thread is still running (join never stops a thread)"))
            }
        }
        try main.start()
        let start = Deadline.now()
        let finished = try main.join(timeout: time.scaled(3))
        let waited = Self.seconds(Deadline.now().duration(since: start), time)
        Console.line("---main thread done---- join(timeout: 3 s) returned after \(waited) s; "
            + "thread \(main.name) is \(finished ? "finished" : "still running") (daemon: \(main.isDaemon))")
        if daemon {
            Console.line("the process ends now without waiting for daemon threads: they stop wherever they are")
        } else {
            Console.line("waiting for every non-daemon thread before the process ends, as Python does")
            Thread.waitForNonDaemonThreads()
            Console.line("all non-daemon threads finished")
        }
    }

    /// A real duration, in demo seconds, to two decimals.
    static func seconds(_ duration: Duration, _ time: Speed) -> String {
        let (whole, atto) = duration.components
        let value = (Double(whole) + Double(atto) / 1e18) * time.speed
        return String(Double(Int((value * 100).rounded())) / 100)
    }
}
