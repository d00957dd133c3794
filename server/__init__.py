"""The event platform's application core: domains, services and wiring (no GraphQL here)."""
