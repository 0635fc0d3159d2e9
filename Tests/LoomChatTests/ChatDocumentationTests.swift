#if canImport(Glibc)
import Glibc
#endif
import LoomChat
import Testing

/// The DocC catalog's Swift snippets are copies of real code: each must still appear, line for
/// line (indentation aside), in the module's sources, the command line's or this file.
@Suite struct ChatDocumentationTests {
    private static let root: String = {
        var path = #filePath
        for _ in 0..<3 { path = String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)]) }
        return path
    }()

    private static func read(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count <= 0 { break }
            bytes += buffer[..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func swiftFiles(in directory: String) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var files: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name.hasSuffix(".swift") { files.append(directory + "/" + name) }
        }
        return files
    }

    private static func lines(_ text: String) -> [String] {
        text.split(separator: "\n" as Character, omittingEmptySubsequences: false)
            .map { String($0.drop(while: { $0 == " " })) }
            .filter { !$0.isEmpty && !$0.hasPrefix("import ") }
    }

    @Test(arguments: ["LoomChat.md", "BuildAChatRoom.md"])
    func everySwiftSnippetIsRealCode(article: String) throws {
        let text = try #require(Self.read(Self.root + "/Sources/LoomChat/LoomChat.docc/" + article))
        let sources = (Self.swiftFiles(in: Self.root + "/Sources/LoomChat") + Self.swiftFiles(in: Self.root + "/Sources/loom")
            + [Self.root + "/Tests/LoomChatTests/ChatDocumentationTests.swift"])
            .compactMap(Self.read).map { Self.lines($0) }
        let blocks = text.components(separatedBy: "```swift\n").dropFirst().map { $0.components(separatedBy: "```")[0] }
        #expect(!blocks.isEmpty)
        for block in blocks {
            let snippet = Self.lines(block)
            let found = sources.contains { source in
                source.count >= snippet.count
                    && (0...(source.count - snippet.count)).contains { Array(source[$0..<$0 + snippet.count]) == snippet }
            }
            #expect(found, "snippet not found in the sources:\n\(block)")
        }
    }
}

/// The overview's example, compiled here (not run: it serves on port 9998 until shut down).
func overviewExample() throws {
    let server = try ChatMode.eventloop.makeServer(ChatServerConfiguration(port: 9998))
    try server.serveForever()          // server.shutdown(gracePeriod:) from another thread
}
