"""Fixed-window request limits kept in Redis, so every app instance counts against the same
budget (see `server.gate`, which spends them)."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis


@dataclass(frozen=True, slots=True)
class RateLimitStatus:
    limit: int
    remaining: int
    reset: int  # seconds until the window resets
    allowed: bool

    def headers(self) -> dict[str, str]:
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.reset)
        return headers


def status_of(count: int, *, limit: int, window: int, now: float) -> RateLimitStatus:
    """The budget after the `count`-th request of the current window."""
    reset = max(1, (int(now // window) + 1) * window - int(now))
    return RateLimitStatus(limit, max(0, limit - count), reset, count <= limit)


def window_key(key: str, *, window: int, now: float) -> str:
    """The Redis counter of `key`'s budget in the window holding `now`."""
    return f"ratelimit:{key}:{int(now // window)}"


async def hit(redis: Redis, key: str, *, limit: int, window: int, now: float) -> RateLimitStatus:
    """Spend one unit of `key`'s budget (requests go through `server.gate`, which does
    this in the same round trip as authentication; this serves budgets of their own)."""
    redis_key = window_key(key, window=window, now=now)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.incr(redis_key)
        pipe.expire(redis_key, window + 60)
        count, _ = await pipe.execute()
    return status_of(int(count), limit=limit, window=window, now=now)
