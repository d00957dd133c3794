"""Sign-in attempts: each one spends a unit of the client IP's request budget, and each is
counted for the account it names, in Redis, so every app instance shares the counts.

An account's first `LOGIN_FREE_ATTEMPTS` attempts go through; from then on every attempt
locks the account for a while, doubling from `LOGIN_BACKOFF_BASE` to `LOGIN_BACKOFF_MAX`
seconds, and attempts made while it is locked are refused without checking the password
(nor counted). A success clears the count; so do `LOGIN_FAILURE_MEMORY` quiet seconds.
Counts are kept per email as typed (normalized), not per user, so an unknown email is
answered exactly like a known one.

A client that once signed in to the account carries a device token (an HttpOnly cookie,
bound to that email); its attempts are counted for that device instead, so a guesser
elsewhere cannot lock the owner out of a device they use (docs/identity.md)."""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import time
from dataclasses import dataclass

from redis.asyncio import Redis

from server import metrics
from server.auth.authenticate import anonymous_rate_key
from server.auth.emails import normalize_email
from server.config import Settings
from server.errors import DomainError, ErrorCode
from server.ratelimit import status_of, window_key

DEVICE_COOKIE = "eventapi_device"

# KEYS: the client IP's budget window or '' (already paid), the attempt counter (a hash:
# n = attempts, until = epoch ms the lock ends). ARGV: IP limit, IP window ttl, free
# attempts, first lock ms, longest lock ms, seconds the count is remembered.
# Returns {0 = go on | 1 = over the IP budget | 2 = locked, ms until the lock ends}.
ATTEMPT = """
if KEYS[1] ~= '' then
  local spent = redis.call('INCR', KEYS[1])
  if spent == 1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
  if spent > tonumber(ARGV[1]) then return {1, 0} end
end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local locked = tonumber(redis.call('HGET', KEYS[2], 'until') or '0')
if locked > now then return {2, locked - now} end
local n = redis.call('HINCRBY', KEYS[2], 'n', 1)
local free = tonumber(ARGV[3])
if n >= free then
  local lock = tonumber(ARGV[4]) * 2 ^ math.min(n - free, 40)
  redis.call('HSET', KEYS[2], 'until', now + math.min(lock, tonumber(ARGV[5])))
end
redis.call('EXPIRE', KEYS[2], ARGV[6])
return {0, 0}
"""


class TooManyAttempts(DomainError):
    code = ErrorCode.RATE_LIMITED

    def __init__(self, retry_after: int) -> None:
        self.retry_after = max(1, retry_after)
        super().__init__(
            f"Too many sign-in attempts; try again in {self.retry_after} seconds.",
        )


@dataclass(frozen=True, slots=True)
class Attempt:
    """An admitted attempt: the email's account digest and the counter it was counted on."""

    account: str
    counter: str


def _digest(key: str, message: str) -> str:
    return hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()[:32]


def _account(settings: Settings, email: str) -> str:
    return _digest(settings.jwt_key, f"login:{normalize_email(email)}")


def account_key(settings: Settings, email: str) -> str:
    """The Redis key counting attempts at `email` from clients it does not know."""
    return f"login:account:{_account(settings, email)}"


def _device_key(device: str) -> str:
    return f"login:device:{device}"


async def admit(
    redis: Redis,
    settings: Settings,
    *,
    email: str,
    ip: str | None,
    device_token: str | None,
    prepaid: bool,
) -> Attempt:
    """Count one attempt at `email`, or refuse it (`TooManyAttempts`). `prepaid`: the
    request's own unit of the client IP's budget pays for this attempt (the first login
    of an anonymous request)."""
    account = _account(settings, email)
    device = known_device(settings, account, device_token)
    counter = _device_key(device) if device else f"login:account:{account}"
    now = time.time()
    window = settings.rate_limit_window
    budget = "" if prepaid else window_key(anonymous_rate_key(ip), window=window, now=now)
    verdict, locked_ms = await redis.register_script(ATTEMPT)(
        keys=[budget, counter],
        args=[
            settings.rate_limit_anonymous,
            window + 60,
            settings.login_free_attempts,
            settings.login_backoff_base * 1000,
            settings.login_backoff_max * 1000,
            settings.login_failure_memory,
        ],
    )
    if int(verdict) == 1:
        metrics.logins_refused.labels("ip_budget").inc()
        limit = settings.rate_limit_anonymous
        raise TooManyAttempts(status_of(limit + 1, limit=limit, window=window, now=now).reset)
    if int(verdict) == 2:
        metrics.logins_refused.labels("locked").inc()
        raise TooManyAttempts(math.ceil(int(locked_ms) / 1000))
    return Attempt(account, counter)


async def succeeded(redis: Redis, attempt: Attempt) -> None:
    """The password was right: the account (and the device) start afresh."""
    await redis.delete(f"login:account:{attempt.account}", attempt.counter)


def new_device_token(settings: Settings, attempt: Attempt) -> str:
    """A token naming this client as one that signed in to the attempt's account."""
    nonce = secrets.token_urlsafe(16)
    return f"{nonce}.{_device_mac(settings, attempt.account, nonce)}"


def known_device(settings: Settings, account: str, token: str | None) -> str | None:
    """The device a token names, if it was issued for this account."""
    if not token or token.count(".") != 1 or len(token) > 100:
        return None
    nonce, mac = token.split(".")
    if not nonce or not hmac.compare_digest(mac, _device_mac(settings, account, nonce)):
        return None
    return nonce


def _device_mac(settings: Settings, account: str, nonce: str) -> str:
    return _digest(settings.jwt_key, f"device:{account}:{nonce}")
