import LoomTestSupport
import Testing
@testable import LoomSockets

extension SocketTests {
    @Suite struct UDP {
        @Test func datagramsKeepTheirBoundariesAndSenders() throws {
            let server = try Socket(type: .datagram)
            try server.bind(to: try SocketAddress("127.0.0.1:0"))
            let address = try server.localAddress
            let client = try Socket(type: .datagram)
            #expect(try client.sendTo(Array("one".utf8), to: address) == 3)
            try client.sendTo(Array("two!".utf8), to: address)
            server.timeout = .seconds(5)
            let (first, sender) = try server.recvFrom(maxBytes: 100)
            #expect(first == Array("one".utf8))
            let clientPort = try client.localAddress.port
            #expect(sender.host == "127.0.0.1" && sender.port == clientPort)
            #expect(try server.recvFrom(maxBytes: 100).0 == Array("two!".utf8))
            // Reply to the sender.
            try server.sendTo(Array("ack".utf8), to: sender)
            client.timeout = .seconds(5)
            let (reply, from) = try client.recvFrom(maxBytes: 100)
            #expect(reply == Array("ack".utf8) && from == address)
        }

        @Test func zeroLengthDatagramIsNotEndOfFile() throws {
            let server = try Socket(type: .datagram)
            try server.bind(to: try SocketAddress("127.0.0.1:0"))
            let client = try Socket(type: .datagram)
            try client.sendTo([], to: try server.localAddress)
            try client.sendTo([42], to: try server.localAddress)
            server.timeout = .seconds(5)
            #expect(try server.recvFrom(maxBytes: 10).0 == [])
            #expect(try server.recvFrom(maxBytes: 10).0 == [42])   // still open
        }

        @Test func anOversizedDatagramIsTruncatedAndTheRestDiscarded() throws {
            let server = try Socket(type: .datagram)
            try server.bind(to: try SocketAddress("127.0.0.1:0"))
            let client = try Socket(type: .datagram)
            let big = pattern(10_000)
            try client.sendTo(big, to: try server.localAddress)
            try client.sendTo([1, 2, 3], to: try server.localAddress)
            server.timeout = .seconds(5)
            #expect(try server.recvFrom(maxBytes: 8192).0 == Array(big[..<8192]))
            #expect(try server.recvFrom(maxBytes: 8192).0 == [1, 2, 3])  // the next datagram, not the rest
            var small = [UInt8](repeating: 0, count: 4)
            try client.sendTo([9, 8, 7, 6, 5], to: try server.localAddress)
            let (count, _) = try small.withUnsafeMutableBytes { try server.recvFrom(into: $0) }
            #expect(count == 4 && small == [9, 8, 7, 6])
        }

        @Test func connectedUDPAndTimeouts() throws {
            let server = try Socket(type: .datagram)
            try server.bind(to: try SocketAddress("127.0.0.1:0"))
            let client = try Socket(type: .datagram)
            try client.connect(to: try server.localAddress)
            try client.sendAll("hello")
            server.timeout = .seconds(5)
            #expect(try server.recvFrom(maxBytes: 10).0 == Array("hello".utf8))
            server.timeout = .milliseconds(200)
            let took = elapsed { expectError(.timedOut) { _ = try server.recvFrom(maxBytes: 10) } }
            #expect(took >= .milliseconds(200) && took < .milliseconds(5200))
            server.timeout = .zero
            expectError(.wouldBlock) { _ = try server.recvFrom(maxBytes: 10) }
        }

        @Test func ipv6UDP() throws {
            let server = try Socket(family: .ipv6, type: .datagram)
            do {
                try server.bind(to: try SocketAddress("[::1]:0"))
            } catch {
                print("IPv6 UDP test skipped: cannot bind [::1]: \(error)")
                return
            }
            let client = try Socket(family: .ipv6, type: .datagram)
            try client.sendTo([6], to: try server.localAddress)
            server.timeout = .seconds(5)
            let (data, sender) = try server.recvFrom(maxBytes: 4)
            #expect(data == [6] && sender.host == "::1")
        }
    }
}
