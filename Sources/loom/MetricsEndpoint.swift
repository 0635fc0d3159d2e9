import CoreMetrics
import Logging
import Loom
import LoomMetrics
import Prometheus

/// `loom serve --metrics-port P`: swift-prometheus' registry bootstrapped as the process's
/// swift-metrics backend, and its text format served at `http://127.0.0.1:P/metrics` by a
/// one-loop ``EventLoopServer`` of Loom's own, bound to loopback only.
///
/// The responder speaks just enough HTTP/1.0 for a scraper (Prometheus, curl): it reads the
/// request head (at most 8 KiB), answers `GET /metrics` with 200 and the registry's text, anything
/// else well-formed with 404, a malformed request line with 400 and a head past 8 KiB with 431,
/// and closes. A client that stalls is closed by the idle timeout; at most 64 connect at once.
struct MetricsEndpoint {
    let server: EventLoopServer
    let registry: PrometheusCollectorRegistry

    /// Bootstraps swift-metrics with Prometheus (once per process) and starts serving.
    static func start(port: Int, logger: Logger) throws(SocketError) -> MetricsEndpoint {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let configuration = EventLoopServer.Configuration(
            host: "127.0.0.1", port: port, loops: 1, maxConnections: 64, idleTimeout: .seconds(5),
            errorHandler: { error, peer in
                logger.info("metrics endpoint: \(error)", metadata: ["client": "\(peer.map { "\($0)" } ?? "-")"])
            })
        let server = try EventLoopServer(configuration: configuration) { MetricsResponder(registry: registry) }
        server.start()
        return MetricsEndpoint(server: server, registry: registry)
    }
}

/// One scrape: collect the request head, answer once, close.
final class MetricsResponder: StreamProtocol {
    /// A request head larger than this is refused (431), so a client cannot make the server buffer without end.
    static let maxHeadBytes = 8192

    private let registry: PrometheusCollectorRegistry
    private var transport: Transport?
    private var head: [UInt8] = []

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    func connectionMade(_ transport: Transport) { self.transport = transport }

    func dataReceived(_ data: UnsafeRawBufferPointer) {
        guard let transport, !transport.isClosing else { return }
        head.append(contentsOf: data.prefix(max(0, Self.maxHeadBytes + 4 - head.count)))
        if let end = Self.endOfHead(head) {
            answer(MetricsRequest.status(ofHead: head[..<end]), on: transport)
        } else if head.count > Self.maxHeadBytes {
            answer(.headTooLarge, on: transport)
        }
    }

    func eofReceived() -> Bool {
        // A client that half-closed before a whole head: nothing to answer.
        false
    }

    func connectionLost(_ error: (any Error)?) { transport = nil }

    private func answer(_ status: MetricsRequest.Status, on transport: Transport) {
        var body: [UInt8] = []
        let contentType: String
        if status == .ok {
            registry.emit(into: &body)
            contentType = "text/plain; version=0.0.4; charset=utf-8"
        } else {
            body = Array("\(status.reason)\n".utf8)
            contentType = "text/plain; charset=utf-8"
        }
        transport.write("HTTP/1.0 \(status.rawValue) \(status.reason)\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n")
        transport.write(body)
        transport.close()
    }

    /// The index just past the blank line ending the head (CRLF CRLF, or LF LF from a lax client).
    static func endOfHead(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 2 else { return nil }
        for index in 1..<bytes.count where bytes[index] == UInt8(ascii: "\n") {
            if bytes[index - 1] == UInt8(ascii: "\n") { return index + 1 }
            if index >= 3, bytes[index - 1] == UInt8(ascii: "\r"), bytes[index - 2] == UInt8(ascii: "\n") { return index + 1 }
        }
        return nil
    }
}

/// The request line's verdict.
enum MetricsRequest {
    /// The answers the endpoint gives.
    enum Status: Int {
        case ok = 200, badRequest = 400, notFound = 404, headTooLarge = 431

        var reason: String {
            switch self {
            case .ok: "OK"
            case .badRequest: "Bad Request"
            case .notFound: "Not Found"
            case .headTooLarge: "Request Header Fields Too Large"
            }
        }
    }

    /// `GET /metrics` (with or without a query) over HTTP/1.x → ok; another well-formed request
    /// line → not found; anything else → bad request.
    static func status(ofHead head: ArraySlice<UInt8>) -> Status {
        let line = head.prefix { $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: "\n") }
        let parts = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard parts.count == 3,
              parts[0].allSatisfy({ $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }), !parts[0].isEmpty,
              parts[1].first == UInt8(ascii: "/"), parts[1].allSatisfy({ $0 > 0x20 && $0 < 0x7f }),
              parts[2].starts(with: Array("HTTP/1.".utf8)), parts[2].count == 8
        else { return .badRequest }
        let path = parts[1].prefix { $0 != UInt8(ascii: "?") }
        return parts[0].elementsEqual("GET".utf8) && path.elementsEqual("/metrics".utf8) ? .ok : .notFound
    }
}
