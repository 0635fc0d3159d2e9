#if canImport(Glibc)
import Glibc
#endif
import LoomTestSupport
import Testing
@testable import LoomSockets

private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

extension SocketTests {
    @Suite struct Reader {
        @Test func readLineSplitsLinesAndKeepsTheNewline() throws {
            let (a, b) = try Socket.pair()
            try a.sendAll("first\nsecond\r\n\nlast")
            try a.shutdown(.write)
            let reader = BufferedReader(b)
            #expect(try reader.readLine() == bytes("first\n"))
            #expect(try reader.readLine() == bytes("second\r\n"))
            #expect(try reader.readLine() == bytes("\n"))
            #expect(try reader.readLine() == bytes("last"))   // the final line without newline
            #expect(try reader.readLine() == [])              // end of file, repeatable
            #expect(try reader.readLine() == [])
        }

        @Test func aLineArrivingOneByteAtATime() throws {
            let (a, b) = try Socket.pair()
            let line = bytes(String(repeating: "x", count: 3000) + "\n")
            let writer = TestThread {
                for byte in line { try? a.sendAll([byte]) }
                try? a.sendAll("tail\n")
            }
            let reader = BufferedReader(b, capacity: 64)
            b.timeout = .seconds(10)
            #expect(try reader.readLine(maxLength: 10_000) == line)
            #expect(try reader.readLine() == bytes("tail\n"))
            writer.join()
        }

        @Test func anOverlongLineComesBackInPiecesOfMaxLengthLikePython() throws {
            let (a, b) = try Socket.pair()
            try a.sendAll(String(repeating: "a", count: 25) + "\nnext\n")
            let reader = BufferedReader(b)
            #expect(try reader.readLine(maxLength: 10) == bytes("aaaaaaaaaa"))
            #expect(try reader.readLine(maxLength: 10) == bytes("aaaaaaaaaa"))
            #expect(try reader.readLine(maxLength: 10) == bytes("aaaaa\n"))
            #expect(try reader.readLine(maxLength: 10) == bytes("next\n"))
            #expect(try reader.readLine(maxLength: 0) == [])
            // A line of exactly maxLength bytes including its newline is whole.
            try a.sendAll("123456789\n")
            #expect(try reader.readLine(maxLength: 10) == bytes("123456789\n"))
        }

        @Test func aPeerThatNeverSendsANewlineCannotGrowTheBuffer() throws {
            let (a, b) = try Socket.pair()
            let flood = [UInt8](repeating: 0x41, count: 4 << 20)
            let writer = TestThread {
                try? a.sendAll(flood)
                a.close()
            }
            let reader = BufferedReader(b, capacity: 4096)
            b.timeout = .seconds(10)
            var total = 0
            while total < flood.count {
                let piece = try reader.readLine(maxLength: 1000)
                #expect(piece.count == 1000 || total + piece.count == flood.count)
                #expect(reader.capacity <= 4096)
                total += piece.count
                if piece.isEmpty { break }
            }
            #expect(total == flood.count)
            writer.join()
            // A limit beyond the initial capacity grows the buffer, but only to a few times the limit.
            let (c, d) = try Socket.pair()
            let small = BufferedReader(d, capacity: 64)
            let pump = TestThread { try? c.sendAll([UInt8](repeating: 0x42, count: 1 << 20)) }
            d.timeout = .seconds(10)
            for _ in 0..<100 {
                #expect(try small.readLine(maxLength: 5000).count == 5000)
                #expect(small.capacity <= 4 * 5000)
            }
            c.close()
            pump.join()
        }

        @Test func neverBlocksAgainOnceItHasWhatItWasAskedFor() throws {
            let (a, b) = try Socket.pair()
            try a.sendAll("one\ntwo\nrest")
            // A zero timeout turns any needless recv into a wouldBlock error.
            let reader = BufferedReader(b)
            #expect(try reader.readLine() == bytes("one\n"))
            b.timeout = .zero
            #expect(try reader.readLine() == bytes("two\n"))
            #expect(try reader.read(upTo: 100) == bytes("rest"))
            expectError(.wouldBlock) { _ = try reader.read(upTo: 100) }
            // Exactly 4096·k bytes while the peer stays open: returned without a second recv.
            b.timeout = .seconds(5)
            let exact = pattern(4096 * 4)
            try a.sendAll(exact)
            var got: [UInt8] = []
            let took = try elapsed { got = try reader.read(exactly: exact.count) }
            #expect(got == exact)
            #expect(took < .seconds(30))
        }

        @Test func readExactlyAcrossManySmallWrites() throws {
            let (a, b) = try Socket.pair()
            let data = pattern(100_000, seed: 3)
            let writer = TestThread {
                var offset = 0
                var size = 1
                while offset < data.count {
                    let end = min(offset + size, data.count)
                    try? a.sendAll(Array(data[offset..<end]))
                    offset = end
                    size = size % 700 + 1
                }
            }
            let reader = BufferedReader(b, capacity: 1024)
            b.timeout = .seconds(10)
            var received: [UInt8] = []
            for size in [1, 2, 3, 500, 1023, 1024, 4096, 50_000] { received += try reader.read(exactly: size) }
            received += try reader.read(exactly: data.count - received.count)
            writer.join()
            #expect(received == data)
        }

