#if canImport(Glibc)
import Glibc
#endif
import LoomSockets
import LoomSystem

/// `BufferedReader.readLine` over a real `Socket.pair()`, the kernel's answers cut up by the
/// fault-injection seam: the input decides, per `recv`, a short read of 1…64 bytes, an `EINTR`,
/// or the real call.
@_spi(Fuzzing) public enum BufferedReaderHarness {
    /// Input: `maxLength` (1…96), the reader's capacity, a script of `recv` answers, a list of
    /// reads (`readLine`, `read(upTo:)`, `read(exactly:)`, cycled; `readLine` alone if empty),
    /// then the bytes the peer sends before closing. Properties, against the obvious model: the
    /// reads joined are exactly the bytes sent (nothing lost, nothing invented, also across a
    /// failed `read(exactly:)`); no line is longer than `maxLength`, a newline ends a line and
    /// appears nowhere else in it, a line without one is `maxLength` long or the last before end
    /// of file; `read(upTo: n)` returns 1…n bytes, `[]` only at end of file; `read(exactly: n)`
    /// returns n bytes, or fails with end of file when fewer than n were left.
    public static func run(_ data: [UInt8]) throws(FuzzFailure) {
        var input = FuzzInput(data)
        let maxLength = 1 + Int(input.byte() % 96)
        let capacity = 64 << Int(input.byte() % 4)
        let script = input.take(Int(input.byte() % 64))
        let reads = input.take(Int(input.byte() % 16))
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
        for step in 0..<(payload.count + 64) {
            let op = reads.isEmpty ? 0 : reads[step % reads.count]
            let count = 1 + Int(op >> 2) * 37  // past the buffer's size too (the direct paths)
            let left = payload.count - joined.count
            let kind = op % 3
            let result = Result { () throws(SocketError) -> [UInt8] in
                switch kind {
                case 0: try buffered.readLine(maxLength: maxLength)
                case 1: try buffered.read(upTo: count)
                default: try buffered.read(exactly: count)
                }
            }
            guard case .success(let got) = result else {
                if case .failure(let error) = result {
                    let expected = kind == 2 && error.kind == .endOfFile && left < count
                    try fuzzCheck(expected, "read \(kind) of \(count) after \(joined.count) of \(payload.count) bytes: \(error)")
                }
                continue  // the bytes that did arrive stay buffered for the next read
            }
            switch kind {
            case 0:
                try fuzzCheck(got.count <= maxLength, "a line of \(got.count) bytes, maxLength \(maxLength)")
                try fuzzCheck(!got.dropLast().contains(10), "a newline inside a line")
                if !got.isEmpty && got.last != 10 && got.count < maxLength {
                    try fuzzCheck(got.count == left, "a short line without a newline before end of file")
                }
            case 1:
                try fuzzCheck(got.count <= count, "read(upTo: \(count)) gave \(got.count) bytes")
            default:
                try fuzzCheck(got.count == count, "read(exactly: \(count)) gave \(got.count) bytes")
            }
            if got.isEmpty {
                try fuzzCheck(left == 0, "an empty read with \(left) bytes still to come")
                break
            }
            joined += got
            try fuzzCheck(joined.count <= payload.count, "more bytes read than sent")
        }
        // Whatever the reads left (a script of failing `read(exactly:)`s only), read to the end.
        switch Result(catching: { () throws(SocketError) in try buffered.readToEnd() }) {
        case .success(let rest): joined += rest
        case .failure(let error): try fuzzCheck(false, "readToEnd after \(joined.count) bytes: \(error)")
        }
        try fuzzCheck(joined == payload, "reads joined (\(joined.count) bytes) differ from the \(payload.count) sent")
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
