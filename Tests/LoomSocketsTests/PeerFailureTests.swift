#if canImport(Glibc)
import Glibc
#endif
import LoomTestSupport
import Testing
@testable import LoomSockets

extension SocketTests {
    /// A vanished or resetting peer is an error for this call, never a dead process (no SIGPIPE:
    /// MSG_NOSIGNAL on every send, and the tests leave SIGPIPE at its default, fatal disposition).
    @Suite struct PeerFailures {
        @Test func sigpipeIsStillFatalByDefaultSoTheseTestsMeanSomething() {
            var current = sigaction()
            sigaction(SIGPIPE, nil, &current)
            #expect(unsafeBitCast(current.__sigaction_handler.sa_handler, to: Int.self) == 0, "SIGPIPE is not SIG_DFL")
        }

        @Test func writingToAClosedTCPPeerThrowsAndTheProcessSurvives() throws {
            let (client, server) = try tcpPair()
            server.close()
            var kinds: [SocketError.Kind] = []
            for _ in 0..<50 {
                do throws(SocketError) {
                    try client.sendAll(pattern(65_536))
                } catch {
                    kinds.append(error.kind)
                    break
                }
                usleep(2_000)
            }
            #expect(kinds.count == 1)
            #expect(kinds.allSatisfy { $0 == .brokenPipe || $0 == .connectionReset })
            // Still alive, and further sends keep failing cleanly.
            expectError(.brokenPipe) { try client.sendAll([1, 2, 3]) }
        }

        @Test func writingToAClosedUnixPeerThrowsBrokenPipe() throws {
            let (a, b) = try Socket.pair()
            b.close()
            expectError(.brokenPipe) { try a.sendAll("anyone there?") }
            expectError(.brokenPipe) { _ = try a.send([1]) }
            let writer = BufferedWriter(a)
            try writer.write("buffered")
            expectError(.brokenPipe) { try writer.flush() }
            #expect(writer.bufferedCount == 8)  // nothing lost: still there to retry or drop
        }

        @Test func readingFromAResetConnectionThrowsConnectionReset() throws {
            let (client, server) = try tcpPair()
            // SO_LINGER 0: close sends RST instead of FIN.
            try server.setOption(.linger, Linger(.zero))
            #expect(try server.option(.linger) == Linger(.zero))
            server.close()
            usleep(50_000)
            expectError(.connectionReset) { _ = try client.recv(maxBytes: 100) }
            // After the reset has been reported, the connection reads as closed.
            #expect(try client.recv(maxBytes: 100) == [])
        }

        @Test func unreadDataAtCloseResetsThePeer() throws {
            // Python: "peer closed with unread data in its buffer → RST → ConnectionResetError".
            let (client, server) = try tcpPair()
            try client.sendAll("never read")
            usleep(20_000)
            server.close()
            usleep(50_000)
            expectError(.connectionReset) { _ = try client.recv(maxBytes: 100) }
        }

        @Test func aPeerVanishingMidTransferIsAnErrorNotAHang() throws {
            let (client, server) = try tcpPair()
            client.timeout = .seconds(30)
            let closer = TestThread {
                var buffer = [UInt8](repeating: 0, count: 4096)
                _ = try? buffer.withUnsafeMutableBytes { try server.recv(into: $0) }
                server.close()
            }
            let took = elapsed {
                do throws(SocketError) {
                    try client.sendAll([UInt8](repeating: 9, count: 256 << 20))
                    Issue.record("256 MiB sent to a peer that closed")
                } catch {
                    #expect(error.kind == .connectionReset || error.kind == .brokenPipe, "got \(error)")
                }
            }
            closer.join()
            #expect(took < .seconds(30))
        }
    }
}
