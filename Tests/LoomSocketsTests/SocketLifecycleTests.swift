#if canImport(Glibc)
import Glibc
#endif
import LoomTestSupport
import Testing
@testable import LoomSockets

extension SocketTests {
    @Suite struct Lifecycle {
        @Test func closeIsIdempotentAndLaterCallsThrowClosed() throws {
            let (a, b) = try Socket.pair()
            b.timeout = .seconds(5)   // a broken close must fail the test, not hang it
            let fd = a.fileDescriptor
            #expect(fd >= 0 && !a.isClosed)
            a.close()
            a.close()
            #expect(a.isClosed && a.fileDescriptor == -1)
            expectError(.closed) { _ = try a.recv(maxBytes: 1) }
            expectError(.closed) { try a.sendAll([1]) }
            expectError(.closed) { _ = try a.localAddress }
            expectError(.closed) { try a.setOption(.receiveBufferSize, 4096) }
            // The peer sees end of file.
            #expect(try b.recv(maxBytes: 10) == [])
        }

        @Test func closingFromManyThreadsClosesOnce() throws {
            // Each round: 8 threads close the same socket at once. A double close would close
            // the descriptor the canary socket got in between, which we check is still open.
            for _ in 0..<200 {
                let (a, peer) = try Socket.pair()
                let threads = (0..<8).map { _ in TestThread { a.close() } }
                let (canary, canaryPeer) = try Socket.pair()
                threads.forEach { $0.join() }
                #expect(fcntl(canary.fileDescriptor, F_GETFD) >= 0)
                #expect(try canary.localAddress.family == .unix)
                withExtendedLifetime((peer, canaryPeer)) {}
            }
        }

        @Test func closeWakesABlockedRecvAndAccept() throws {
            let (a, peer) = try Socket.pair()
            defer { withExtendedLifetime(peer) {} }
            let outcome = Shared<SocketError.Kind?>(nil)
            let reader = TestThread {
                do throws(SocketError) { _ = try a.recv(maxBytes: 10) } catch { outcome.value = error.kind }
            }
            usleep(100_000)
            a.close()
            reader.join()
            #expect(outcome.value == .closed)

            let listener = try Socket.createServer(port: 0)
            let accepted = Shared<SocketError.Kind?>(nil)
            let acceptor = TestThread {
                do throws(SocketError) { _ = try listener.accept() } catch { accepted.value = error.kind }
            }
            usleep(100_000)
            listener.close()
            acceptor.join()
            #expect(accepted.value == .closed)

            // An unconnected UDP socket blocked in recvfrom wakes too.
            let udp = try Socket(type: .datagram)
            try udp.bind(to: try SocketAddress("127.0.0.1:0"))
            let received = Shared<SocketError.Kind?>(nil)
            let receiver = TestThread {
                do throws(SocketError) { _ = try udp.recvFrom(maxBytes: 10) } catch { received.value = error.kind }
            }
            usleep(100_000)
            udp.close()
            receiver.join()
            #expect(received.value == .closed)
        }

        @Test func tenThousandOpenCloseCyclesLeakNothing() throws {
            let before = openDescriptorCount()
            for index in 0..<10_000 {
                let socket = try Socket(type: index.isMultiple(of: 2) ? .stream : .datagram)
                if index.isMultiple(of: 3) { socket.close() }  // otherwise deinit closes it
            }
            for _ in 0..<1_000 {
                let (a, b) = try Socket.pair()
                a.close()
                _ = b
            }
            let listener = try Socket.createServer(port: 0)
            let address = try listener.localAddress
            for _ in 0..<500 {
                let client = try Socket()
                try client.connect(to: address)
                let (server, _) = try listener.accept()
                client.close()
                _ = server
            }
            listener.close()
            // Other test modules run in this process at the same time and hold descriptors for a
            // while: allow them slack and time. A leak of one per cycle would show as thousands.
            #expect(eventually { openDescriptorCount() - before < 32 }, "descriptors: \(before) before, \(openDescriptorCount()) after")
        }

        @Test func everyDescriptorIsCloseOnExec() throws {
            let created = try Socket()
            #expect(isCloseOnExec(created.fileDescriptor))
            let udp = try Socket(type: .datagram)
            #expect(isCloseOnExec(udp.fileDescriptor))
            let (a, b) = try Socket.pair()
            #expect(isCloseOnExec(a.fileDescriptor) && isCloseOnExec(b.fileDescriptor))
            let (client, server) = try tcpPair()
            #expect(isCloseOnExec(client.fileDescriptor))
            #expect(isCloseOnExec(server.fileDescriptor))  // accepted with accept4(SOCK_CLOEXEC)
            let raw = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            #expect(!isCloseOnExec(raw))
            let adopted = try Socket(adopting: raw)
            #expect(isCloseOnExec(raw))
            #expect(adopted.family == .ipv4 && adopted.type == .stream)
        }

        @Test func adoptingReadsFamilyTypeAndBlockingMode() throws {
            let raw = socket(AF_INET6, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            let adopted = try Socket(adopting: raw)
            #expect(adopted.family == .ipv6 && adopted.type == .datagram)
            #expect(adopted.timeout == .zero)
            adopted.close()
            #expect(fcntl(raw, F_GETFD) == -1)
            // Not a socket: refused, and the caller keeps the descriptor.
            var fds: [Int32] = [0, 0]
            #expect(pipe(&fds) == 0)
            expectError(.other) { _ = try Socket(adopting: fds[0]) }
            #expect(fcntl(fds[0], F_GETFD) >= 0)
            close(fds[0]); close(fds[1])
        }

        @Test func pairTalksBothWaysAndHalfCloses() throws {
            let (a, b) = try Socket.pair()
            a.timeout = .seconds(5)
            b.timeout = .seconds(5)
            try a.sendAll("ping")
            #expect(try b.recv(maxBytes: 10) == Array("ping".utf8))
            try b.shutdown(.write)
            #expect(try a.recv(maxBytes: 10) == [])
            #expect(try a.recv(maxBytes: 10) == [])  // end of file repeats
            try a.sendAll("still open")              // the other direction still works
            #expect(try b.recv(maxBytes: 20) == Array("still open".utf8))
        }
    }
}
