/// `import Loom` brings in the whole toolkit: threads and synchronisation (`LoomThreading`),
/// sockets and selectors (`LoomSockets`), socket servers (`LoomServer`) and the chat room
/// built on them (`LoomChat`).
///
/// Foundation also defines `Thread` and `Timer`. In a file that imports both, name Loom's
/// explicitly: `LoomThreading.Thread`, or add `typealias Thread = LoomThreading.Thread`.
@_exported import LoomChat
@_exported import LoomServer
@_exported import LoomSockets
@_exported import LoomThreading
