/// Latencies in nanoseconds, log-bucketed like the C load generator's (HdrHistogram-like: exact
/// below 128 ns, then 64 linear sub-buckets per power of two, at most 1.6 % error). Fixed size,
/// so recording allocates nothing.
struct BenchHistogram: ~Copyable {
    private static let subBuckets = 64
    private static let bucketCount = 64 * 66
    private let buckets: UnsafeMutablePointer<UInt64>
    private(set) var count: UInt64 = 0
    private(set) var max: UInt64 = 0
    private(set) var min: UInt64 = 0
    private(set) var sum: Double = 0

    init() {
        buckets = .allocate(capacity: Self.bucketCount)
        buckets.initialize(repeating: 0, count: Self.bucketCount)
    }

    deinit { buckets.deallocate() }

    private static func index(_ value: UInt64) -> Int {
        if value < UInt64(2 * subBuckets) { return Int(value) }
        let msb = 63 - value.leadingZeroBitCount
        let shift = msb - 6
        let top = Int(value >> UInt64(shift))  // 64...127
        return Swift.min((shift + 1) * subBuckets + (top - subBuckets), bucketCount - 1)
    }

    private static func highestValue(_ index: Int) -> UInt64 {
        if index < 2 * subBuckets { return UInt64(index) }
        let shift = index / subBuckets - 1
        let top = UInt64(subBuckets + index % subBuckets)
        return ((top + 1) << UInt64(shift)) - 1
    }

    @inline(__always)
    mutating func record(_ value: UInt64) {
        buckets[Self.index(value)] += 1
        count += 1
        sum += Double(value)
        if value > max { max = value }
        if count == 1 || value < min { min = value }
    }

    /// The value at percentile `p` (0...100), never above the maximum seen.
    func percentile(_ p: Double) -> UInt64 {
        guard count > 0 else { return 0 }
        let wanted = Swift.max(1, UInt64((p / 100 * Double(count)).rounded(.up)))
        var seen: UInt64 = 0
        for i in 0..<Self.bucketCount {
            seen += buckets[i]
            if seen >= wanted { return Swift.min(Self.highestValue(i), max) }
        }
        return max
    }

    var mean: Double { count > 0 ? sum / Double(count) : 0 }
}
