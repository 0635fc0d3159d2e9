/// A growable circular FIFO buffer: O(1) append and removeFirst.
///
/// The elements live in a raw allocation, not an `[Element?]`: `Queue`'s code is not specialised
/// for a client's element type, and unspecialised code over `[Element?]` looks up the runtime
/// metadata of `Optional<Element>` and `Array<Optional<Element>>` on every access (a third of
/// the time of a put+get hand-off, measured); a typed pointer needs only `Element`'s own. For the
/// same reason `removeFirst` returns `Element`, not `Element?` (whose metadata is looked up at run
/// time in unspecialised code), and the capacity is a power of two, indexed by a mask, not `%`.
struct RingBuffer<Element>: ~Copyable {
    private var storage: UnsafeMutablePointer<Element>?
    private var capacity = 0
    private var head = 0
    private(set) var count = 0

    init() {}

    deinit {
        guard let storage else { return }
        for offset in 0..<count {
            (storage + ((head + offset) & (capacity - 1))).deinitialize(count: 1)
        }
        storage.deallocate()
    }

    @inline(__always)
    mutating func append(_ element: consuming Element) {
        if count == capacity { grow() }
        (storage! + ((head + count) & (capacity - 1))).initialize(to: element)
        count += 1
    }

    /// Removes the oldest element; the buffer must not be empty.
    @inline(__always)
    mutating func removeFirst() -> Element {
        precondition(count > 0, "removeFirst on an empty RingBuffer")
        let element = (storage.unsafelyUnwrapped + head).move()
        head = (head + 1) & (capacity - 1)
        count -= 1
        return element
    }

    private mutating func grow() {
        let newCapacity = max(16, capacity * 2)  // a power of two: indices wrap with a mask
        let bigger = UnsafeMutablePointer<Element>.allocate(capacity: newCapacity)
        if let storage {
            for index in 0..<count {
                (bigger + index).moveInitialize(from: storage + ((head + index) & (capacity - 1)), count: 1)
            }
            storage.deallocate()
        }
        storage = bigger
        capacity = newCapacity
        head = 0
    }
}

/// A binary min-heap ordered by a caller's comparator; ties leave in no particular order, as
/// with Python's `heapq`.
struct Heap<Element> {
    private(set) var elements: [Element] = []
    let areInIncreasingOrder: (Element, Element) -> Bool

    init(by areInIncreasingOrder: @escaping (Element, Element) -> Bool) {
        self.areInIncreasingOrder = areInIncreasingOrder
    }

    var count: Int { elements.count }

    mutating func insert(_ element: Element) {
        elements.append(element)
        var child = elements.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard areInIncreasingOrder(elements[child], elements[parent]) else { break }
            elements.swapAt(child, parent)
            child = parent
        }
    }

    mutating func popMin() -> Element? {
        guard !elements.isEmpty else { return nil }
        elements.swapAt(0, elements.count - 1)
        let minimum = elements.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < elements.count, areInIncreasingOrder(elements[left], elements[smallest]) { smallest = left }
            if right < elements.count, areInIncreasingOrder(elements[right], elements[smallest]) { smallest = right }
            if smallest == parent { break }
            elements.swapAt(parent, smallest)
            parent = smallest
        }
        return minimum
    }

}
