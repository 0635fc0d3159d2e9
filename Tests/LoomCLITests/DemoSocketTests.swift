#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Loom
import Testing

/// The built `loom` binary: next to the test bundle (`.build/<config>/loom`).
private let loomBinary: String = {
    let bundle = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    return bundle.deletingLastPathComponent().appendingPathComponent("loom").path
}()

/// A running `loom` with its stdout and stderr piped, read line by line with a deadline.
private final class LoomProcess {
    let process = Process()
    private let stdout = Pipe()
    private let stderr = Pipe()
    private var pending: [UInt8] = []

    init(_ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: loomBinary)
        process.arguments = arguments
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
    }

    /// The next stdout line, or nil at end of output or after `timeout`.
    func nextLine(timeout: Duration = .seconds(15)) -> String? {
        let fd = stdout.fileHandleForReading.fileDescriptor
        let deadline = ContinuousClock.now + timeout
        while true {
            if let newline = pending.firstIndex(of: 0x0A) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                return line
            }
            let left = ContinuousClock.now.duration(to: deadline)
            if left <= .zero { return nil }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let millis = Int32(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1)
            if poll(&pfd, 1, millis) <= 0 { continue }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = read(fd, &buffer, buffer.count)
            if count <= 0 { return pending.isEmpty ? nil : String(decoding: pending, as: UTF8.self) }
            pending += buffer[..<count]
        }
    }

    /// Everything left on stderr once the process has exited.
    func errorOutput() -> String {
        String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    }

    /// Waits at most `timeout` for the exit; kills the process (by its PID) if it does not.
    func exitStatus(timeout: Duration = .seconds(15)) -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now >= deadline {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                return nil
            }
            usleep(10_000)
        }
        return process.terminationReason == .exit ? process.terminationStatus : -process.terminationStatus
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// Starts `loom demo socket-server --port 0` and returns it with the port it printed.
private func startServer() throws -> (LoomProcess, Int) {
    let server = try LoomProcess(["demo", "socket-server", "--port", "0"])
    let line = server.nextLine() ?? ""
    #expect(line.hasPrefix("listening on tcp://127.0.0.1:"), "got: \(line)")
    let port = try #require(Int(line.split(separator: ":").last ?? ""))
    return (server, port)
}

/// Reads until the server closes the connection.
private func readAll(_ socket: Socket) throws -> [UInt8] {
    socket.timeout = .seconds(15)
    return try BufferedReader(socket).readToEnd()
}

@Suite(.serialized) struct DemoSocketTests {
    @Test func serverAndClientRunTheCourseExchange() throws {
        let (server, port) = try startServer()
        let client = try LoomProcess(["demo", "socket-client", "--port", String(port), "--delay", "0.2"])
        #expect(client.nextLine() == "不要回答,不要回答,不要回答")
        #expect(client.nextLine() == "我下线了")
        #expect(client.exitStatus() == 0)
        #expect(server.nextLine() == #"{"status":true,"leave":true,"msg":"我下线了！"}"#)
        server.process.interrupt()   // SIGINT
        #expect(server.nextLine() == "server stopped")
        #expect(server.exitStatus() == 0)
    }

    @Test func aClientWithNothingListeningFailsInOneLine() throws {
        let probe = try Socket.createServer(port: 0)
        let port = try probe.localAddress.port
        probe.close()
        let client = try LoomProcess(["demo", "socket-client", "--port", String(port), "--delay", "0"])
        let status = client.exitStatus()
        #expect(status != nil && status != 0)
        #expect(client.nextLine() == nil)
        #expect(client.errorOutput() == "socket-client: connect to 127.0.0.1:\(port): connection refused\n")
    }

