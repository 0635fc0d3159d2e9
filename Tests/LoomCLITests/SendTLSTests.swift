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

/// `loom serve --tls-cert/--tls-key [--tls-ca --tls-verify-client]`, end to end.
@Suite(.serialized) struct ServeTLSTests {
    private func tlsArguments(_ extra: [String] = []) -> [String] {
        ["--port", "0", "--tls-cert", certificateFolder + "/leaf.pem", "--tls-key", certificateFolder + "/leaf.key"] + extra
    }

    /// Every stream mode serves TLS; the listening line says `tls://`; `loom send --tls` verifies
    /// the server against the CA and gets the course's answer.
    @Test(arguments: ["serial", "threading", "pool", "eventloop", "async"])
    func everyModeServesTLS(mode: String) throws {
        let (child, line) = try serve(tlsArguments(["--mode", mode] + (mode == "eventloop" || mode == "async" ? ["--loops", "1"] : [])))
        defer { child.signal(SIGTERM); _ = child.wait(timeout: .seconds(10)) }
        #expect(line.hasPrefix("listening on tls://127.0.0.1:"), "\(line)")
        let (status, stdout, stderr) = try execute(loomBinary, ["send", "--tls", "--tls-ca", certificateFolder + "/ca.pem", "--host", "localhost",
                                                                "--port", "\(port(of: line))", "--timeout", "10", "hello tls"])
        #expect(status == 0, "\(stderr)")
        #expect(stdout == "HELLO TLS")
        // A plaintext client on the TLS port: refused, logged with OpenSSL's reason; the server serves on.
        _ = try? exchange(port: port(of: line), Array("GET / HTTP/1.0\r\n\r\n".utf8))
        let again = try execute(loomBinary, ["send", "--tls", "--tls-ca", certificateFolder + "/ca.pem", "--host", "localhost",
                                             "--port", "\(port(of: line))", "--timeout", "10", "again"])
        #expect(again.1 == "AGAIN", "\(again.2)")
        child.signal(SIGTERM)
        #expect(child.wait(timeout: .seconds(10)) == 0)
        let log = String(decoding: child.readToEnd(child.stderr, timeout: .seconds(2)), as: UTF8.self)
        #expect(log.contains("TLS with 127.0.0.1") && log.contains("http request"), "\(log)")
    }

    /// Mutual TLS: a client certificate signed by --tls-ca is served; none is refused with a log line.
    @Test(arguments: ["threading", "eventloop"])
    func verifyClientRequiresASignedCertificate(mode: String) throws {
        let (child, line) = try serve(tlsArguments(["--mode", mode, "--tls-ca", certificateFolder + "/ca.pem", "--tls-verify-client"]))
        defer { child.signal(SIGTERM); _ = child.wait(timeout: .seconds(10)) }
        let script = """
            import socket, ssl, sys
            c = ssl.create_default_context(cafile='ca.pem')
            if sys.argv[1] == 'yes':
                c.load_cert_chain('leaf.pem', 'leaf.key')
            try:
                s = c.wrap_socket(socket.create_connection(('127.0.0.1', \(port(of: line))), timeout=10), server_hostname='localhost')
                s.sendall(b'mutual')
                print(s.recv(100).decode() or 'EOF')
            except (ssl.SSLError, OSError) as e:
                print('refused', type(e).__name__)
            """
        let signed = try execute("/usr/bin/env", ["python3", "-c", script, "yes"], in: certificateFolder)
        #expect(signed.1.contains("MUTUAL"), "\(signed.1) \(signed.2)")
        let unsigned = try execute("/usr/bin/env", ["python3", "-c", script, "no"], in: certificateFolder)
        #expect(unsigned.1.contains("refused"), "\(unsigned.1) \(unsigned.2)")
        child.signal(SIGTERM)
        _ = child.wait(timeout: .seconds(10))
        let log = String(decoding: child.readToEnd(child.stderr, timeout: .seconds(2)), as: UTF8.self)
        #expect(log.contains("TLS with 127.0.0.1") && log.contains("certificate"), "\(log)")
    }

    /// `loom bench --tls` against `loom serve --tls-*`: verified echoes, and with --handshakes a
    /// handshake count; a server it cannot verify is an error, not a measurement.
    @Test func benchSpeaksTLS() throws {
        let (child, line) = try serve(tlsArguments(["--mode", "eventloop", "--loops", "1", "--handler", "echo"]))
        defer { child.signal(SIGTERM); _ = child.wait(timeout: .seconds(10)) }
        let common = ["bench", "--tls", "--port", "\(port(of: line))", "-c", "2", "-d", "3", "-w", "0.2", "--json"]
        let echo = try execute(loomBinary, common + ["--tls-ca", certificateFolder + "/ca.pem"], timeout: 30)
        #expect(echo.0 == 0, "\(echo.1) \(echo.2)")
        #expect(echo.1.contains("\"errors\": 0") && !echo.1.contains("\"requests\": 0,"), "\(echo.1)")
        let handshakes = try execute(loomBinary, common + ["--insecure", "--handshakes"], timeout: 30)
        #expect(handshakes.0 == 0, "\(handshakes.2)")
        #expect(handshakes.1.contains("handshakes_per_s") && !handshakes.1.contains("\"handshakes_per_s\": 0}"), "\(handshakes.1)")
        let unverified = try execute(loomBinary, common, timeout: 30)  // the system's roots do not know the test CA
        #expect(unverified.0 != 0, "\(unverified.1)")
    }

    /// A certificate or key that cannot be used: one line naming the file and the reason,
    /// exit 1, nothing listening.
    @Test func badCertificateOrKeyIsOneLineAndExitOne() throws {
        let folder = certificateFolder
        let cases: [([String], String, String)] = [
            (["--tls-cert", folder + "/missing.pem", "--tls-key", folder + "/leaf.key"], "missing.pem", "no such file"),
            (["--tls-cert", folder + "/leaf.pem", "--tls-key", folder + "/missing.key"], "missing.key", "no such file"),
            (["--tls-cert", folder + "/leaf.pem", "--tls-key", folder + "/self.key"], "self.key", "mismatch"),
            (["--tls-cert", folder + "/leaf.ext", "--tls-key", folder + "/leaf.key"], "leaf.ext", "pem"),
        ]
        for (arguments, file, reason) in cases {
            let (status, stdout, stderr) = try execute(loomBinary, ["serve", "--port", "0"] + arguments, timeout: 10)
            #expect(status == 1, "\(arguments): \(stderr)")
            #expect(stdout.isEmpty, "\(stdout)")
            #expect(stderr.filter { $0 == "\n" }.count == 1, "\(stderr)")
            #expect(stderr.hasPrefix("loom serve: ") && stderr.contains(file) && stderr.lowercased().contains(reason), "\(stderr)")
        }
        let usage = try execute(loomBinary, ["serve", "--port", "0", "--tls-cert", folder + "/leaf.pem"], timeout: 10)
        #expect(usage.0 != 0 && usage.2.contains("--tls-key"), "\(usage.2)")
        let verify = try execute(loomBinary, ["serve", "--port", "0", "--tls-verify-client"], timeout: 10)
        #expect(verify.0 != 0 && verify.2.contains("--tls-cert"), "\(verify.2)")
    }
}
