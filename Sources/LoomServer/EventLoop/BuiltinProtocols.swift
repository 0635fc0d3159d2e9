/// Sends back every byte it receives; pauses reading while the peer does not keep up with the
/// echo (so a connection's memory stays bounded). The protocol behind `loom serve --handler echo`.
public final class EchoProtocol: StreamProtocol {
    private var transport: Transport?

    /// Creates an echo protocol; pass `{ EchoProtocol() }` as the server's factory.
    public init() {}

    /// Keeps the transport to echo through.
    public func connectionMade(_ transport: Transport) { self.transport = transport }
    /// Writes the bytes straight back.
    public func dataReceived(_ data: UnsafeRawBufferPointer) { transport?.write(data) }
    /// The peer does not read fast enough: stop reading (TCP then slows the sender).
    public func pauseWriting() { transport?.pauseReading() }
    /// The echo drained to the low-water mark: read again.
    public func resumeWriting() { transport?.resumeReading() }
    /// Drops the transport.
    public func connectionLost(_ error: (any Error)?) { transport = nil }
}

/// Sends back what it receives with ASCII letters uppercased (`mango ` → `MANGO `): the course's
/// uppercase server, event-driven. Converts in a reused buffer, so nothing is allocated a read.
public final class UppercaseProtocol: StreamProtocol {
    private var transport: Transport?
    private var scratch: [UInt8] = []  // grows to the largest read; idle connections hold none

    /// Creates an uppercase protocol.
    public init() {}

    /// Keeps the transport to reply through.
    public func connectionMade(_ transport: Transport) { self.transport = transport }

    /// Writes the bytes back with `a`–`z` turned into `A`–`Z`; other bytes unchanged.
    public func dataReceived(_ data: UnsafeRawBufferPointer) {
        guard let transport else { return }
        if scratch.count < data.count { scratch = [UInt8](repeating: 0, count: data.count) }
        scratch.withUnsafeMutableBytes { out in
            for i in 0..<data.count {
                let byte = data[i]
                out[i] = byte &- 97 < 26 ? byte &- 32 : byte
            }
            transport.write(UnsafeRawBufferPointer(rebasing: out[..<data.count]))
        }
    }

    /// The peer does not read fast enough: stop reading (TCP then slows the sender).
    public func pauseWriting() { transport?.pauseReading() }
    /// The replies drained to the low-water mark: read again.
    public func resumeWriting() { transport?.resumeReading() }
    /// Drops the transport.
    public func connectionLost(_ error: (any Error)?) { transport = nil }
}
