import LoomThreading
import Testing

/// Port of CPython's `ThreadTests.test_name` (Lib/test/test_threading.py): a thread given no
/// name, or an empty one, is `Thread-N` from one process-wide counter; a name given is kept.
/// (CPython patches `_counter` to pin N; here other tests create threads concurrently, so N is
/// checked by form and order.)
@Suite struct ThreadNameTests {
    static func number(_ name: String) -> Int? {
        guard name.hasPrefix("Thread-") else { return nil }
        return Int(name.dropFirst("Thread-".count))
    }

    @Test func anEmptyOrMissingNameIsThreadN() throws {
        let empty = LoomThreading.Thread(name: "")
        let missing = LoomThreading.Thread()
        let target = LoomThreading.Thread(name: "") {}
        let numbers = [empty, missing, target].map { Self.number($0.name) }
        #expect(numbers.allSatisfy { $0 != nil }, "\([empty, missing, target].map(\.name))")
        let values = numbers.compactMap { $0 }
        #expect(values.count == 3 && values[0] < values[1] && values[1] < values[2])
    }

    @Test func aGivenNameIsKept() {
        #expect(LoomThreading.Thread(name: "myname1").name == "myname1")
        #expect(LoomThreading.Thread(name: "myname2") {}.name == "myname2")
        #expect(LoomThreading.Thread(name: " ").name == " ")  // only "" is "no name" (Python: falsy)
    }
}
