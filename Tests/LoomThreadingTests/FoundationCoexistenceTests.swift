// This file imports Foundation next to LoomThreading on purpose: Foundation has its own `Thread`
// and `Timer`, and such a file must compile. Loom's are named through the module.
import Foundation
import LoomThreading
import Testing

@Suite struct FoundationCoexistenceTests {
    @Test func qualifiedNamesDisambiguate() throws {
        typealias LoomThread = LoomThreading.Thread
        let fired = LoomThreading.Event()
        let timer = LoomThreading.Timer(interval: .milliseconds(1)) { fired.set() }
        try timer.start()
        let thread = LoomThread { _ = Foundation.Thread.isMainThread }
        try thread.start()
        #expect(try thread.join(timeout: generous))
        #expect(try timer.join(timeout: generous))
        #expect(fired.isSet)
        // Names Foundation does not have need no qualification.
        let lock = Lock()
        lock.withLock {}
        let queue = Queue<String>()
        try queue.put(Date().description)
        #expect(queue.qsize == 1)
    }
}
