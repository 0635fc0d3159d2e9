#if canImport(Glibc)
import Glibc
import LoomSystem
#endif
import LoomSockets

/// The load generator: one thread, one epoll ``Selector``, C connections each keeping
/// `pipeline` requests of `size` bytes in flight, every reply byte checked against what was sent.
///
/// It follows `../shared/bench/loadgen.c` step by step (connect in batches, one verified
/// "priming" echo per connection, warm-up, measurement, a drain of at most one second), so both
/// report the same thing; connection state lives in flat buffers, so the hot path allocates
/// nothing and retains nothing.
final class BenchRunner {
    private enum Phase { case connect, prime, warm, measure, drain, hold }
    private enum State: UInt8 { case idle, connecting, open, dead }

    private struct Connection {
        var state = State.idle
        var wantWrite = false
        var badReply = false
        var sendSequence: UInt64 = 0  // requests fully or partly written
        var sendOffset = 0
        var receiveSequence: UInt64 = 0  // requests fully received
        var receiveOffset = 0
        var issued: UInt64 = 0
        var connectStarted: UInt64 = 0
    }

    private static let patternCount = 26

    private let options: BenchOptions
    private let selector: Selector<Int32>
    private var sockets: ContiguousArray<Socket?>
    private let connections: UnsafeMutablePointer<Connection>
    private let issueTimes: UnsafeMutablePointer<UInt64>
    private let sendPatterns: UnsafeMutablePointer<UInt8>
    private let expectedPatterns: UnsafeMutablePointer<UInt8>
    private let readBuffer: UnsafeMutableRawBufferPointer
    private var phase = Phase.connect
    private var issueLimit: UInt64 = 0
    private var histogram = BenchHistogram()
    private var connectHistogram = BenchHistogram()
    private var result = BenchResult()
    private var verifyDone = 0
    private var measuredBytes: UInt64 = 0
    private var measuredRequests: UInt64 = 0
    private var signalChecks = 0
    private var interrupted = false
    private let address: SocketAddress
    private let showsProgress: Bool
    private let progress: (_ line: String) -> Void

    /// Connections opened at once while connecting (loadgen.c's batch).
    private static let connectBatch = 256

    /// `progress` receives a status line about once a second when `showsProgress`.
    init(options: BenchOptions, showsProgress: Bool, progress: @escaping (_ line: String) -> Void) throws {
        self.options = options
        self.showsProgress = showsProgress
        self.progress = progress
        address = try SocketAddress(host: options.host, port: options.port)
        selector = try Selector<Int32>()
        sockets = ContiguousArray(repeating: nil, count: options.connections)
        connections = .allocate(capacity: options.connections)
        connections.initialize(repeating: Connection(), count: options.connections)
        issueTimes = .allocate(capacity: options.connections * options.pipeline)
        issueTimes.initialize(repeating: 0, count: options.connections * options.pipeline)
        let size = options.size
        sendPatterns = .allocate(capacity: Self.patternCount * size)
        expectedPatterns = .allocate(capacity: Self.patternCount * size)
        // 26 rotating lowercase patterns ending in "\n" (loadgen.c's): request n of connection i
        // uses pattern (n + i) % 26, so lost, duplicated, reordered or crossed bytes show.
        for p in 0..<Self.patternCount {
            for i in 0..<size {
                let byte = i == size - 1 ? UInt8(ascii: "\n") : UInt8(97 + (p + i) % 26)
                sendPatterns[p * size + i] = byte
                expectedPatterns[p * size + i] = options.upper && byte >= 97 && byte <= 122 ? byte - 32 : byte
            }
        }
        let readSize = min(1 << 20, max(65536, size * options.pipeline))
        readBuffer = .allocate(byteCount: readSize, alignment: 16)
    }

    deinit {
        connections.deallocate()
        issueTimes.deallocate()
        sendPatterns.deallocate()
        expectedPatterns.deallocate()
        readBuffer.deallocate()
    }

    @inline(__always)
    private static func nanoseconds() -> UInt64 {
        UInt64(Deadline.now().nanoseconds)  // Loom's one clock
    }

