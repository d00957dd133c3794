"""Persisted queries (automatic and trusted documents) and the response cache for
anonymous public queries."""
