#if canImport(Glibc)
import Glibc
#endif
import LoomSystem
import Synchronization

/// Exactly one owner for one descriptor, safe against every close race.
///
/// Closing a descriptor that another thread is still using is the classic socket bug: the number
/// is recycled by the next `open`/`accept`, and the blocked thread then reads from, or writes
/// to, somebody else's file. So every operation *enters* before it touches the number and
/// *leaves* afterwards, and the descriptor is released by whoever is last:
///
/// - ``close()`` marks the descriptor closed at once (new operations fail with
///   ``SocketError/Kind/closed``); when no operation is in flight it closes the number then and
///   there, otherwise it `shutdown(SHUT_RDWR)`s the socket so that blocked calls wake up
///   (Linux does not wake a blocked `accept` or `recv` on `close`), and the last call to leave
///   closes the number.
/// - Closing twice, or from two threads at once, closes once.
struct OwnedDescriptor: ~Copyable, Sendable {
    private static let closedBit: UInt64 = 1 << 63

    /// The number; valid while the state is not "closed with nobody inside".
    let raw: Int32
    // Bit 63: closed. Low bits: operations in flight (including a close in progress).
    private let state: Atomic<UInt64>

    init(_ raw: Int32) {
        self.raw = raw
        state = Atomic(0)
    }

    /// True once ``close()`` has been called.
    var isClosed: Bool { state.load(ordering: .acquiring) & Self.closedBit != 0 }

    /// The number, or -1 once closed.
    var current: Int32 { isClosed ? -1 : raw }

    /// Runs `body` with the descriptor, which stays open (and is not recycled) until `body`
    /// returns. A failure that happens because the socket was closed meanwhile is reported as
    /// ``SocketError/Kind/closed``.
    @inline(__always)
    func withDescriptor<R>(
        _ operation: @autoclosure () -> String, _ body: (Int32) throws(SocketError) -> R
    ) throws(SocketError) -> R {
        guard enter() else { throw Self.closedError(operation()) }
        defer { leave() }
        do {
            return try body(raw)
        } catch {
            if isClosed { throw Self.closedError(operation()) }
            throw error
        }
    }

    /// Closes the descriptor (now, or when the last operation in flight leaves). Idempotent.
    func close() {
        var old = state.load(ordering: .relaxed)
        while true {
            if old & Self.closedBit != 0 { return }
            // Mark closed and count ourselves in, so the number stays ours while we wake others.
            let (exchanged, original) = state.compareExchange(
                expected: old, desired: (old | Self.closedBit) + 1, ordering: .acquiringAndReleasing)
            if exchanged { break }
            old = original
        }
        if old != 0 {
            // Others are inside, possibly blocked: wake them. Harmless on unconnected sockets.
            _ = systemCall(.shutdown, on: raw) { _ in Glibc.shutdown(raw, Int32(SHUT_RDWR)) }
        }
        leave()
    }

    /// Closes without the bookkeeping: for `deinit`, when no operation can be in flight.
    func closeFromDeinit() {
        if state.load(ordering: .acquiring) & Self.closedBit == 0 {
            closeDescriptor(raw)
        }
    }

    @inline(__always)
    private func enter() -> Bool {
        var old = state.load(ordering: .relaxed)
        while true {
            if old & Self.closedBit != 0 { return false }
            let (exchanged, original) = state.weakCompareExchange(
                expected: old, desired: old + 1, successOrdering: .acquiring, failureOrdering: .relaxed)
            if exchanged { return true }
            old = original
        }
    }

    @inline(__always)
    private func leave() {
        let now = state.subtract(1, ordering: .acquiringAndReleasing).newValue
        // Closed and nobody left inside: this happens exactly once, since nobody can enter
        // after the closed bit is set.
        if now == Self.closedBit {
            closeDescriptor(raw)
        }
    }

    static func closedError(_ operation: String) -> SocketError {
        SocketError(operation, kind: .closed, errno: EBADF, detail: "socket is closed")
    }
}
