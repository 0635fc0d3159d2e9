#if canImport(Glibc)
import Glibc
#endif

/// Bytes waiting on one connection (unsent writes, or reads no one asked for yet): a contiguous
/// buffer allocated only when needed, consumed from the front and compacted when it must grow.
/// Idle connections own none.
struct ByteQueue: ~Copyable {
    private var storage: UnsafeMutableRawPointer?
    private var capacity = 0
    private var head = 0
    private var tail = 0
    /// The first allocation's size (later ones double).
    private let minimumCapacity: Int
    /// A drained queue keeps a buffer up to this size; a larger one is given back.
    private let keptCapacity: Int

    /// - Parameters:
    ///   - minimumCapacity: the first allocation's size.
    ///   - keptCapacity: a drained queue frees a buffer larger than this (0: always), so
    ///     thousands of quiet connections hold no memory.
    init(minimumCapacity: Int = 4096, keptCapacity: Int = 65536) {
        self.minimumCapacity = minimumCapacity
        self.keptCapacity = keptCapacity
    }

    deinit { free(storage) }

    var count: Int { tail - head }
    var isEmpty: Bool { tail == head }

    /// The bytes at the front.
    var pending: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: storage.map { $0 + head }, count: tail - head)
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        if tail + bytes.count > capacity {
            if head > 0 {  // slide what is left to the front
                if tail > head { memmove(storage!, storage! + head, tail - head) }
                tail -= head
                head = 0
            }
            if tail + bytes.count > capacity {
                let wanted = max(minimumCapacity, capacity * 2, tail + bytes.count)
                storage = realloc(storage, wanted)
                precondition(storage != nil, "out of memory for a write buffer")
                capacity = wanted
            }
        }
        memcpy(storage! + tail, bytes.baseAddress!, bytes.count)
        tail += bytes.count
    }

    /// Appends what `fill` writes into up to `maximum` bytes of free space at the back (no
    /// intermediate copy: the TLS stage moves ciphertext straight from OpenSSL into the queue).
    mutating func append(upTo maximum: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Int) {
        guard maximum > 0 else { return }
        if tail + maximum > capacity {
            if head > 0 {
                if tail > head { memmove(storage!, storage! + head, tail - head) }
                tail -= head
                head = 0
            }
            if tail + maximum > capacity {
                let wanted = max(minimumCapacity, capacity * 2, tail + maximum)
                storage = realloc(storage, wanted)
                precondition(storage != nil, "out of memory for a write buffer")
                capacity = wanted
            }
        }
        tail += fill(UnsafeMutableRawBufferPointer(start: storage! + tail, count: maximum))
    }

    /// Drops `n` bytes from the front; once empty, a buffer above `keptCapacity` is given back.
    mutating func consume(_ n: Int) {
        head += n
        if head == tail {
            head = 0
            tail = 0
            if capacity > keptCapacity {
                free(storage)
                storage = nil
                capacity = 0
            }
        }
    }

    mutating func removeAll() {
        free(storage)
        storage = nil
        capacity = 0
        head = 0
        tail = 0
    }
}
