"""Live updates: after-commit changes published to Redis pub/sub (`publisher`), fanned out
by every app instance to its own GraphQL subscribers (`hub`). See docs/live.md."""
