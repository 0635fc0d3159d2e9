import LoomTestSupport
import Testing

/// Every code block of every DocC catalog is compiled: it is copied into a file of
/// `Snippets/`, which this target builds, or it quotes the module's own source. This test keeps
/// the copies honest: each block of each catalog, but for its `import` lines, must appear line for
/// line in one snippet file or one source file of its module.
@Suite struct CatalogSnippetTests {
    /// The package's root, from this file's path (Tests/LoomDocTests/…).
    static let root: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/")
    }()

    /// Every article of every catalog: Sources/MODULE/MODULE.docc/*.md (found, not listed, so a
    /// new article is checked too).
    static let catalogs: [String] = directoryEntries("\(root)/Sources").sorted().flatMap { module in
        directoryEntries("\(root)/Sources/\(module)").filter { $0.hasSuffix(".docc") }.flatMap { catalog in
            directoryEntries("\(root)/Sources/\(module)/\(catalog)").filter { $0.hasSuffix(".md") }.sorted()
                .map { "\(module)/\(catalog)/\($0)" }
        }
    }

    /// The Swift code blocks of a Markdown text, each without its `import` lines.
    static func swiftBlocks(_ markdown: String) -> [[String]] {
        var blocks: [[String]] = []
        var current: [String]?
        for line in markdown.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if current == nil {
                if line.trimmed == "```swift" { current = [] }
            } else if line.trimmed == "```" {
                blocks.append(current!)
                current = nil
            } else if !line.hasPrefix("import ") {
                current!.append(line)
            }
        }
        return blocks
    }

    /// Lines without indentation or trailing blanks, empty ones dropped.
    static func normalized(_ lines: [String]) -> [String] {
        lines.map(\.trimmed).filter { !$0.isEmpty }
    }

    @Test(arguments: catalogs)
    func everyBlockIsCompiled(catalog: String) throws {
        let markdown = try #require(readText("\(Self.root)/Sources/\(catalog)"), "cannot read \(catalog)")
        // A block may also quote the module's own code (an article that walks through it, as the
        // chat room's does): that code is compiled by the build itself.
        let module = String(catalog.prefix { $0 != "/" })
        let sources = directoryEntries("\(Self.root)/Sources/\(module)").filter { $0.hasSuffix(".swift") }
            .map { "\(Self.root)/Sources/\(module)/\($0)" }
        let snippetFiles = directoryEntries("\(Self.root)/Tests/LoomDocTests/Snippets")
            .map { "\(Self.root)/Tests/LoomDocTests/Snippets/\($0)" }
        let snippets = (snippetFiles + sources).compactMap { readText($0) }
            .map { Self.normalized($0.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)) }
        #expect(!snippets.isEmpty)
        #expect(Self.catalogs.count >= 9)
        for block in Self.swiftBlocks(markdown) {
            let wanted = Self.normalized(block)
            let found = snippets.contains { lines in
                lines.count >= wanted.count
                    && (0...(lines.count - wanted.count)).contains { Array(lines[$0..<($0 + wanted.count)]) == wanted }
            }
            #expect(found, "a code block of \(catalog) is in no file of Tests/LoomDocTests/Snippets:\n\(block.joined(separator: "\n"))")
        }
    }
}
