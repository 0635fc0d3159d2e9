#if canImport(Glibc)
import Glibc
#endif
import LoomTestSupport
import Synchronization
import Testing
@testable import LoomSockets

private let handledSignals = Atomic<Int>(0)

/// Installs a no-op handler for a spare real-time signal, WITHOUT SA_RESTART, so that a
/// blocking call in the thread it hits returns EINTR. Only this test's signal is touched.
private func installInterruptingHandler() -> Int32 {
    let signal = __libc_current_sigrtmin() + 7
    var action = sigaction()
    action.__sigaction_handler.sa_handler = { _ in handledSignals.add(1, ordering: .relaxed) }
    sigemptyset(&action.sa_mask)
    action.sa_flags = 0
    sigaction(signal, &action, nil)
    return signal
}

/// Waits (at most 10 s) until the handler has seen `count` signals since `base`: the peer acts
/// only once the blocked call has surely been interrupted, however the threads were scheduled.
private func awaitSignals(_ count: Int, since base: Int) {
    for _ in 0..<500 where handledSignals.load(ordering: .relaxed) - base < count { usleep(20_000) }
}

/// Runs `body` on a fresh thread that has `signal` unblocked (test runner threads block most
/// signals), while another thread sends it `signal` every 20 ms; returns when `body` does.
/// Returns how many signals the handler saw meanwhile.
private func whilePestered(with signal: Int32, _ body: @escaping @Sendable () -> Void) -> Int {
    let target = Shared<pthread_t?>(nil)
    let done = Shared(false)
    let before = handledSignals.load(ordering: .relaxed)
    let worker = TestThread {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, signal)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        target.value = pthread_self()
        body()
        done.value = true
    }
    let pest = TestThread {
        // The worker stays alive until it is joined, so pthread_kill never targets a dead thread.
        for _ in 0..<300 where !done.value {
            if let thread = target.value { pthread_kill(thread, signal) }
            usleep(20_000)
        }
    }
    pest.join()
    worker.join()
    return handledSignals.load(ordering: .relaxed) - before
}

extension SocketTests {
    @Suite struct Interrupts {
        @Test func eintrDuringABlockingRecvIsRetried() throws {
            let signal = installInterruptingHandler()
            let (a, b) = try Socket.pair()
            let base = handledSignals.load(ordering: .relaxed)
            let writer = TestThread {
                awaitSignals(5, since: base)
                try? b.sendAll("through")
            }
            let received = Shared<Result<[UInt8], SocketError>?>(nil)
            let signals = whilePestered(with: signal) {
                received.value = Result { () throws(SocketError) in try a.recv(maxBytes: 16) }
            }
            writer.join()
            #expect(try received.value?.get() == Array("through".utf8))
            #expect(signals >= 5, "the signals did not arrive")
        }

        @Test func eintrNeitherFailsNorShortensATimeout() throws {
            let signal = installInterruptingHandler()
            let (a, b) = try Socket.pair()
            a.timeout = .seconds(1)
            let outcome = Shared<SocketError.Kind?>(nil)
            let took = Shared(Duration.zero)
            let signals = whilePestered(with: signal) {
                took.value = elapsed {
                    do throws(SocketError) { _ = try a.recv(maxBytes: 16) } catch { outcome.value = error.kind }
                }
            }
            #expect(outcome.value == .timedOut)
            #expect(took.value >= .seconds(1))
            #expect(took.value < .seconds(6))
            #expect(signals >= 1, "the signals did not arrive")
            withExtendedLifetime(b) {}
        }

        @Test func eintrDuringABlockingAcceptAndSendAll() throws {
            let signal = installInterruptingHandler()
            let listener = try Socket.createServer(port: 0)
            let port = try listener.localAddress.port
            let (a, b) = try Socket.pair()
            let payload = pattern(8 << 20)
            b.timeout = .seconds(10)   // if the sender fails, the reader must not wait forever
            let base = handledSignals.load(ordering: .relaxed)
            let reader = TestThread {
                awaitSignals(10, since: base)
                var total = 0
                var buffer = [UInt8](repeating: 0, count: 65536)
                while total < payload.count {
                    let n = (try? buffer.withUnsafeMutableBytes { try b.recv(into: $0) }) ?? 0
                    if n == 0 { break }
                    total += n
                }
                awaitSignals(20, since: base)
                _ = try? Socket.createConnection(host: "127.0.0.1", port: port)
            }
            let failures = Shared<[String]>([])
            let signals = whilePestered(with: signal) {
                do throws(SocketError) {
                    try a.sendAll(payload)     // blocks while the reader sleeps, interrupted
                    _ = try listener.accept()  // blocks until the reader connects, interrupted
                } catch {
                    failures.update { $0.append("\(error)") }
                }
            }
            reader.join()
            #expect(failures.value.isEmpty)
            #expect(signals >= 10, "the signals did not arrive")
        }
    }
}
