import CLoomShims
import Glibc
import Synchronization

/// A 32-bit atomic word at a stable heap address, so the kernel's futex can sleep on it.
///
/// `Atomic` itself has no address Swift lets us take; this owns a heap cell holding one, whose
/// layout is exactly a `UInt32`, and hands that address to `futex(2)`.
@usableFromInline
package struct FutexWord: ~Copyable {
    @usableFromInline package let cell: UnsafeMutablePointer<Atomic<UInt32>>

    @usableFromInline
    package init(_ value: UInt32 = 0) {
        cell = .allocate(capacity: 1)
        cell.initialize(to: Atomic(value))
    }

    deinit {
        cell.deinitialize(count: 1)
        cell.deallocate()
    }

    /// Sleeps while the word equals `expected`, at most until `deadline` (`nil`: forever).
    /// Returns `false` only when the deadline has passed. Wake-ups may be spurious: callers loop.
    package func wait(expected: UInt32, deadline: Deadline?) -> Bool {
        let address = UnsafeMutableRawPointer(cell).assumingMemoryBound(to: UInt32.self)
        guard let deadline else {
            _ = cloom_futex_wait(address, expected, nil)
            return true
        }
        if deadline.hasPassed { return false }
        var ts = deadline.absoluteTimespec
        if cloom_futex_wait(address, expected, &ts) == -1 {
            // EINVAL means the kernel rejected the deadline: reporting a wake-up instead would
            // send the caller round its loop again at once, spinning.
            let error = cloom_errno()
            if error == ETIMEDOUT || error == EINVAL { return false }
        }
        return true
    }

    /// Wakes up to `count` threads sleeping on the word.
    @usableFromInline
    package func wake(_ count: Int32 = 1) {
        let address = UnsafeMutableRawPointer(cell).assumingMemoryBound(to: UInt32.self)
        _ = cloom_futex_wake(address, count)
    }
}
