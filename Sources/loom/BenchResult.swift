/// What one `loom bench` run measured.
struct BenchResult {
    var connected = 0
    var primed = 0
    var openAtEnd = 0
    var connectSeconds = 0.0
    var primeSeconds = 0.0
    var measuredSeconds = 0.0
    var requests: UInt64 = 0
    var bytes: UInt64 = 0
    var latencyMicroseconds: [String: Double] = [:]
    var connectErrors = 0
    var ioErrors = 0
    var unexpectedEOF = 0
    var mismatches = 0
    var unanswered = 0
    var benchCPU = 0.0
    var serverCPU: Double?
    var serverRSSKilobytes: Int?
    var serverThreads: Int?
    var interrupted = false

    var errors: Int { connectErrors + ioErrors + unexpectedEOF + mismatches + unanswered }
    var requestsPerSecond: Double { measuredSeconds > 0 ? Double(requests) / measuredSeconds : 0 }
    var bytesPerSecond: Double { measuredSeconds > 0 ? Double(bytes) / measuredSeconds : 0 }
}