    @Test func aMultiByteCharacterSplitAcrossReadsArrivesIntact() throws {
        let (server, port) = try startServer()
        // Like the course's client: no half-close, so the server must see the JSON end by itself.
        let client = try Socket.createConnection(host: "127.0.0.1", port: port, timeout: .seconds(15))
        let message = Array(#"{"status":true,"leave":true,"msg":"我下线了！"}"#.utf8)
        let split = message.firstIndex(of: 0xE6)! + 1             // inside the 3 bytes of 我
        try client.sendAll(Array(message[..<split]))
        usleep(600_000)                                           // longer than the server's pause limit
        try client.sendAll(Array(message[split...]))
        #expect(String(decoding: try readAll(client), as: UTF8.self) == "不要回答,不要回答,不要回答")
        #expect(server.nextLine() == String(decoding: message, as: UTF8.self))
        server.process.terminate()   // SIGTERM
        #expect(server.nextLine() == "server stopped")
        #expect(server.exitStatus() == 0)
    }

    @Test func theClientDecodesAReplySplitInsideACharacter() throws {
        let listener = try Socket.createServer(port: 0)
        let client = try LoomProcess(["demo", "socket-client", "--port", String(try listener.localAddress.port), "--delay", "0"])
        listener.timeout = .seconds(15)
        let (connection, _) = try listener.accept()
        let request = try readAll(connection)                      // the client half-closes after sending
        #expect(String(decoding: request, as: UTF8.self) == #"{"status":true,"leave":true,"msg":"我下线了！"}"#)
        let reply = Array("不要回答,不要回答,不要回答".utf8)
        try connection.sendAll(Array(reply[..<2]))                 // 2 of the 3 bytes of 不
        usleep(50_000)   // short: the client reads for only a second after the first bytes
        try connection.sendAll(Array(reply[2...]))
        connection.close()
        #expect(client.nextLine() == "不要回答,不要回答,不要回答")
        #expect(client.nextLine() == "我下线了")
        #expect(client.exitStatus() == 0)
    }

    @Test func hostilePeersDoNotStopTheServer() throws {
        let (server, port) = try startServer()
        // 1. Connects and leaves at once, sending nothing.
        try Socket.createConnection(host: "127.0.0.1", port: port).close()
        // 2. Resets the connection mid-message.
        let resetter = try Socket.createConnection(host: "127.0.0.1", port: port)
        try resetter.sendAll(#"{"half":"#)
        try resetter.setOption(.linger, Linger(.zero))
        resetter.close()
        // 3. Garbage that is not UTF-8, then a pause.
        let garbage = try Socket.createConnection(host: "127.0.0.1", port: port)
        try garbage.sendAll([0xFF, 0xFE, 0x00, 0x41, 0xC3])
        #expect(String(decoding: try readAll(garbage), as: UTF8.self) == "不要回答,不要回答,不要回答")
        // 4. A flood larger than any message: cut at the limit, answered, connection closed.
        let flood = try Socket.createConnection(host: "127.0.0.1", port: port, timeout: .seconds(15))
        let sender = Foundation.Thread {
            _ = try? flood.sendAll([UInt8](repeating: 0x5B, count: 1 << 20))   // "[[[[…": never balances
        }
        sender.start()
        _ = try? readAll(flood)
        flood.close()
        // Still serving: the course's exchange works.
        let client = try LoomProcess(["demo", "socket-client", "--port", String(port), "--delay", "0"])
        #expect(client.nextLine() == "不要回答,不要回答,不要回答")
        #expect(client.exitStatus() == 0)
        server.process.interrupt()
        var sawStop = false
        while let line = server.nextLine(timeout: .seconds(15)) {
            if line == "server stopped" { sawStop = true; break }
        }
        #expect(sawStop)
        #expect(server.exitStatus() == 0)
    }

    @Test func theServerReportsAPortInUseAndExits() throws {
        let taken = try Socket.createServer(port: 0)
        let port = try taken.localAddress.port
        let server = try LoomProcess(["demo", "socket-server", "--port", String(port)])
        #expect(server.exitStatus() == 1)
        #expect(server.errorOutput() == "socket-server: bind to 127.0.0.1:\(port): address already in use\n")
    }
}
