"""The request gate: who is calling, and whether their request budget allows it, in one
Redis round trip.

One Lua script reads what the credentials stand for now (a session's live flag, an API
key's record), spends one unit of the right budget (the user's, the key's, or the client
IP's; a revoked session or key spends the IP's, so a stolen token cannot exhaust its
owner's budget), notes when an API key's `lastUsedAt` is due, and, for an anonymous query
the response cache may answer, looks the response up too. `server.auth.authenticate`
finishes from the script's answer, reading the database only for what Redis did not hold.

Limits are fixed windows (`RATE_LIMIT_WINDOW`) counted in Redis, so every app instance
spends the same budget."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from server import metrics
from server.apikeys import service as apikeys
from server.app_state import AppState
from server.auth.actor import Actor
from server.auth.authenticate import (
    SESSION_REVOKED,
    Credentials,
    actor_for,
    anonymous_rate_key,
    read_credentials,
)
from server.cache.scripts import LOOKUP_FUNCTION
from server.cache.tagged import Lookup, tagged_cache
from server.errors import Unauthenticated
from server.ratelimit import RateLimitStatus, status_of, window_key

# KEYS: rate, fallback rate, credential state or '', last-used marker or '', cache entry
# or '', cache seq or ''. ARGV: window ttl, revoked session marker, last-used ttl, cache
# version prefix, digest of a presented API key's secret or ''.
# Returns {count, state, fell back (0/1), last use due (0/1), cache hit (0/1), body or
# seq, stored at}. A revoked session, or an API key whose record is missing its digest
# (unknown, revoked: the tombstone), spends the fallback (the client IP's) budget. An API
# key not cached spends nothing here (count 0): the caller spends once it is verified.
GATE = (
    LOOKUP_FUNCTION
    + """
local state = false
if KEYS[3] ~= '' then state = redis.call('GET', KEYS[3]) end
local key = KEYS[1]
local fallback = 0
if state then
  if ARGV[5] ~= '' then
    local ok, record = pcall(cjson.decode, state)
    if not ok or type(record) ~= 'table' or record['hash'] ~= ARGV[5] then fallback = 1 end
  elseif state == ARGV[2] then
    fallback = 1
  end
end
if fallback == 1 then key = KEYS[2] end
local count = 0
if state or ARGV[5] == '' then
  count = redis.call('INCR', key)
  if count == 1 then redis.call('EXPIRE', key, ARGV[1]) end
end
local due = 0
if KEYS[4] ~= '' and fallback == 0 and (state or ARGV[5] == '') then
  if redis.call('SET', KEYS[4], '1', 'NX', 'EX', ARGV[3]) then due = 1 end
end
local cached = {0, 0, 0}
if KEYS[5] ~= '' then cached = lookup(KEYS[5], KEYS[6], ARGV[4]) end
return {count, state, fallback, due, cached[1], cached[2], cached[3]}
"""
)


class Refused(Exception):
    """The request may not go on: 401 (bad credentials) or 429 (over budget)."""

    def __init__(self, status: int, code: str, message: str, rate: RateLimitStatus | None) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.rate = rate
        super().__init__(message)

    def headers(self) -> dict[str, str]:
        headers = self.rate.headers() if self.rate is not None else {}
        if self.status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        return headers


@dataclass(frozen=True, slots=True)
class Admission:
    actor: Actor
    rate: RateLimitStatus
    cached: Lookup | None = None  # the response cache's answer, when it was asked


@dataclass(frozen=True, slots=True)
class CacheProbe:
    """A response-cache entry to look up in the gate's round trip (anonymous queries)."""

    name: str
    key: str


