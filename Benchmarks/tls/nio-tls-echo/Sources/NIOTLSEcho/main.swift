// Reference TLS echo server on SwiftNIO + swift-nio-ssl, for Benchmarks/tls-compare.sh: the
// plain NIOEcho of ../shared/bench/nio-echo with an NIOSSLServerHandler in front (TLS 1.2
// minimum, no client certificates), one event loop by default.
//
// Usage: NIOTLSEcho --cert CERT.pem --key KEY.pem [--threads N] [--host 127.0.0.1] [--port P]
import NIOCore
import NIOPosix
import NIOSSL

#if canImport(Glibc)
import Glibc
#endif

final class Echo: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.write(data, promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}

func emit(_ fd: Int32, _ text: String) {
    var line = text
    line.withUTF8 { buf in _ = write(fd, buf.baseAddress, buf.count) }
}

struct Options {
    var threads = 1
    var host = "127.0.0.1"
    var port = 9999
    var backlog: Int32 = 4096
    var cert = ""
    var key = ""
}

func parseOptions() -> Options {
    var o = Options()
    var it = CommandLine.arguments.dropFirst().makeIterator()
    func need(_ flag: String) -> String {
        guard let v = it.next() else { emit(2, "missing value for \(flag)\n"); exit(2) }
        return v
    }
    while let a = it.next() {
        switch a {
        case "--threads", "-t": o.threads = max(1, Int(need(a)) ?? 1)
        case "--host": o.host = need(a)
        case "--port", "-p": o.port = Int(need(a)) ?? o.port
        case "--backlog": o.backlog = Int32(need(a)) ?? o.backlog
        case "--cert": o.cert = need(a)
        case "--key": o.key = need(a)
        default: emit(2, "unknown argument \(a)\n"); exit(2)
        }
    }
    if o.cert.isEmpty || o.key.isEmpty { emit(2, "--cert and --key are required\n"); exit(2) }
    return o
}

let opts = parseOptions()
let sslContext: NIOSSLContext
do {
    var configuration = TLSConfiguration.makeServerConfiguration(
        certificateChain: try NIOSSLCertificate.fromPEMFile(opts.cert).map { .certificate($0) },
        privateKey: .privateKey(try NIOSSLPrivateKey(file: opts.key, format: .pem)))
    configuration.minimumTLSVersion = .tlsv12
    sslContext = try NIOSSLContext(configuration: configuration)
} catch {
    emit(2, "TLS setup failed: \(error)\n")
    exit(1)
}

let group = MultiThreadedEventLoopGroup(numberOfThreads: opts.threads)
let bootstrap = ServerBootstrap(group: group)
    .serverChannelOption(.backlog, value: opts.backlog)
    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
    .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: sslContext))
            try channel.pipeline.syncOperations.addHandler(BackPressureHandler())
            try channel.pipeline.syncOperations.addHandler(Echo())
        }
    }
    .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
    .childChannelOption(.maxMessagesPerRead, value: 16)
    .childChannelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator())

let server: Channel
do {
    server = try bootstrap.bind(host: opts.host, port: opts.port).wait()
} catch {
    emit(2, "bind \(opts.host):\(opts.port) failed: \(error)\n")
    try? group.syncShutdownGracefully()
    exit(1)
}
emit(1, "nio-tls-echo listening on \(server.localAddress!) threads=\(opts.threads) pid=\(getpid())\n")
try server.closeFuture.wait()
try group.syncShutdownGracefully()
