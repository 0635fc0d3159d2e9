import LoomSystem
import Foundation
import Synchronization
import Testing
import Loom

/// `loom bench` end to end, and `loom serve --mode eventloop|async` as the process users run.
@Suite("loom bench and loom serve --mode eventloop")
struct BenchTests {
    @Test(arguments: [1, 4])
    func benchVerifiesEveryEchoOfAnInProcessServer(pipeline: Int) throws {
        let server = try EventLoopServer(configuration: .init(loops: 1)) { EchoProtocol() }
        server.start()
        defer { server.shutdown(gracePeriod: .zero) }
        let run = try runLoom(["bench", "--port", "\(server.serverAddress.port)", "-c", "8", "-k", "\(pipeline)",
                               "-s", "100", "-d", "3", "-w", "0.1", "--json"])   // 3 s: a busy machine still completes some
        #expect(run.status == 0, "\(run.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        #expect(json["errors"] as? Int == 0)
        #expect(json["connected"] as? Int == 8)
        #expect(json["primed"] as? Int == 8)
        #expect((json["requests"] as? Int ?? 0) > 0)
        #expect((json["p99_us"] as? Double ?? 0) > 0)
        #expect(json["bytes"] as? Int == (json["requests"] as? Int ?? -1) * 100)
    }

    @Test func benchCountsCorruptedRepliesAndFails() throws {
        /// Echoes, but turns every "q" into "Q": the patterns contain q, so replies mismatch.
        final class Corrupting: StreamProtocol {
            var transport: Transport?
            func connectionMade(_ transport: Transport) { self.transport = transport }
            func dataReceived(bytes: [UInt8]) { transport?.write(bytes.map { $0 == 113 ? 81 : $0 }) }
        }
        let server = try EventLoopServer(configuration: .init(loops: 1)) { Corrupting() }
        server.start()
        defer { server.shutdown(gracePeriod: .zero) }
        let run = try runLoom(["bench", "--port", "\(server.serverAddress.port)", "-c", "4", "-d", "0.3", "-w", "0", "--json"])
        #expect(run.status == 3)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        #expect((json["mismatches"] as? Int ?? 0) > 0)
    }

