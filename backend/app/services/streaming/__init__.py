"""The audio stream (protocol v1, docs/protocol.md): an I/O-free protocol core, the durable
recording file, and the registry that keeps one live connection per interview."""
