#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LoomSockets
import LoomTLS
import Synchronization
import Testing
import LoomThreading
import LoomTestSupport

/// Every TLS test runs alone: descriptor counts stay meaningful and the 2-core machine is not
/// flooded by handshakes racing each other.
@Suite(.serialized, .timeLimit(.minutes(3))) struct TLSTests {}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs a command to completion (bounded: killed after `timeout`) and returns its exit status and output.
@discardableResult
func run(_ arguments: [String], in directory: String? = nil, input: String? = nil,
         timeout: Duration = .seconds(30)) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    let stdin = Pipe()
    process.standardInput = stdin
    try process.run()
    if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
    try stdin.fileHandleForWriting.close()
    let pid = process.processIdentifier
    let killer = Watchdog(after: timeout) { kill(pid, SIGKILL) }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    killer.cancel()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// A one-shot watchdog on its own thread (Foundation's timers need a run loop).
final class Watchdog: Sendable {
    private let cancelled = Atomic<Bool>(false)
    private let done = LoomThreading.Event()
    init(after delay: Duration, _ action: @escaping @Sendable () -> Void) {
        let thread = LoomThreading.Thread(daemon: true) { [self] in
            if !done.wait(timeout: delay), !cancelled.load(ordering: .acquiring) { action() }
        }
        try? thread.start()
    }
    func cancel() {
        cancelled.store(true, ordering: .releasing)
        done.set()
    }
}

/// Test certificates, made once per test run with the `openssl` command in a temporary folder:
/// a root CA, an intermediate CA, a leaf for localhost/127.0.0.1 (signed by the intermediate,
/// served with it), a leaf for other.test (signed by the root), an expired leaf, a self-signed leaf, a client certificate
/// signed by the root and one signed by a rogue CA. No private key is committed anywhere.
final class Certificates: Sendable {
    let directory: String
    private static let cache = Shared<Certificates?>(nil)

    static func shared() throws -> Certificates {
        let made = cache.update { cached -> Certificates? in
            if cached == nil { cached = try? Certificates() }
            return cached
        }
        guard let made else { throw TestFailure("could not make the test certificates with openssl") }
        return made
    }

    func path(_ name: String) -> String { directory + "/" + name }

