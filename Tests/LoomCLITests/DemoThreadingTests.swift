import Foundation
import Testing

/// The threading demos, run as a user runs them: the built `loom` binary in a child process.
/// Each test checks the demo's invariant from its output and exit status.
@Suite struct DemoThreadingTests {
    @Test func threadsPrintsEveryNumberOnceAndWaitsForAllThreads() throws {
        let run = try runDemo(["threads", "--speed", "50"])
        #expect(run.status == 0)
        let numbers = run.lines.dropLast().compactMap { Int($0.replacingOccurrences(of: "running on number: ", with: "")) }
        #expect(numbers.count == 100)
        #expect(numbers.sorted() == Array(0..<100), "every number exactly once, every line whole")
        #expect(run.lines.last == "all 100 threads done")
    }

    @Test func threadSubclassPrintsEveryNumberOnce() throws {
        let run = try runDemo(["thread-subclass", "--speed", "50"])
        #expect(run.status == 0)
        let numbers = run.lines.dropLast().compactMap { line -> Int? in
            guard line.hasPrefix("the number is "), line.hasSuffix("!") else { return nil }
            return Int(line.dropFirst("the number is ".count).dropLast())
        }
        #expect(numbers.sorted() == Array(0..<100))
        #expect(run.lines.count == 101)
        #expect(run.lines.last == "all 100 threads done")
    }

    @Test func joinEndsWithoutWaitingForDaemonThreads() throws {
        // Demo time: children start at 0, 2, 4, 6, 8 s; the program's main thread gives up at 3 s
        // and the process ends. At speed 1 every step has a whole second of margin on a busy machine.
        let run = try runDemo(["join", "--speed", "1"])
        #expect(run.status == 0)
        #expect(run.lines.first == "[0]---------running--------")
        let mainDone = try #require(run.lines.first { $0.hasPrefix("---main thread done----") })
        #expect(mainDone.contains("still running"), "join(timeout:) returned while the thread ran on")
        #expect(run.lines.contains { $0.contains("join(timeout: 2 s) returned") })
        #expect(run.lines.contains("the process ends now without waiting for daemon threads: they stop wherever they are"))
        #expect(!run.lines.contains { $0.hasPrefix("[4]") }, "the daemon threads died with the process")
        #expect(run.seconds < 8, "it did not wait for the children (which would take 10 s at this speed)")
    }

    @Test func joinWithNonDaemonThreadsWaitsForAllOfThem() throws {
        let run = try runDemo(["join", "--speed", "2", "--no-daemon"])
        #expect(run.status == 0)
        for index in 0..<5 { #expect(run.lines.contains("[\(index)]----done-----")) }
        let mainDone = try #require(run.lines.firstIndex { $0.hasPrefix("---main thread done----") })
        let lastChild = try #require(run.lines.firstIndex(of: "[4]---------running--------"))
        #expect(mainDone < lastChild, "the program's main thread finished first, and the process still waited")
        #expect(run.lines.last == "all non-daemon threads finished")
        #expect(run.seconds >= 4.5, "five children of 2 s each, one after another, at speed 2")
    }

    @Test func lockEndsAtOne() throws {
        let run = try runDemo(["lock", "--speed", "10"])
        #expect(run.status == 0)
        #expect(run.lines.filter { $0.hasPrefix("--get num:") }.count == 100)
        #expect(run.lines.last == "final num: 1")
    }

    @Test func rlockCountsTenAndTen() throws {
        let run = try runDemo(["rlock"])
        #expect(run.status == 0)
        #expect(run.lines.filter { $0 == "-----------between run1 and run2 ----------" }.count == 10)
        #expect(run.lines.suffix(2) == ["-----all threads done-------", "10 10"])
    }

    @Test func semaphoreLetsFiveInAtOnce() throws {
        let run = try runDemo(["semaphore", "--speed", "2"])
        #expect(run.status == 0)
        let threads = run.lines.compactMap { Int($0.replacingOccurrences(of: "run the thread: ", with: "")) }
        #expect(threads.sorted() == Array(0..<20))
        #expect(run.lines.suffix(2) == ["----all threads done---", "max inside at once: 5"])
    }

    @Test func eventRunsAWholeCycleAndStops() throws {
        let run = try runDemo(["event", "--seconds", "20", "--speed", "5"])
        #expect(run.status == 0)
        #expect(run.lines.filter { $0 == "--green light on---" }.count == 10)
        #expect(run.lines.filter { $0 == "--yellow light on---" }.count == 3)
        #expect(run.lines.filter { $0 == "--red light on---" }.count == 7)
        for car in 0..<4 { #expect(run.lines.contains { $0.hasPrefix("car [\(car)]") }) }
        #expect(run.lines.allSatisfy { $0.hasPrefix("--") || $0.hasPrefix("car [") || $0.hasPrefix("the traffic light stopped") })
        #expect(run.lines.last == "the traffic light stopped after 20 s; all 4 cars have stopped")
    }

    @Test func badOptionsAreRejected() throws {
        #expect(try runDemo(["threads", "--speed", "0"]).status != 0)
        #expect(try runDemo(["event", "--seconds", "-1"]).status != 0)
    }
}

private struct DemoRun {
    var status: Int32
    var lines: [String]
    var seconds: Double
}

/// The `loom` binary built next to this test bundle.
private func loomBinary() -> URL {
    let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    var directory = executable.deletingLastPathComponent()
    // The test executable sits in `<scratch>/<triple>/debug/`, possibly inside an .xctest bundle.
    while directory.path != "/" {
        let candidate = directory.appendingPathComponent("loom")
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory), !isDirectory.boolValue {
            return candidate
        }
        directory = directory.deletingLastPathComponent()
    }
    // Fallback: the package's default build folder.
    return URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent(".build/debug/loom")
}

/// Runs `loom demo ARGUMENTS…`, killing it if it runs longer than `limit` seconds.
private func runDemo(_ arguments: [String], limit: Double = 60) throws -> DemoRun {
    let process = Process()
    process.executableURL = loomBinary()
    process.arguments = ["demo"] + arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    let start = Date()
    try process.run()
    let watchdog = DispatchWorkItem { if process.isRunning { process.terminate() } }
    DispatchQueue.global().asyncAfter(deadline: .now() + limit, execute: watchdog)
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    watchdog.cancel()
    let text = String(decoding: data, as: UTF8.self)
    var lines = text.components(separatedBy: "\n")
    if lines.last == "" { lines.removeLast() }
    return DemoRun(status: process.terminationStatus, lines: lines, seconds: Date().timeIntervalSince(start))
}
