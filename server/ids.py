"""Identifiers: time-ordered UUIDs (version 7), so new rows land at the end of indexes
and ids sort by creation time, which cursor pagination relies on."""

from __future__ import annotations

import hashlib
import os
import time
import uuid

_last = [0, 0]  # last millisecond, counter within it (per process)


def new_id() -> uuid.UUID:
    ms = (time.time_ns() // 1_000_000) & ((1 << 48) - 1)
    if ms <= _last[0]:
        # Same (or earlier, if the clock stepped back) millisecond: count up in rand_a so
        # ids from one process stay strictly increasing.
        ms = _last[0]
        _last[1] += 1
        if _last[1] > 0x0FFF:
            ms += 1
            _last[1] = 0
    else:
        _last[1] = int.from_bytes(os.urandom(1), "big")
    _last[0] = ms
    rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    return uuid.UUID(int=(ms << 80) | (0x7 << 76) | (_last[1] << 64) | (0b10 << 62) | rand_b)


def derived_id(anchor: uuid.UUID, key: bytes) -> uuid.UUID:
    """A UUIDv7 of the same millisecond as `anchor` whose random bits are a hash of
    (`anchor`, `key`): the same pair always gives the same id, so a second insert of
    it conflicts on the primary key, and the row sorts (and is partitioned) with the
    anchor's."""
    digest = int.from_bytes(hashlib.sha256(anchor.bytes + key).digest()[:10], "big")
    ms = anchor.int >> 80
    rand_a = (digest >> 62) & 0x0FFF
    rand_b = digest & ((1 << 62) - 1)
    return uuid.UUID(int=(ms << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b)


def parse_uuid(value: object) -> uuid.UUID | None:
    """The UUID in `value`, or None when it is not one (callers turn that into an error)."""
    if isinstance(value, uuid.UUID):
        return value
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
