import LoomSockets
import LoomSystem

/// The loop's connections: adopting an accepted socket, forgetting a closed one, and delivering
/// `connectionLost` once the turn's callbacks are done.
extension EventLoop {
    func adopt(_ socket: Socket) {
        let fd = socket.fileDescriptor
        let configuration = group.configuration
        if configuration.noDelay { try? socket.setOption(.noDelay, true) }
        var handler: any StreamProtocol
        switch group.handler {
        case .protocolFactory(let make): handler = make()
        case .async(let body): handler = AsyncConnectionAdapter(body: body)
        }
        // The PROXY stage goes first and hands the connection on once the header is in (its own
        // file); with TLS as well, it starts the TLS stage then, so the header is read in the clear.
        let proxied = configuration.server.proxyProtocol != nil
        if let mode = configuration.server.proxyProtocol {
            handler = ProxyHeaderStage(inner: handler, mode: mode, tls: configuration.server.tls)
        }
        let transport = Transport(
            socket: socket, loop: self, handler: handler,
            highWaterMark: configuration.writeBufferHighWaterMark,
            lowWaterMark: configuration.writeBufferLowWaterMark ?? configuration.writeBufferHighWaterMark / 4)
        transport.lastActivity = now
        if Int(fd) >= connections.count {
            connections.append(contentsOf: repeatElement(nil, count: max(Int(fd) + 1 - connections.count, connections.count / 2 + 64)))
        }
        guard transport.register() else {
            group.connectionClosed()
            return
        }
        connections[Int(fd)] = transport
        connectionCount += 1
        if let observer {
            transport.openedAt = now
            observer.connectionAccepted()
        }
        scheduleIdleSweepIfNeeded()
        if let context = configuration.server.tls, !proxied {
            // The protocol is made once the handshake is done (TLSStage.swift).
            TLSStage.start(on: transport, context: context,
                           handshakeTimeout: TLSSetting.handshakeTimeout(idleTimeout: configuration.idleTimeout))
            return
        }
        do {
            try handler.connectionMade(transport)
        } catch {
            transport.fail(error)
        }
    }

    /// A transport closed its descriptor (called by ``Transport`` as it closes).
    func connectionClosed(_ transport: Transport, fileDescriptor fd: Int32) {
        if fd >= 0, Int(fd) < connections.count { connections[Int(fd)] = nil }
        connectionCount -= 1
        lost.append(transport)
        group.connectionClosed()
        acceptor.connectionClosed()
    }

    func processLost() {
        while !lost.isEmpty {
            let batch = lost
            lost.removeAll(keepingCapacity: true)
            for transport in batch { transport.finishLoss() }
        }
    }
}
