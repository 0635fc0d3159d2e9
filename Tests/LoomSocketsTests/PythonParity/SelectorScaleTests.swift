import Testing
@testable import LoomSockets

/// One `select` returns every ready key, however many: port of CPython's
/// `ScalableSelectorMixIn.test_above_fd_setsize` (Lib/test/test_selectors.py), which registers
/// thousands of socket pairs and expects `len(s.select()) == NUM_FDS // 2`.
@Suite struct SelectorScaleTests {
    /// The ready buffers start at 256 events. These tests start them at 8 instead and register
    /// 48 pairs, so they prove the growth with 96 descriptors, not hundreds (tests run in
    /// parallel, and others count the process's descriptors).
    static let pairs = 48
    static let startingCapacity = 8

    @Test func oneSelectReturnsEveryReadyKey() throws {
        let selector = try Selector<Int>(readyCapacity: Self.startingCapacity)
        defer { selector.close() }
        var keep: [(Socket, Socket)] = []
        defer { for (a, b) in keep { a.close(); b.close() } }
        for i in 0..<Self.pairs {
            let (reader, writer) = try Socket.pair()
            keep.append((reader, writer))
            try selector.register(reader, events: .read, data: -i - 1)
            try selector.register(writer, events: .write, data: i)
        }
        let ready = try selector.select(timeout: .seconds(10))
        #expect(ready.count == Self.pairs)  // every writer, no reader
        #expect(Set(ready.map(\.key.data)) == Set(0..<Self.pairs))

        // The allocation-free form too, and readers once each has a byte.
        for (_, writer) in keep { try writer.sendAll("x") }
        var readers = 0
        let delivered = try selector.select(timeout: .seconds(10)) { _, events, data in
            if data < 0 && events == .read { readers += 1 }
        }
        #expect(delivered == 2 * Self.pairs)
        #expect(readers == Self.pairs)
    }

    /// Registering from inside `select`'s body while it delivers (the event loop accepting a
    /// burst) must not disturb the delivery under way; the next call reports the newcomers.
    @Test func registeringDuringDeliveryIsSafe() throws {
        let selector = try Selector<Int>(readyCapacity: Self.startingCapacity)
        defer { selector.close() }
        let (first, firstPeer) = try Socket.pair()
        try selector.register(first, events: .write, data: 0)
        var added: [(Socket, Socket)] = []
        defer { for (a, b) in added { a.close(); b.close() }; first.close(); firstPeer.close() }
        var seen = 0
        try selector.select(timeout: .seconds(10)) { _, _, _ in
            seen += 1
            for i in 1...Self.pairs {
                guard let pair = try? Socket.pair() else { return }
                added.append(pair)
                _ = try? selector.register(pair.0, events: .write, data: i)
            }
        }
        #expect(seen == 1)
        #expect(selector.count == Self.pairs + 1)
        #expect(try selector.select(timeout: .seconds(10)).count == Self.pairs + 1)
    }
}
