#if canImport(Glibc)
import Glibc
#endif
import LoomTestSupport
import Testing
@testable import LoomSockets

/// Timeouts end no earlier than asked, and well within a generous margin after.
private func expectTimedOut(after nominal: Duration, sourceLocation: SourceLocation = #_sourceLocation,
                            _ body: () throws -> Void) {
    let took = elapsed { expectError(.timedOut, sourceLocation: sourceLocation, body) }
    #expect(took >= nominal, "returned early: \(took)", sourceLocation: sourceLocation)
    #expect(took < nominal + .seconds(5), "took \(took)", sourceLocation: sourceLocation)
}

extension SocketTests {
    @Suite struct Timeouts {
        @Test func timeoutPropertyFollowsPython() throws {
            let socket = try Socket()
            #expect(socket.timeout == nil)
            #expect(fcntl(socket.fileDescriptor, F_GETFL) & O_NONBLOCK == 0)
            socket.timeout = .milliseconds(250)
            #expect(socket.timeout == .milliseconds(250))
            #expect(fcntl(socket.fileDescriptor, F_GETFL) & O_NONBLOCK != 0)
            socket.timeout = .seconds(-3)
            #expect(socket.timeout == .zero)
            socket.setBlocking(true)
            #expect(socket.timeout == nil)
            #expect(fcntl(socket.fileDescriptor, F_GETFL) & O_NONBLOCK == 0)
            socket.setBlocking(false)
            #expect(socket.timeout == .zero)
        }

        @Test func blockingRecvWaitsForData() throws {
            let (a, b) = try Socket.pair()
            let start = ContinuousClock.now   // before the writer exists, whenever it gets to run
            let writer = TestThread {
                usleep(300_000)
                try? b.sendAll("late")
            }
            let received = try a.recv(maxBytes: 10)
            let took = ContinuousClock.now - start
            writer.join()
            #expect(received == Array("late".utf8))
            #expect(took >= .milliseconds(250))
        }

        @Test func zeroTimeoutNeverBlocks() throws {
            let (a, b) = try Socket.pair()
            a.timeout = .zero
            let took = elapsed { expectError(.wouldBlock) { _ = try a.recv(maxBytes: 10) } }
            #expect(took < .seconds(5))
            try b.sendAll("x")
            #expect(try a.recv(maxBytes: 10) == Array("x".utf8))

            let listener = try Socket.createServer(port: 0)
            listener.timeout = .zero
            expectError(.wouldBlock) { _ = try listener.accept() }

            // A non-blocking connect starts and reports would-block, then completes.
            let client = try Socket()
            client.timeout = .zero
            do {
                try client.connect(to: try listener.localAddress)
            } catch {
                #expect(error.kind == .wouldBlock)
            }
            listener.timeout = .seconds(5)
            _ = try listener.accept()
        }

        @Test func positiveTimeoutOnRecv() throws {
            let (a, peer) = try Socket.pair()
            defer { withExtendedLifetime(peer) {} }
            a.timeout = .milliseconds(300)
            expectTimedOut(after: .milliseconds(300)) { _ = try a.recv(maxBytes: 10) }
            var buffer = [UInt8](repeating: 0, count: 8)
            expectTimedOut(after: .milliseconds(300)) {
                _ = try buffer.withUnsafeMutableBytes { try a.recv(into: $0) }
            }
        }

        @Test func positiveTimeoutOnAccept() throws {
            let listener = try Socket.createServer(port: 0)
            listener.timeout = .milliseconds(300)
            expectTimedOut(after: .milliseconds(300)) { _ = try listener.accept() }
            // The accepted socket is blocking, whatever the listener's timeout (as in Python).
            let client = try Socket.createConnection(host: "127.0.0.1", port: try listener.localAddress.port)
            let (server, _) = try listener.accept()
            #expect(server.timeout == nil)
            _ = client
        }

        @Test func positiveTimeoutOnSendWhenThePeerDoesNotRead() throws {
            let (a, peer) = try Socket.pair()
            defer { withExtendedLifetime(peer) {} }
            try a.setOption(.sendBufferSize, 4096)
            a.timeout = .milliseconds(300)
            let big = [UInt8](repeating: 7, count: 4 << 20)
            expectTimedOut(after: .milliseconds(300)) { try a.sendAll(big) }
            expectTimedOut(after: .milliseconds(300)) { _ = try a.send(big) }

            let (client, server) = try tcpPair()
            defer { withExtendedLifetime(server) {} }
            client.timeout = .milliseconds(300)
            expectTimedOut(after: .milliseconds(300)) { try client.sendAll([UInt8](repeating: 1, count: 64 << 20)) }
        }

        @Test func sendAllDeadlineCoversTheWholeCallAcrossPartialProgress() throws {
            // The reader drains slowly: every chunk makes progress, but the total cannot finish
            // within the timeout. One deadline per call means sendAll still stops on time.
            let (a, b) = try Socket.pair()
            try a.setOption(.sendBufferSize, 4096)
            let stop = Shared(false)
            let drainer = TestThread {
                while !stop.value {
                    _ = try? b.recv(maxBytes: 1024)
                    usleep(5_000)
                }
            }
            a.timeout = .milliseconds(500)
            expectTimedOut(after: .milliseconds(500)) { try a.sendAll([UInt8](repeating: 1, count: 32 << 20)) }
            stop.value = true
            a.close()
            drainer.join()
        }

        @Test func positiveTimeoutOnConnectToAFullBacklog() throws {
            // A listener that never accepts, with backlog 0, takes one connection; the kernel
            // drops the SYNs of the next ones, so their connect can only time out. Loopback only.
            let listener = try Socket(family: .ipv4)
            try listener.bind(to: try SocketAddress("127.0.0.1:0"))
            try listener.listen(backlog: 0)
            let address = try listener.localAddress
            var clients: [Socket] = []
            var timedOut = false
            for _ in 0..<8 where !timedOut {
                let client = try Socket()
                client.timeout = .milliseconds(300)
                clients.append(client)
                let took = elapsed {
                    do throws(SocketError) { try client.connect(to: address) } catch {
                        #expect(error.kind == .timedOut, "got \(error)")
                        #expect("\(error)" == "connect to \(address): timed out")
                        timedOut = true
                    }
                }
                if timedOut {
                    #expect(took >= .milliseconds(300))
                    #expect(took < .milliseconds(5300))
                }
            }
            #expect(timedOut)
            // createConnection honours its timeout too.
            let took = elapsed {
                expectError(.timedOut) { _ = try Socket.createConnection(host: "127.0.0.1", port: address.port, timeout: .milliseconds(300)) }
            }
            #expect(took >= .milliseconds(300) && took < .milliseconds(5300))
        }
    }
}
