"""How deep untrusted JSON may nest.

Every walk of a decoded body (the NUL check, variable coercion, the response cache's key,
storing a webhook as JSONB) recurses once per level, so a one-kilobyte body nested a
thousand levels deep would end in a RecursionError. Bodies are measured once, right
after decoding and without recursion, and refused past MAX_JSON_DEPTH, which is far more
than any of our inputs or any payment provider's event needs."""

from __future__ import annotations

from typing import Any

MAX_JSON_DEPTH = 64
TOO_DEEP_MESSAGE = f"JSON may nest at most {MAX_JSON_DEPTH} levels deep."


def too_deep(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether a decoded JSON value nests deeper than `limit` objects and arrays (a
    scalar is depth 0, `[]` and `{}` depth 1)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        if isinstance(current, dict):
            children: Any = current.values()
        elif isinstance(current, list):
            children = current
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