        @Test func readExactlyAtEndOfFileThrowsAndKeepsWhatArrived() throws {
            let (a, b) = try Socket.pair()
            try a.sendAll("12345")
            try a.shutdown(.write)
            let reader = BufferedReader(b)
            do {
                _ = try reader.read(exactly: 10)
                Issue.record("read(exactly:) returned a short frame")
            } catch {
                #expect(error.kind == .endOfFile)
                #expect("\(error)" == "read: end of file after 5 of 10 bytes")
            }
            #expect(reader.bufferedCount == 5)
            #expect(try reader.read(upTo: 100) == bytes("12345"))
            #expect(try reader.read(upTo: 100) == [])
            expectError(.endOfFile) { _ = try reader.read(exactly: 1) }
            #expect(try reader.read(exactly: 0) == [])
        }

        @Test func aTimeoutLosesNothing() throws {
            let (a, b) = try Socket.pair()
            let first = [UInt8](repeating: 0x61, count: 70_000)   // no newline in it
            try a.sendAll(first)
            b.timeout = .milliseconds(200)
            let reader = BufferedReader(b, capacity: 1024)
            expectError(.timedOut) { _ = try reader.read(exactly: 100_000) }   // direct path
            expectError(.timedOut) { _ = try reader.readLine(maxLength: 100_000) }
            let second = pattern(30_000, seed: 2)
            try a.sendAll(second)
            #expect(try reader.read(exactly: 100_000) == first + second)
        }

        @Test func readToEndStopsAtEndOfFileOrTheLimit() throws {
            let (a, b) = try Socket.pair()
            let data = pattern(300_000)
            let writer = TestThread {
                try? a.sendAll(data)
                a.close()
            }
            let reader = BufferedReader(b, capacity: 4096)
            #expect(try reader.readToEnd(maxLength: 1000) == Array(data[..<1000]))
            #expect(try reader.readToEnd() == Array(data[1000...]))
            #expect(try reader.readToEnd() == [])
            writer.join()
        }

        @Test func garbageIsJustBytes() throws {
            let (a, b) = try Socket.pair()
            let garbage: [UInt8] = [0, 0xFF, 0xFE, 0x0D, 0xC3, 0x0A, 0x80, 0x00]
            try a.sendAll(garbage)
            a.close()
            let reader = BufferedReader(b)
            #expect(try reader.readLine() == [0, 0xFF, 0xFE, 0x0D, 0xC3, 0x0A])
            #expect(try reader.readLine() == [0x80, 0x00])
            #expect(try reader.readLine() == [])
        }

        @Test func aResetDuringReadLineIsAnError() throws {
            let (client, server) = try tcpPair()
            try server.setOption(.linger, Linger(.zero))
            try server.sendAll("partial line")
            usleep(20_000)
            server.close()
            let reader = BufferedReader(client)
            client.timeout = .seconds(5)
            do {
                let line = try reader.readLine()
                // Linux may deliver the data before the reset.
                #expect(line == bytes("partial line"))
                expectError(.connectionReset) { _ = try reader.readLine() }
            } catch {
                #expect(error.kind == .connectionReset)
            }
        }
    }

    @Suite struct Writer {
        @Test func smallWritesWaitForFlush() throws {
            let (a, b) = try Socket.pair()
            let writer = BufferedWriter(a)
            try writer.write("hello ")
            try writer.write(bytes("world"))
            #expect(writer.bufferedCount == 11)
            b.timeout = .zero
            expectError(.wouldBlock) { _ = try b.recv(maxBytes: 100) }
            try writer.flush()
            #expect(writer.bufferedCount == 0)
            #expect(try b.recv(maxBytes: 100) == bytes("hello world"))
            try writer.flush()   // nothing to do
        }

        @Test func largeWritesKeepOrderWithBufferedOnes() throws {
            let (a, b) = try Socket.pair()
            let big = pattern(1 << 20, seed: 9)
            let done = Shared(false)
            let producer = TestThread {
                let writer = BufferedWriter(a, capacity: 4096)
                try? writer.write("head")
                try? writer.write(big)            // larger than the buffer: flush, then direct
                for _ in 0..<1000 { try? writer.write("t") }
                try? writer.flush()
                done.value = true
                a.close()
            }
            let received = try BufferedReader(b).readToEnd(maxLength: 2 << 20)
            producer.join()
            #expect(done.value)
            #expect(received == bytes("head") + big + [UInt8](repeating: 0x74, count: 1000))
        }

        @Test func deinitFlushes() throws {
            let (a, b) = try Socket.pair()
            do {
                let writer = BufferedWriter(a)
                try writer.write("last words")
            }
            b.timeout = .seconds(5)
            #expect(try b.recv(maxBytes: 100) == bytes("last words"))
        }
    }
}

extension SocketTests.Reader {
    @Test func aHugeLengthPrefixAllocatesOnlyWhatArrives() throws {
        let (a, b) = try Socket.pair()
        try a.sendAll("12345")
        try a.shutdown(.write)
        b.timeout = .seconds(10)
        let reader = BufferedReader(b)
        // Before the fix this asked malloc for 1 TiB up front and died.
        expectError(.endOfFile) { _ = try reader.read(exactly: 1 << 40) }
        #expect(try reader.read(upTo: 100) == Array("12345".utf8))   // the bytes that came are kept
    }

    @Test func aLargeReadThatGrowsStillReturnsEveryByte() throws {
        let (a, b) = try Socket.pair()
        let data = pattern(3 << 20)
        let writer = TestThread { try? a.sendAll(data) }
        b.timeout = .seconds(10)
        let reader = BufferedReader(b)
        #expect(try reader.read(exactly: data.count) == data)
        writer.join()
    }
}
