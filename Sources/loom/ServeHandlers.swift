import Loom

/// The built-in handlers of `loom serve --handler upper|echo|reply`. Each works on stream
/// connections (TCP, Unix) and on datagrams (UDP, Unix datagram).
enum ServeHandler: String, CaseIterable, Sendable {
    case upper, echo, reply

}

/// Handlers that read one message (one read of up to 1,024 bytes, or one datagram), answer it
/// and close: the course's pattern.
class OneMessageHandler: StreamRequestHandler {
    /// The reply to `message`.
    func answer(_ message: [UInt8]) -> [UInt8] { message }

    override func setup() throws {
        try super.setup()
        ProxiedConnectionLog.log(proxyHeader, client: clientAddress, to: server.logger)
    }

    override func handle() throws {
        if server.socket.type == .datagram {
            // An unbound Unix datagram client has no address: nothing to answer to.
            let reply = answer(packet)
            if !clientAddress.isUnnamed { try request.sendTo(reply, to: clientAddress) }
            return
        }
        // Through `stream`: the connection itself, or the TLS stream over it (--tls-cert).
        let message = try withUnsafeTemporaryAllocation(byteCount: 1024, alignment: 16) { buffer in
            try Result { () throws(SocketError) in Array(buffer[..<(try stream.readSome(into: buffer))]) }.get()
        }
        try answer(message).withUnsafeBytes { raw in Result { () throws(SocketError) in try stream.writeAll(raw) } }.get()
    }
}

/// The course's `MyTcpHandler`: strips surrounding whitespace, replies in upper case.
final class UpperHandler: OneMessageHandler {
    override func answer(_ message: [UInt8]) -> [UInt8] {
        let stripped = Uppercase.strip(message)
        server.logger.info("\(clientAddress.host) wrote: \(PeerText.escaped(stripped))")
        return Uppercase.transform(stripped)
    }
}

/// Logs the message and replies with the text of `--reply`.
final class ReplyHandler: OneMessageHandler {
    /// The reply, given by the server's handler factory before the handler runs.
    var reply: [UInt8] = []

    override func answer(_ message: [UInt8]) -> [UInt8] {
        server.logger.info("\(clientAddress.host) wrote: \(PeerText.escaped(message))")
        return reply
    }
}

/// Sends back every byte until the peer closes (the benchmark handler). Nagle off; no allocation
/// per message: reads go to a 512-byte buffer on the thread's stack (an idle connection touches no
/// heap page for it), and a 64 KiB heap buffer takes over once a read fills the small one (bulk).
final class EchoHandler: StreamRequestHandler {
    override var disableNagleAlgorithm: Bool { true }

    override func handle() throws {
        if server.socket.type == .datagram {
            if !clientAddress.isUnnamed { try request.sendTo(packet, to: clientAddress) }
            return
        }
        let small = try withUnsafeTemporaryAllocation(byteCount: 512, alignment: 16) { buffer in
            try Result { () throws(SocketError) in try echo(through: buffer) }.get()
        }
        guard small else { return }
        let large = UnsafeMutableRawBufferPointer.allocate(byteCount: 65_536, alignment: 16)
        defer { large.deallocate() }
        _ = try echo(through: large)
    }

    /// Echoes until the peer closes (false) or, when `buffer` is the small one, until a read fills
    /// it (true: switch to the large one).
    private func echo(through buffer: UnsafeMutableRawBufferPointer) throws(SocketError) -> Bool {
        while true {
            let count = try stream.readSome(into: buffer)
            if count == 0 { return false }
            try stream.writeAll(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
            if count == buffer.count && buffer.count < 65_536 { return true }
        }
    }
}

/// The upper handler's byte rules.
enum Uppercase {
    /// Removes ASCII whitespace at both ends, as Python's `bytes.strip()`.
    static func strip(_ bytes: [UInt8]) -> [UInt8] {
        func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || (0x09...0x0D).contains(byte) }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }),
              let last = bytes.lastIndex(where: { !isSpace($0) }) else { return [] }
        return Array(bytes[first...last])
    }

    /// Valid UTF-8 is uppercased as Unicode (`straße` → `STRASSE`); anything else passes through
    /// byte for byte, with only the ASCII letters uppercased, so nothing is lost.
    static func transform(_ bytes: [UInt8]) -> [UInt8] {
        if let text = String(validating: bytes, as: UTF8.self) {
            return Array(text.uppercased().utf8)
        }
        return bytes.map { (0x61...0x7A).contains($0) ? $0 - 0x20 : $0 }
    }
}
