"""Streaming replicas for read-heavy work: which one may serve a read, how far behind each
is, and the read-your-writes marks that keep a caller's own writes visible to them
(docs/scale.md)."""
