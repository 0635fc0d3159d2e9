#if canImport(Glibc)
import Glibc
#endif
import LoomSockets
import LoomSystem

/// `BufferedReader.readLine` over a real `Socket.pair()`, the kernel's answers cut up by the
/// fault-injection seam: the input decides, per `recv`, a short read of 1…64 bytes, an `EINTR`,
/// or the real call.
@_spi(Fuzzing) public enum BufferedReaderHarness {
    /// Input: `maxLength` (1…96), the reader's capacity, a script of `recv` answers, then the
    /// bytes the peer sends before closing. Properties, against the obvious model: the lines
    /// joined are exactly the bytes sent (nothing lost, nothing invented); no line is longer than
    /// `maxLength`; a newline appears only as a line's last byte; a line without one is either
    /// `maxLength` long or the last before end of file.
    public static func run(_ data: [UInt8]) throws(FuzzFailure) {
        var input = FuzzInput(data)
        let maxLength = 1 + Int(input.byte() % 96)
        let capacity = 64 << Int(input.byte() % 4)
        let script = input.take(Int(input.byte() % 64))
        let payload = input.rest()
        guard payload.count <= 32_768 else { return }  // must fit the pair's buffer: one thread

        guard let (reader, writer) = try? Socket.pair() else { try fuzzCheck(false, "socketpair failed"); return }
        defer { reader.close(); writer.close() }
        let answers = ScriptedFaults(script) { step in
            switch step % 4 {
            case 0: nil
            case 1, 3: .transferAtMost(1 + Int(step >> 2))
            default: .error(EINTR)
            }
        }
        FaultInjection.apply(FaultPlan { call, _ in call == .recv ? answers.next() : nil }, to: reader.fileDescriptor)
        defer { FaultInjection.remove(from: reader.fileDescriptor) }
        do {
            try writer.sendAll(payload)
            try writer.shutdown(.write)
        } catch {
            try fuzzCheck(false, "sending \(payload.count) bytes: \(error)")
        }
        reader.timeout = .seconds(10)  // a reader that waits for nothing fails instead of hanging
        let buffered = BufferedReader(reader, capacity: capacity)
        var joined: [UInt8] = []
        while true {
            let line: [UInt8]
            do { line = try buffered.readLine(maxLength: maxLength) } catch {
                try fuzzCheck(false, "readLine after \(joined.count) of \(payload.count) bytes: \(error)")
                return
            }
            if line.isEmpty { break }
            try fuzzCheck(line.count <= maxLength, "a line of \(line.count) bytes, maxLength \(maxLength)")
            try fuzzCheck(!line.dropLast().contains(10), "a newline inside a line")
            joined += line
            if line.last != 10 && line.count < maxLength {
                try fuzzCheck(joined.count == payload.count, "a short line without a newline before end of file")
            }
            try fuzzCheck(joined.count <= payload.count, "more bytes read than sent")
        }
        try fuzzCheck(joined == payload, "lines joined (\(joined.count) bytes) differ from the \(payload.count) sent")
    }
}

/// Answers one system call after another from a fuzzer's script, then nothing (the real call).
final class ScriptedFaults: Sendable {
    private let steps: Protected<ArraySlice<UInt8>>
    private let decode: @Sendable (UInt8) -> InjectedFault?

    init(_ script: [UInt8], decode: @escaping @Sendable (UInt8) -> InjectedFault?) {
        steps = Protected(script[...])
        self.decode = decode
    }

    /// Replaces the script (one server serves input after input).
    func load(_ script: [UInt8]) { steps.withLock { $0 = script[...] } }

    /// The next scripted answer; `nil` once the script is spent.
    func next() -> InjectedFault? {
        guard let step = steps.withLock({ $0.popFirst() }) else { return nil }
        return decode(step)
    }

    /// Whether the script is spent.
    var isSpent: Bool { steps.withLock { $0.isEmpty } }
}