    /// Runs every phase and returns the measurement. Bounded: connect and priming by the
    /// connect timeout, traffic by warm-up + duration (or the request count), the drain by 1 s.
    func run() -> BenchResult {
        defer { closeAll() }
        connectPhase()
        let doPrime = true
        let primeStart = Self.nanoseconds()
        if doPrime && !interrupted { primePhase() }
        result.primeSeconds = Double(Self.nanoseconds() - primeStart) / 1e9
        if options.connectOnly {
            holdPhase()
        } else if !interrupted {
            trafficPhase()
        }
        for i in 0..<options.connections where connections[i].state == .open {
            result.openAtEnd += 1
            if connections[i].receiveSequence < connections[i].issued { result.unanswered += 1 }
        }
        result.requests = measuredRequests
        result.bytes = measuredBytes
        result.interrupted = interrupted
        for (name, p) in [("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("p999", 99.9)] {
            result.latencyMicroseconds[name] = Double(histogram.percentile(p)) / 1000
        }
        result.latencyMicroseconds["max"] = Double(histogram.max) / 1000
        result.latencyMicroseconds["mean"] = histogram.mean / 1000
        result.latencyMicroseconds["connect_p99"] = Double(connectHistogram.percentile(99)) / 1000
        return result
    }

    // MARK: Phases

    private func connectPhase() {
        phase = .connect
        issueLimit = 0
        let start = Self.nanoseconds()
        let deadline = start + UInt64(options.connectTimeout * 1e9)
        var next = 0
        var inProgress = 0
        var settled = 0
        while settled < options.connections && !checkInterrupted() {
            while next < options.connections && inProgress < Self.connectBatch {
                if startConnect(next) { inProgress += 1 } else { settled += 1 }
                next += 1
            }
            let now = Self.nanoseconds()
            if now >= deadline { break }
            let waitMs = min(100, Int((deadline - now) / 1_000_000) + 1)
            _ = try? selector.select(timeout: .milliseconds(waitMs)) { _, _, index in
                let i = Int(index)
                guard connections[i].state == .connecting, let socket = sockets[i] else { return }
                inProgress -= 1
                settled += 1
                let failure = (try? socket.option(SocketOption<Int>(level: SOL_SOCKET, name: SO_ERROR))) ?? Int(EIO)
                if failure != 0 {
                    result.connectErrors += 1
                    kill(i)
                } else {
                    connections[i].state = .open
                    result.connected += 1
                    connectHistogram.record(Self.nanoseconds() - connections[i].connectStarted)
                    setInterest(i, .read)
                }
            }
        }
        for i in 0..<options.connections where connections[i].state == .connecting || connections[i].state == .idle {
            result.connectErrors += 1
            kill(i)
        }
        result.connectSeconds = Double(Self.nanoseconds() - start) / 1e9
    }

    private func startConnect(_ i: Int) -> Bool {
        do {
            let socket = try Socket(family: address.family, type: .stream)
            socket.timeout = .zero
            try? socket.setOption(.noDelay, true)
            sockets[i] = socket
            connections[i].connectStarted = Self.nanoseconds()
            do {
                try socket.connect(to: address)
            } catch where error.kind == .wouldBlock {
                // EINPROGRESS: finishes when the socket turns writable.
            }
            connections[i].state = .connecting
            try selector.register(socket, events: .write, data: Int32(i))
            return true
        } catch {
            result.connectErrors += 1
            kill(i)
            return false
        }
    }

    private func primePhase() {
        phase = .prime
        issueLimit = .max
        let deadline = Self.nanoseconds() + UInt64(options.connectTimeout * 1e9)
        for i in 0..<options.connections where connections[i].state == .open { _ = write(i) }
        while !checkInterrupted() && Self.nanoseconds() < deadline && verifyDone < result.connected {
            pump(timeoutMs: 100)
        }
        for i in 0..<options.connections where connections[i].state == .open && connections[i].receiveSequence < 1 {
            result.unanswered += 1
        }
    }

    private func holdPhase() {
        phase = .hold
        if showsProgress { progress("holding \(result.connected) connections for \(options.duration) s") }
        let start = Self.nanoseconds()
        let end = start + UInt64(options.duration * 1e9)
        let cpu0 = ProcessSample.ownCPUSeconds()
        var server = ProcessSample(pid: options.serverPID)
        var maxRSS = server?.rssKilobytes ?? 0
        var nextSample = start + 200_000_000
        while !checkInterrupted() && Self.nanoseconds() < end {
            _ = try? selector.select(timeout: .milliseconds(100)) { _, events, index in
                let i = Int(index)
                guard connections[i].state == .open else { return }
                if events.contains(.read) { _ = read(i) }
            }
            if let pid = options.serverPID, Self.nanoseconds() >= nextSample {
                if let sample = ProcessSample(pid: pid) {
                    server = sample
                    maxRSS = max(maxRSS, sample.rssKilobytes)
                }
                nextSample = Self.nanoseconds() + 500_000_000
            }
        }
        result.measuredSeconds = Double(Self.nanoseconds() - start) / 1e9
        result.benchCPU = (ProcessSample.ownCPUSeconds() - cpu0) / max(result.measuredSeconds, 1e-9)
        if let server {
            result.serverRSSKilobytes = maxRSS
            result.serverThreads = server.threads
        }
    }

    private func trafficPhase() {
        phase = options.warmup > 0 ? .warm : .measure
        issueLimit = .max
        let start = Self.nanoseconds()
        let measureAt = start + UInt64(options.warmup * 1e9)
        let end = measureAt + UInt64(options.duration * 1e9)
        var measureStart = phase == .measure ? start : 0
        var server0 = phase == .measure ? ProcessSample(pid: options.serverPID) : nil
        var cpu0 = phase == .measure ? ProcessSample.ownCPUSeconds() : 0
        var lastProgress = start
        for i in 0..<options.connections where connections[i].state == .open { _ = write(i) }
        while !checkInterrupted() {
            let now = Self.nanoseconds()
            if phase == .warm && now >= measureAt {
                phase = .measure
                measureStart = now
                server0 = ProcessSample(pid: options.serverPID)
                cpu0 = ProcessSample.ownCPUSeconds()
            }
            if phase == .measure && (now >= end || (options.requests > 0 && measuredRequests >= UInt64(options.requests))) {
                finishMeasurement(since: measureStart, cpu0: cpu0, server0: server0)
                break
            }
            if showsProgress && now - lastProgress >= 1_000_000_000 {
                lastProgress = now
                let elapsed = Double(now - start) / 1e9
                let rate = phase == .measure && now > measureStart ? Double(measuredRequests) / (Double(now - measureStart) / 1e9) : 0
                let errors = result.ioErrors + result.mismatches + result.unexpectedEOF
                progress("\(BenchReport.fixed(elapsed, 1)) s  \(phase == .warm ? "warm-up" : "measure")  "
                    + "\(BenchReport.grouped(rate)) req/s  p99 \(BenchReport.fixed(Double(histogram.percentile(99)) / 1000, 1)) µs  errors \(errors)")
            }
            pump(timeoutMs: 50)
        }
        if interrupted && phase != .drain {
            finishMeasurement(since: measureStart, cpu0: cpu0, server0: server0)
        }
        // Drain: nothing new, at most 1 s for the replies in flight.
        let drainEnd = Self.nanoseconds() + 1_000_000_000
        while !checkInterrupted() && Self.nanoseconds() < drainEnd {
            var busy = false
            for i in 0..<options.connections
            where connections[i].state == .open && connections[i].receiveSequence < connections[i].issued {
                busy = true
                break
            }
            if !busy { break }
            pump(timeoutMs: 20)
        }
    }

    private func finishMeasurement(since measureStart: UInt64, cpu0: Double, server0: ProcessSample?) {
        let now = Self.nanoseconds()
        result.measuredSeconds = measureStart > 0 ? Double(now - measureStart) / 1e9 : 0
        result.benchCPU = result.measuredSeconds > 0 ? (ProcessSample.ownCPUSeconds() - cpu0) / result.measuredSeconds : 0
        if let server0, let server1 = ProcessSample(pid: options.serverPID), result.measuredSeconds > 0 {
            result.serverCPU = (server1.cpuSeconds - server0.cpuSeconds) / result.measuredSeconds
            result.serverRSSKilobytes = server1.rssKilobytes
            result.serverThreads = server1.threads
        }
        phase = .drain
    }

    /// One wait and the events it brought: read what arrived, then refill the pipeline.
    @inline(__always)
    private func pump(timeoutMs: Int) {
        _ = try? selector.select(timeout: .milliseconds(timeoutMs)) { _, events, index in
            let i = Int(index)
            guard connections[i].state == .open else { return }
            if events.contains(.read), !read(i) { return }
            _ = write(i)
        }
    }

    // MARK: One connection

    /// How many requests connection `i` may have started by now.
    @inline(__always)
    private func issueCap(_ i: Int) -> UInt64 {
        switch phase {
        case .prime: 1
        case .drain, .hold, .connect: connections[i].issued
        case .warm, .measure: connections[i].receiveSequence + UInt64(options.pipeline)
        }
    }

    /// Writes as much as allowed; false if the connection died.
    @inline(__always)
    private func write(_ i: Int) -> Bool {
        let size = options.size
        while true {
            if connections[i].sendSequence >= connections[i].issued {
                if connections[i].issued >= issueCap(i) || connections[i].issued >= issueLimit { break }
                issueTimes[i * options.pipeline + Int(connections[i].issued % UInt64(options.pipeline))] = Self.nanoseconds()
                connections[i].issued += 1
            }
            let pattern = Int((connections[i].sendSequence &+ UInt64(i)) % UInt64(Self.patternCount))
            let offset = connections[i].sendOffset
            let chunk = UnsafeRawBufferPointer(start: sendPatterns + pattern * size + offset, count: size - offset)
            switch sockets[i]!.sendNonBlocking(chunk) {
            case .bytes(let n):
                connections[i].sendOffset += n
                if connections[i].sendOffset == size {
                    connections[i].sendSequence += 1
                    connections[i].sendOffset = 0
                }
            case .wouldBlock:
                if !connections[i].wantWrite {
                    connections[i].wantWrite = true
                    setInterest(i, [.read, .write])
                }
                return true
            case .endOfFile, .failed:
                result.ioErrors += 1
                kill(i)
                return false
            }
        }
        if connections[i].wantWrite {
            connections[i].wantWrite = false
            setInterest(i, .read)
        }
        return true
    }

    /// Reads and checks what arrived (up to four buffers); false if the connection died.
    @inline(__always)
    private func read(_ i: Int) -> Bool {
        let size = options.size
        for _ in 0..<4 {
            let n: Int
            switch sockets[i]!.receiveNonBlocking(into: readBuffer) {
            case .bytes(let count): n = count
            case .wouldBlock: return true
            case .endOfFile:
                result.unexpectedEOF += 1
                kill(i)
                return false
            case .failed:
                result.ioErrors += 1
                kill(i)
                return false
            }
            var offset = 0
            var stamp: UInt64 = 0
            while offset < n {
                if connections[i].receiveSequence >= connections[i].issued {  // bytes nobody asked for
                    result.mismatches += 1
                    break
                }
                let need = size - connections[i].receiveOffset
                let take = min(n - offset, need)
                let pattern = Int((connections[i].receiveSequence &+ UInt64(i)) % UInt64(Self.patternCount))
                let expected = expectedPatterns + pattern * size + connections[i].receiveOffset
                if !connections[i].badReply && memcmp(readBuffer.baseAddress! + offset, expected, take) != 0 {
                    connections[i].badReply = true
                    result.mismatches += 1
                }
                offset += take
                connections[i].receiveOffset += take
                if connections[i].receiveOffset == size {
                    if stamp == 0 { stamp = Self.nanoseconds() }
                    let sequence = connections[i].receiveSequence
                    let issuedAt = issueTimes[i * options.pipeline + Int(sequence % UInt64(options.pipeline))]
                    if phase == .measure {
                        histogram.record(stamp &- issuedAt)
                        measuredRequests += 1
                        measuredBytes += UInt64(size)
                    } else if phase == .prime && sequence == 0 {
                        verifyDone += 1
                        if !connections[i].badReply { result.primed += 1 }
                    }
                    connections[i].receiveSequence += 1
                    connections[i].receiveOffset = 0
                    connections[i].badReply = false
                }
            }
            if n < readBuffer.count { return true }
        }
        return true
    }

    private func setInterest(_ i: Int, _ events: SelectorEvents) {
        guard let fd = sockets[i]?.fileDescriptor, fd >= 0 else { return }
        try? selector.modifyEvents(fileDescriptor: fd, events: events)
    }

    private func kill(_ i: Int) {
        if phase == .prime && connections[i].state == .open && connections[i].receiveSequence == 0 { verifyDone += 1 }
        if let socket = sockets[i] {
            _ = try? selector.unregister(socket)
            socket.close()
        }
        sockets[i] = nil
        connections[i].state = .dead
    }

    private func closeAll() {
        for i in 0..<options.connections {
            if let socket = sockets[i] {
                _ = try? selector.unregister(socket)
                socket.close()
            }
            sockets[i] = nil
        }
        selector.close()
    }

    // MARK: Signals

    /// SIGINT/SIGTERM are blocked (see `Bench.run`); look for a pending one now and then
    /// (every 256 turns), which ends the run early with what was measured.
    @inline(__always)
    private func checkInterrupted() -> Bool {
        if interrupted { return true }
        signalChecks &+= 1
        if signalChecks & 255 != 0 { return false }
        var pending = sigset_t()
        sigpending(&pending)
        if sigismember(&pending, SIGINT) == 1 || sigismember(&pending, SIGTERM) == 1 { interrupted = true }
        return interrupted
    }

}