    private init() throws {
        directory = NSTemporaryDirectory() + "loom-tls-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let script = """
        set -e
        key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$1" 2>/dev/null; }
        printf 'basicConstraints=critical,CA:TRUE\\nkeyUsage=critical,keyCertSign,cRLSign\\n' > ca.ext
        key ca.key; openssl req -x509 -key ca.key -out ca.pem -days 3650 -subj "/O=Loom Tests/CN=Loom Test Root CA"
        key inter.key; openssl req -new -key inter.key -out inter.csr -subj "/O=Loom Tests/CN=Loom Test Intermediate CA"
        openssl x509 -req -in inter.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out inter.pem -days 3650 -extfile ca.ext 2>/dev/null
        leaf() { # name, subject CN, SAN, signer, days
          key "$1.key"; openssl req -new -key "$1.key" -out "$1.csr" -subj "/O=Loom Tests/CN=$2"
          printf "subjectAltName=$3\\nextendedKeyUsage=serverAuth,clientAuth\\n" > "$1.ext"
          openssl x509 -req -in "$1.csr" -CA "$4.pem" -CAkey "$4.key" -CAcreateserial -out "$1.pem" -days "$5" -extfile "$1.ext" 2>/dev/null
        }
        leaf leaf localhost "DNS:localhost,IP:127.0.0.1" inter 365
        cat leaf.pem inter.pem > leaf-chain.pem
        leaf other other.test "DNS:other.test" ca 365
        cp other.pem other-chain.pem
        leaf expired localhost "DNS:localhost,IP:127.0.0.1" inter -1
        cat expired.pem inter.pem > expired-chain.pem
        leaf client "Loom Client" "DNS:client.test" ca 365
        key rogue.key; openssl req -x509 -key rogue.key -out rogue.pem -days 3650 -subj "/CN=Rogue CA"
        leaf rogueclient "Rogue Client" "DNS:client.test" rogue 365
        key self.key; openssl req -x509 -key self.key -out self.pem -days 365 -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1"
        openssl pkey -in leaf.key -aes256 -passout pass:sesame -out leaf-encrypted.key
        """
        let result = try run(["sh", "-c", script], in: directory)
        guard result.status == 0 else { throw TestFailure("openssl failed: \(result.output)") }
    }

    /// A server context presenting `certificate` (a chain file) with `key`.
    func serverContext(_ certificate: String = "leaf-chain.pem", key: String = "leaf.key") throws -> TLSContext {
        let context = try TLSContext(purpose: .clientAuth)
        try context.loadCertChain(certificate: path(certificate), privateKey: path(key))
        return context
    }

    /// A client context trusting only the test root CA.
    func clientContext() throws -> TLSContext {
        let context = try TLSContext(purpose: .serverAuth)
        try context.loadVerifyLocations(caFile: path("ca.pem"))
        return context
    }
}

/// A listening socket on 127.0.0.1 and a server thread that runs `body` for each accepted
/// connection, `count` times; errors go to `errors`.
final class TestServer: Sendable {
    let listener: Socket
    let port: Int
    private let thread: LoomThreading.Thread
    /// Errors thrown by the server's body, described.
    let failures = Shared<[String]>([])

    init(count: Int = 1, _ body: @escaping @Sendable (Socket) throws -> Void) throws {
        listener = try Socket.createServer(host: "127.0.0.1", port: 0)
        port = try listener.localAddress.port
        let listener = self.listener
        let failures = self.failures
        thread = LoomThreading.Thread {
            for _ in 0..<count {
                guard let (connection, _) = try? listener.accept() else { return }
                connection.timeout = .seconds(20)
                do { try body(connection) } catch { failures.update { $0.append("\(error)") } }
                connection.close()
            }
        }
        try thread.start()
    }

    /// Waits (bounded) for the server thread to finish and returns its errors.
    func finish(timeout: Duration = .seconds(60)) throws -> [String] {
        let finished = try thread.join(timeout: timeout)
        listener.close()
        guard finished else { throw TestFailure("server thread did not finish within \(timeout)") }
        return failures.value
    }
}

/// A background process (openssl s_server, a Python server…) killed when the test ends.
final class BackgroundProcess {
    let process = Process()
    private let output = Pipe()
    private let input = Pipe()

    init(_ arguments: [String], in directory: String? = nil) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        process.standardOutput = output
        process.standardError = output
        process.standardInput = input
        try process.run()
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }  // SIGTERM may be blocked: children inherit the test thread's signal mask
        process.waitUntilExit()
    }

    /// Reads output lines until one contains `marker` (bounded by `timeout`); returns that line.
    func waitForLine(containing marker: String, timeout: Duration = .seconds(20)) throws -> String {
        let fd = output.fileHandleForReading.fileDescriptor
        let deadline = ContinuousClock.now.advanced(by: timeout)
        var pending: [UInt8] = []
        var byte: UInt8 = 0
        while ContinuousClock.now < deadline {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 200) >= 0 else { continue }
            if pfd.revents == 0 { continue }
            guard read(fd, &byte, 1) == 1 else { break }
            if byte == 10 {
                let line = String(decoding: pending, as: UTF8.self)
                if line.contains(marker) { return line }
                pending.removeAll()
            } else {
                pending.append(byte)
            }
        }
        throw TestFailure("no line containing \"\(marker)\" within \(timeout); last: \(String(decoding: pending, as: UTF8.self))")
    }

    /// openssl s_server's `ACCEPT 127.0.0.1:PORT` line, or a Python server's `PORT n` line.
    func port(marker: String = "ACCEPT") throws -> Int {
        let line = try waitForLine(containing: marker)
        guard let port = Int(line.split(whereSeparator: { $0 == ":" || $0 == " " }).last ?? "") else {
            throw TestFailure("no port in \(line)")
        }
        return port
    }
}

/// Resident memory in KiB, from /proc/self/statm.
func residentKiB() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return -1 }
    let fields = text.split(separator: " ")
    return (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) / 1024
}

/// Python 3 source run with `python3 -c`.
func python(_ source: String, in directory: String) throws -> BackgroundProcess {
    try BackgroundProcess(["python3", "-u", "-c", source], in: directory)
}


/// Waits for the server thread and records its errors, if any, as one failed expectation.
func expectClean(_ server: TestServer, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let errors = try server.finish()
    #expect(errors.isEmpty, "server: \(errors)", sourceLocation: sourceLocation)
}

/// True in a build with Address or Thread Sanitizer: their runtimes' symbols when exported, else
/// the options variables CI sets for them (`.ci/run`).
let runningUnderSanitizer: Bool = {
    if getenv("ASAN_OPTIONS") != nil || getenv("TSAN_OPTIONS") != nil { return true }
    guard let handle = dlopen(nil, RTLD_NOW) else { return false }
    defer { dlclose(handle) }
    return dlsym(handle, "__asan_init") != nil || dlsym(handle, "__tsan_init") != nil
}()
