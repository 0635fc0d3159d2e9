#if canImport(Glibc)
import Glibc
#endif
import Foundation
@_spi(Fuzzing) import LoomFuzzSupport
import Testing

/// Every input of the seed corpora (`Fuzz/Corpus/<target>/`) through its harness, in the plain
/// suite and under the sanitizers: the fuzz targets' properties hold for the inputs kept in the
/// repository, including the regression inputs of the bugs the fuzzers found.
@Suite("Fuzz corpora replayed")
struct CorpusReplayTests {
    static let corpus = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/Corpus")

    static func inputs(_ target: String) throws -> [(String, [UInt8])] {
        let folder = corpus.appendingPathComponent(target)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        return try names.map { ($0, Array(try Data(contentsOf: folder.appendingPathComponent($0)))) }
    }

    static func replay(_ target: String, _ harness: ([UInt8]) throws(FuzzFailure) -> Void) throws {
        let inputs = try inputs(target)
        #expect(!inputs.isEmpty, "no seeds for \(target)")
        for (name, bytes) in inputs {
            #expect(throws: Never.self, "\(target)/\(name)") { try harness(bytes) }
        }
    }

    @Test func socketAddress() throws { try Self.replay("SocketAddressFuzz", SocketAddressHarness.run) }
    @Test func bufferedReader() throws { try Self.replay("BufferedReaderFuzz", BufferedReaderHarness.run) }
    @Test func uppercase() throws { try Self.replay("UppercaseFuzz", EventLoopReadHarness.runUppercase) }
    @Test func eventLoopRead() throws { try Self.replay("EventLoopReadFuzz", EventLoopReadHarness.run) }
    @Test func proxyHeader() throws { try Self.replay("ProxyHeaderFuzz", ProxyHeaderHarness.run) }
    @Test func chatLine() throws { try Self.replay("ChatLineFuzz", ChatLineHarness.run) }
}
