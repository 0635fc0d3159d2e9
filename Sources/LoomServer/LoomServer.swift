/// Python's `socketserver` for Swift.
public enum LoomServerModule {}
