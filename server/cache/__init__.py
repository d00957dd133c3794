"""The tagged cache: values that carry tags and are never served after a committed change
to anything they were tagged with (see `server.cache.tagged` and docs/caching.md)."""

from server.cache.effects import InvalidateTags
from server.cache.tagged import Lookup, TaggedCache, tagged_cache

__all__ = ["InvalidateTags", "Lookup", "TaggedCache", "tagged_cache"]