class Gate:
    def __init__(self, state: AppState) -> None:
        self.state = state
        self._script = state.redis.register_script(GATE)

    async def admit(
        self,
        *,
        authorization: str | None,
        api_key: str | None,
        ip: str | None,
        now: datetime,
        probe: CacheProbe | None = None,
    ) -> Admission:
        """The caller's actor and budget, or `Refused`. `probe` is looked up only for an
        anonymous caller (the response cache is theirs alone)."""
        settings = self.state.settings
        try:
            credentials = read_credentials(
                authorization=authorization, api_key=api_key, settings=settings, now=now
            )
        except Unauthenticated as failed:
            # Failed credentials still spend the client's anonymous budget (no free guessing).
            rate = await self._spend_anonymous(ip)
            raise self._refused(failed, rate) from None
        reply = await self._run(credentials, ip, probe if credentials.anonymous else None)
        count, state, fell_back, due = int(reply[0]), reply[1], int(reply[2]), int(reply[3])
        try:
            actor = await actor_for(
                credentials,
                state if state is None else bytes(state),
                ip=ip,
                db=self.state.db,
                redis=self.state.redis,
                settings=settings,
                now=now,
            )
        except Unauthenticated as failed:
            rate = (
                self._status(count, anonymous=True)
                if fell_back
                else await self._spend_anonymous(ip)
            )
            raise self._refused(failed, rate) from None
        if count == 0:  # an API key read from the database: spend now it is verified
            count, due = await self._spend(credentials.rate_key(ip), used=used_marker(credentials))
        rate = self._status(count, anonymous=actor.is_anonymous)
        if not rate.allowed:
            raise self._over(rate, anonymous=actor.is_anonymous)
        if due and actor.api_key_id is not None:
            await apikeys.record_use(self.state.db, actor.api_key_id, now)  # once a minute
        cached = None
        if probe is not None and credentials.anonymous:
            cached = Lookup.from_reply(reply[4:])
            tagged_cache(self.state).count(probe.name, cached)
        return Admission(actor, rate, cached)

    async def _run(
        self, credentials: Credentials, ip: str | None, probe: CacheProbe | None
    ) -> list[Any]:
        settings = self.state.settings
        cache = tagged_cache(self.state)
        state_key = credentials.state_key or ""
        used = used_marker(credentials)
        entry, seq = cache.lookup_keys(probe.name, probe.key) if probe is not None else ("", "")
        reply = await self._script(
            keys=[
                self._window_key(credentials.rate_key(ip)),
                self._window_key(anonymous_rate_key(ip)),
                state_key,
                used,
                entry,
                seq,
            ],
            args=[
                settings.rate_limit_window + 60,
                SESSION_REVOKED,
                apikeys.LAST_USED_RESOLUTION,
                cache.version_prefix,
                apikeys.secret_digest(credentials.api_key) if credentials.api_key else "",
            ],
        )
        return list(reply)

    async def _spend_anonymous(self, ip: str | None) -> RateLimitStatus:
        count, _ = await self._spend(anonymous_rate_key(ip))
        return self._status(count, anonymous=True)

    async def _spend(self, rate_key: str, *, used: str = "") -> tuple[int, int]:
        """Spend one unit of a budget (and note a due lastUsedAt): (count, due)."""
        reply = await self._script(
            keys=[self._window_key(rate_key), "", "", used, "", ""],
            args=[
                self.state.settings.rate_limit_window + 60,
                "",
                apikeys.LAST_USED_RESOLUTION,
                "",
                "",
            ],
        )
        return int(reply[0]), int(reply[3])

    def _window_key(self, key: str) -> str:
        return window_key(key, window=self.state.settings.rate_limit_window, now=time.time())

    def _status(self, count: int, *, anonymous: bool) -> RateLimitStatus:
        settings = self.state.settings
        limit = settings.rate_limit_anonymous if anonymous else settings.rate_limit_authenticated
        return status_of(count, limit=limit, window=settings.rate_limit_window, now=time.time())

    def _refused(self, failed: Unauthenticated, rate: RateLimitStatus) -> Refused:
        if not rate.allowed:
            return self._over(rate, anonymous=True)
        return Refused(401, "UNAUTHENTICATED", failed.message, rate)

    def _over(self, rate: RateLimitStatus, *, anonymous: bool) -> Refused:
        metrics.rate_limited.labels("anonymous" if anonymous else "authenticated").inc()
        return Refused(429, "RATE_LIMITED", "Too many requests; see the RateLimit headers.", rate)


def used_marker(credentials: Credentials) -> str:
    if credentials.api_key is None:
        return ""
    return apikeys.used_marker(apikeys.split_key(credentials.api_key)[0])