    @Test func connectOnlyHoldsEveryConnection() throws {
        let server = try EventLoopServer(configuration: .init(loops: 1)) { EchoProtocol() }
        server.start()
        defer { server.shutdown(gracePeriod: .zero) }
        let run = try runLoom(["bench", "--port", "\(server.serverAddress.port)", "-c", "300", "--connect-only", "-d", "0.3"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("held 300/300 idle connections"))
        #expect(run.stdout.contains("300 answered the verifying echo"))
    }

    @Test func refusedAndRemoteTargetsAreReported() throws {
        let refused = try runLoom(["bench", "--port", "1", "-d", "0.2"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("could not connect"))
        let remote = try runLoom(["bench", "--host", "192.0.2.1", "--port", "9", "-d", "0.2"])
        #expect(remote.status == 2)
        #expect(remote.stderr.contains("--allow-remote"))
        let invalid = try runLoom(["bench", "--port", "9", "--pipeline", "0"])
        #expect(invalid.status != 0)
    }

    @Test(arguments: ["eventloop", "async"])
    func serveModeIsBenchmarkedAndStopsOnSIGINT(mode: String) throws {
        let server = try LoomServerProcess(["serve", "--mode", mode, "--handler", "echo", "--port", "0", "--loops", "2"])
        let run = try runLoom(["bench", "--port", "\(server.port)", "-c", "20", "-k", "2", "-d", "0.5", "-w", "0.1", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("\"errors\": 0"))
        #expect(server.interrupt() == 0)
    }

    @Test func serveUpperAnswersOneMessageAndCloses() throws {
        let server = try LoomServerProcess(["serve", "--mode", "eventloop", "--handler", "upper", "--port", "0"])
        defer { _ = server.interrupt() }
        let socket = try Socket.createConnection(host: "127.0.0.1", port: server.port, timeout: .seconds(10))
        try socket.sendAll("mango ")
        var reply: [UInt8] = []
        while true {
            let chunk = try socket.recv(maxBytes: 100)
            if chunk.isEmpty { break }
            reply += chunk
        }
        #expect(String(decoding: reply, as: UTF8.self) == "MANGO")
    }

    /// Out of descriptors (RLIMIT_NOFILE 48 in the child): the server neither dies nor spins, and
    /// serves the waiting clients once descriptors are free again.
    @Test func runningOutOfDescriptorsBacksOffAndRecovers() throws {
        let server = try LoomServerProcess(["serve", "--mode", "eventloop", "--handler", "echo", "--port", "0", "--loops", "1"],
                                           descriptorLimit: 48)
        defer { _ = server.interrupt() }
        var clients: [Socket] = []
        for _ in 0..<70 {  // the backlog takes them all; the server can accept only about 40
            clients.append(try Socket.createConnection(host: "127.0.0.1", port: server.port, timeout: .seconds(10)))
        }
        for client in clients { try client.sendAll("x") }
        func answered(_ client: Socket, within timeout: Duration) -> Bool {
            client.timeout = timeout
            return (try? client.recv(maxBytes: 1)) == Array("x".utf8)
        }
        // The first ones are served.
        #expect(answered(clients[0], within: .seconds(10)))
        usleep(200_000)
        // Served ones answer at once; the first unserved one costs its whole wait, once.
        let servedFirst = 1 + clients.dropFirst().prefix(while: { answered($0, within: .seconds(3)) }).count
        #expect(servedFirst >= 20 && servedFirst < 70)
        // Out of descriptors: waiting, not spinning (a spinning loop burns ~50 ticks in 0.5 s).
        let ticks0 = server.cpuTicks()
        usleep(500_000)
        #expect(server.cpuTicks() - ticks0 < 25)
        #expect(server.isRunning)
        // Descriptors come back: every waiting client gets its echo.
        for client in clients.prefix(servedFirst) { client.close() }
        for client in clients.dropFirst(servedFirst + 1) {
            #expect(answered(client, within: .seconds(10)))
        }
        #expect(server.stderrText.contains("too many open files") || server.stderrText.contains("Too many open files"))
    }
}

// MARK: - Helpers

private struct LoomRun {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// The `loom` binary built next to this test bundle.
private func loomExecutable() -> URL {
    var directory = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
    while directory.path != "/" {
        let candidate = directory.appendingPathComponent("loom")
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory), !isDirectory.boolValue {
            return candidate
        }
        directory = directory.deletingLastPathComponent()
    }
    return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".build/debug/loom")
}

/// Runs `loom ARGUMENTS…` to the end, killed after `limit` seconds.
private func runLoom(_ arguments: [String], limit: Double = 60) throws -> LoomRun {
    let process = Process()
    process.executableURL = loomExecutable()
    process.arguments = arguments
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let watchdog = DispatchWorkItem { if process.isRunning { process.terminate() } }
    DispatchQueue.global().asyncAfter(deadline: .now() + limit, execute: watchdog)
    let errorData = DataBox()
    let errReader = DispatchWorkItem { errorData.data.withLock { $0 = err.fileHandleForReading.readDataToEndOfFile() } }
    DispatchQueue.global().async(execute: errReader)
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    errReader.wait()
    watchdog.cancel()
    return LoomRun(status: process.terminationStatus, stdout: String(decoding: data, as: UTF8.self),
                   stderr: String(decoding: errorData.data.withLock { $0 }, as: UTF8.self))
}

private final class DataBox: Sendable {
    let data = Protected(Data())
}

/// A `loom serve …` child process on a free port, stopped with SIGINT (or killed after 60 s).
private final class LoomServerProcess: @unchecked Sendable {  // used from the test's thread only; stderr is collected under a mutex
    let process = Process()
    let port: Int
    private let stderrData = DataBox()
    private let watchdog: DispatchWorkItem
    /// Whose readability handler collects stderr: cleared when the process is done, or Foundation
    /// keeps the handler (and what it collected) alive for ever.
    private let stderrHandle: FileHandle

    init(_ arguments: [String], descriptorLimit: Int? = nil) throws {
        if let descriptorLimit {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "ulimit -n \(descriptorLimit) && exec \"$0\" \"$@\"", loomExecutable().path] + arguments
        } else {
            process.executableURL = loomExecutable()
            process.arguments = arguments
        }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let process = self.process
        watchdog = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + 60, execute: watchdog)
        let box = stderrData
        stderrHandle = err.fileHandleForReading
        err.fileHandleForReading.readabilityHandler = { handle in
            let chunk = handle.availableData
            box.data.withLock { $0.append(chunk) }
        }
        // The one stdout line: "listening on tcp://127.0.0.1:PORT".
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        let text = String(decoding: line, as: UTF8.self)
        guard let portText = text.split(separator: ":").last?.split(separator: "\n").first, let port = Int(portText) else {
            process.terminate()
            throw CocoaError(.fileReadCorruptFile, userInfo: [NSLocalizedDescriptionKey: "no listening line: \(text)"])
        }
        self.port = port
    }

    var isRunning: Bool { process.isRunning }
    var stderrText: String { String(decoding: stderrData.data.withLock { $0 }, as: UTF8.self) }

    /// utime + stime of the server, in clock ticks.
    func cpuTicks() -> Int {
        guard let stat = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0)
    }

    /// SIGINT, then the exit status (killed after 10 s).
    func interrupt() -> Int32 {
        guard process.isRunning else { return process.terminationStatus }
        kill(process.processIdentifier, SIGINT)
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        watchdog.cancel()
        stderrHandle.readabilityHandler = nil
        return process.terminationStatus
    }

    deinit {
        stderrHandle.readabilityHandler = nil
    }
}
