@_spi(Fuzzing) import LoomFuzzSupport

/// libFuzzer's entry point: BufferedReader.readLine over a socket pair, recv cut up by the input.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    do {
        try BufferedReaderHarness.run(Array(UnsafeBufferPointer(start: data, count: size)))
    } catch {
        fatalError("fuzz invariant broken: \(error)")  // a crash: libFuzzer saves the input
    }
    return 0
}
