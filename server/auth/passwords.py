"""bcrypt, run in a worker thread: one hash at cost 10 takes ~50 ms of CPU, which would
stall every other request on the event loop."""

from __future__ import annotations

import asyncio
from functools import lru_cache

import bcrypt

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_BYTES = 72  # bcrypt ignores anything past 72 bytes; refuse rather than truncate


async def hash_password(password: str, rounds: int) -> str:
    hashed = await asyncio.to_thread(bcrypt.hashpw, password.encode(), bcrypt.gensalt(rounds))
    return hashed.decode()


async def verify_password(password: str, password_hash: str | None, *, rounds: int) -> bool:
    """Whether `password` matches. With no hash (an unknown email) it checks against a
    dummy hash of the configured cost, so both answers take the same time."""
    ok = await asyncio.to_thread(_check, password, password_hash, rounds)
    return ok and password_hash is not None


def _check(password: str, password_hash: str | None, rounds: int) -> bool:
    target = password_hash or dummy_hash(rounds)
    try:
        return bcrypt.checkpw(password.encode(), target.encode())
    except ValueError:  # a malformed stored hash, or a password bcrypt refuses (> 72 bytes)
        return False


def hash_cost(password_hash: str) -> int | None:
    """The cost factor of a `$2b$NN$...` hash."""
    parts = password_hash.split("$")
    return int(parts[2]) if len(parts) > 3 and parts[2].isdigit() else None


@lru_cache(maxsize=4)
def dummy_hash(rounds: int) -> str:
    """A hash at the configured cost, so unknown-email logins take as long as real ones."""
    return bcrypt.hashpw(b"not-a-real-password", bcrypt.gensalt(rounds)).decode()
