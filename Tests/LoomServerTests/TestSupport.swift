#if canImport(Glibc)
import Glibc
#endif
import Logging
import LoomServer
import LoomSockets
import LoomThreading
import Synchronization
import Testing

/// Runs `serveForever()` on its own thread, and stops and closes the server at the end.
final class Running: Sendable {
    let server: BaseServer
    let thread: LoomThreading.Thread

    init(_ server: BaseServer) throws {
        self.server = server
        thread = LoomThreading.Thread(name: "test-serve", daemon: true) { try server.serveForever() }
        try thread.start()
    }

    var port: Int { server.serverAddress.port }

    /// Shuts down, closes, and checks the serving thread ended.
    func stop() throws {
        try server.shutdown()
        server.serverClose()
        #expect(try thread.join(timeout: .seconds(5)))
    }
}

/// Connects to a test server on loopback.
func connect(_ server: BaseServer, timeout: Duration? = .seconds(10)) throws -> Socket {
    if server.serverAddress.family == .unix {
        let socket = try Socket(family: .unix, type: .stream)
        socket.timeout = timeout
        try socket.connect(to: server.serverAddress)
        return socket
    }
    return try Socket.createConnection(host: "127.0.0.1", port: server.serverAddress.port, timeout: timeout)
}

/// Reads until the peer closes.
func readAll(_ socket: Socket) throws -> [UInt8] {
    var all: [UInt8] = []
    while true {
        let bytes = try socket.recv(maxBytes: 65_536)
        if bytes.isEmpty { return all }
        all += bytes
    }
}

/// Sends `message`, half-closes, returns everything the server sends back.
func ask(_ server: BaseServer, _ message: String, timeout: Duration? = .seconds(10)) throws -> String {
    let socket = try connect(server, timeout: timeout)
    defer { socket.close() }
    try socket.sendAll(message)
    try socket.shutdown(.write)
    return String(decoding: try readAll(socket), as: UTF8.self)
}

func sleep(_ duration: Duration) {
    let nanos = duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
    var request = timespec(tv_sec: Int(nanos / 1_000_000_000), tv_nsec: Int(nanos % 1_000_000_000))
    var left = timespec()
    while nanosleep(&request, &left) != 0 && errno == EINTR { request = left }
}

/// Waits until `condition` holds, at most `timeout`; returns whether it held.
func eventually(_ timeout: Duration = .seconds(10), _ condition: () -> Bool) -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if condition() { return true }
        sleep(.milliseconds(5))
    }
    return condition()
}

/// Live Loom threads with this name (handler threads are named by `ServerConfiguration.threadName`).
func threads(named name: String) -> Int {
    LoomThreading.Thread.enumerate().filter { $0.name == name }.count
}

/// Descriptors of this process that are TCP sockets whose local port is `port`: the listener and
/// the connections a server on that port accepted. Robust against other tests running meanwhile.
func serverSockets(port: Int) -> Int {
    var inodes = Set<String>()
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        guard let text = readText(table) else { continue }
        for line in text.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ")
            guard fields.count > 9, let colon = fields[1].lastIndex(of: ":"),
                  Int(fields[1][fields[1].index(after: colon)...], radix: 16) == port else { continue }
            inodes.insert(String(fields[9]))
        }
    }
    var count = 0
    for fd in directoryEntries("/proc/self/fd") {
        var buffer = [CChar](repeating: 0, count: 256)
        let length = readlink("/proc/self/fd/\(fd)", &buffer, 255)
        guard length > 0 else { continue }
        let link = String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if link.hasPrefix("socket:["), inodes.contains(String(link.dropFirst(8).dropLast())) { count += 1 }
    }
    return count
}

func readText(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
        let count = read(fd, &chunk, chunk.count)
        if count <= 0 { break }
        bytes += chunk[..<count]
    }
    return String(decoding: bytes, as: UTF8.self)
}

func directoryEntries(_ path: String) -> [String] {
    guard let dir = opendir(path) else { return [] }
    defer { closedir(dir) }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return names
}

/// A log backend that keeps what is logged, for assertions.
final class LogRecorder: Sendable {
    struct Entry: Sendable {
        let level: Logger.Level
        let message: String
        let metadata: [String: String]
    }

    private let entries = Mutex<[Entry]>([])

    var all: [Entry] { entries.withLock { $0 } }

    var logger: Logger {
        Logger(label: "test") { _ in Handler(recorder: self) }
    }

    fileprivate func append(_ entry: Entry) {
        entries.withLock { $0.append(entry) }
    }

    private struct Handler: LogHandler {
        let recorder: LogRecorder
        var logLevel: Logger.Level = .trace
        var metadata: Logger.Metadata = [:]

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
            recorder.append(Entry(level: event.level, message: "\(event.message)",
                                  metadata: merged.mapValues { "\($0)" }))
        }
    }
}

/// A logger that drops everything (for floods).
let silentLogger: Logger = {
    var logger = Logger(label: "silent") { _ in SwiftLogNoOpLogHandler() }
    logger.logLevel = .critical
    return logger
}()

/// The course's handler: one read, strip, uppercase, reply.
final class MyTCPHandler: BaseRequestHandler {
    override func handle() throws {
        let data = try request.recv(maxBytes: 1024)
        try request.sendAll(String(decoding: data, as: UTF8.self).trimmed.uppercased())
    }
}

extension String {
    var trimmed: String {
        String(self.drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
