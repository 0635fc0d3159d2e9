#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LoomTestSupport
import Testing
@testable import LoomSockets

/// Starts `python3 -c script args…` with stdout piped.
private func startPython(_ script: String, _ arguments: [String] = []) throws -> (Process, Pipe) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python3Path!)
    process.arguments = ["-c", script] + arguments
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    return (process, output)
}

/// Reads the first line the process prints.
private func firstLine(of pipe: Pipe) -> String {
    var line: [UInt8] = []
    let handle = pipe.fileHandleForReading
    while true {
        let byte = handle.readData(ofLength: 1)
        if byte.isEmpty || byte.first == 0x0A { break }
        line.append(byte.first!)
    }
    return String(decoding: line, as: UTF8.self)
}

extension SocketTests {
    @Suite struct PythonInterop {
        @Test func aPythonClientTalksToALoomServer() throws {
            guard python3Path != nil else {
                print("Python interop test skipped: no python3 in /usr/bin or /usr/local/bin")
                return
            }
            let server = try Socket.createServer(port: 0)
            server.timeout = .seconds(10)
            // The client splits the UTF-8 of "我" across two sends with a pause in between.
            let script = """
            import socket, sys, time
            s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
            data = "mango 我下线了！\\n".encode()
            s.sendall(data[:7]); time.sleep(0.2); s.sendall(data[7:])
            s.shutdown(socket.SHUT_WR)
            reply = b""
            while True:
                chunk = s.recv(3)
                if not chunk: break
                reply += chunk
            print(reply.decode())
            """
            let (python, output) = try startPython(script, [String(try server.localAddress.port)])
            let (connection, peer) = try server.accept()
            #expect(peer.host == "127.0.0.1")
            connection.timeout = .seconds(10)
            let line = try BufferedReader(connection).readLine()
            #expect(String(decoding: line, as: UTF8.self) == "mango 我下线了！\n")
            try connection.sendAll(String(decoding: line, as: UTF8.self).uppercased())
            connection.close()
            #expect(firstLine(of: output) == "MANGO 我下线了！")
            python.waitUntilExit()
            #expect(python.terminationStatus == 0)
        }

        @Test func aLoomClientTalksToAPythonServer() throws {
            guard python3Path != nil else {
                print("Python interop test skipped: no python3 in /usr/bin or /usr/local/bin")
                return
            }
            let script = """
            import socket, sys
            server = socket.create_server(("127.0.0.1", 0))
            print(server.getsockname()[1], flush=True)
            server.settimeout(10)
            conn, _ = server.accept()
            conn.settimeout(10)
            while True:
                data = conn.recv(65536)
                if not data: break
                conn.sendall(data)
            conn.close()
            """
            let (python, output) = try startPython(script)
            let port = Int(firstLine(of: output))
            try #require(port != nil)
            let client = try Socket.createConnection(host: "127.0.0.1", port: port!, timeout: .seconds(10))
            let payload = pattern(1 << 20, seed: 5)
            let writer = TestThread {
                try? client.sendAll(payload)
                try? client.shutdown(.write)
            }
            let echoed = try BufferedReader(client).readToEnd(maxLength: 2 << 20)
            writer.join()
            #expect(echoed == payload)
            python.waitUntilExit()
            #expect(python.terminationStatus == 0)
        }
    }
}
