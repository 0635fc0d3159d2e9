#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

// `loom send --tls` end to end, against Python's `ssl` server, with certificates made at test
// time by the `openssl` command (no key is committed).

/// The built `loom` next to the test bundle, else under the package's .build/debug.
private let loomBinary: String = {
    var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    for _ in 0..<5 {
        let candidate = directory.appendingPathComponent("loom").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        directory.deleteLastPathComponent()
    }
    var root = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { root.deleteLastPathComponent() }
    return root.appendingPathComponent(".build/debug/loom").path
}()

/// Runs a process to its end (killed after `timeout`): exit status, stdout, stderr.
private func execute(_ executable: String, _ arguments: [String], in directory: String? = nil,
                     timeout: TimeInterval = 30) throws -> (Int32, String, String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let pid = process.processIdentifier
    let watchdog = DispatchWorkItem { kill(pid, SIGKILL) }
    DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    watchdog.cancel()
    return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
}

/// A CA, a server certificate for localhost/127.0.0.1 signed by it, and a self-signed one.
private let certificateFolder: String = {
    let folder = NSTemporaryDirectory() + "loom-cli-tls-\(getpid())"
    try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let script = """
    set -e
    key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$1" 2>/dev/null; }
    key ca.key; openssl req -x509 -key ca.key -out ca.pem -days 30 -subj "/CN=Loom CLI Test CA"
    key leaf.key; openssl req -new -key leaf.key -out leaf.csr -subj "/CN=localhost"
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > leaf.ext
    openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out leaf.pem -days 30 -extfile leaf.ext 2>/dev/null
    key self.key; openssl req -x509 -key self.key -out self.pem -days 30 -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost"
    """
    _ = try? execute("/bin/sh", ["-c", script], in: folder)
    return folder
}()

/// Python's `ssl` server for one connection: reads until close_notify, answers upper-cased.
private final class PythonTLSServer {
    let process = Process()
    let port: Int

    init(certificate: String, key: String) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-u", "-c", """
            import socket, ssl
            c = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            c.load_cert_chain("\(certificate)", "\(key)")
            with socket.create_server(("127.0.0.1", 0)) as listener:
                print(listener.getsockname()[1], flush=True)
                raw, _ = listener.accept()
                raw.settimeout(10)
                try:
                    with c.wrap_socket(raw, server_side=True) as s:
                        data = b""
                        while chunk := s.recv(1000):
                            data += chunk
                        s.sendall(data.upper())
                except (ssl.SSLError, OSError):
                    pass
            """]
        process.currentDirectoryURL = URL(fileURLWithPath: certificateFolder)
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        var line = Data()
        let handle = out.fileHandleForReading
        while !line.contains(10) {
            let byte = handle.readData(ofLength: 1)
            if byte.isEmpty { break }
            line += byte
        }
        port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }

    deinit {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

@Suite(.serialized) struct SendTLSTests {
    /// Verified against the CA file and the host name: the reply is printed, exit 0.
    @Test func sendVerifiesAgainstTheCA() throws {
        let server = try PythonTLSServer(certificate: "leaf.pem", key: "leaf.key")
        let (status, stdout, stderr) = try execute(loomBinary, ["send", "--tls", "--tls-ca", certificateFolder + "/ca.pem",
                                                                "--host", "localhost", "--port", "\(server.port)", "--timeout", "10", "hello tls"])
        #expect(status == 0, "\(stderr)")
        #expect(stdout == "HELLO TLS")
    }

    /// A self-signed server: one line on stderr with OpenSSL's reason, exit 1.
    @Test func sendRefusesAnUnverifiedServer() throws {
        let server = try PythonTLSServer(certificate: "self.pem", key: "self.key")
        let (status, stdout, stderr) = try execute(loomBinary, ["send", "--tls", "--tls-ca", certificateFolder + "/ca.pem",
                                                                "--port", "\(server.port)", "--server-name", "localhost", "--timeout", "10", "x"])
        #expect(status == 1)
        #expect(stdout.isEmpty)
        #expect(stderr.hasPrefix("loom send: tls handshake: certificate verify failed: self"), "\(stderr)")
        #expect(stderr.filter { $0 == "\n" }.count == 1)
    }

    /// A name the certificate does not carry: "hostname mismatch", exit 1.
    @Test func sendChecksTheServerName() throws {
        let server = try PythonTLSServer(certificate: "leaf.pem", key: "leaf.key")
        let (status, _, stderr) = try execute(loomBinary, ["send", "--tls", "--tls-ca", certificateFolder + "/ca.pem",
                                                           "--port", "\(server.port)", "--server-name", "wrong.example", "--timeout", "10", "x"])
        #expect(status == 1)
        #expect(stderr == "loom send: tls handshake: certificate verify failed: hostname mismatch\n")
    }

    /// `--insecure` talks to the self-signed server anyway.
    @Test func sendInsecureSkipsVerification() throws {
        let server = try PythonTLSServer(certificate: "self.pem", key: "self.key")
        let (status, stdout, stderr) = try execute(loomBinary, ["send", "--tls", "--insecure", "--port", "\(server.port)",
                                                                "--timeout", "10", "anyway"])
        #expect(status == 0, "\(stderr)")
        #expect(stdout == "ANYWAY")
    }

    /// TLS options without --tls, or with --udp: a usage error before any connection.
    @Test func sendRejectsInconsistentOptions() throws {
        let (status, _, stderr) = try execute(loomBinary, ["send", "--insecure", "x"])
        #expect(status != 0)
        #expect(stderr.contains("need --tls"), "\(stderr)")
        let (udpStatus, _, udpError) = try execute(loomBinary, ["send", "--tls", "--udp", "x"])
        #expect(udpStatus != 0)
        #expect(udpError.contains("--udp"), "\(udpError)")
    }
}
