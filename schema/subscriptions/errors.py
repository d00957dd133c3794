"""Refusals at subscribe time, as GraphQL errors with `extensions.code`.

A subscription whose resolver raises before its stream starts gets the protocol's `error`
message (not an empty stream); graphql-core copies the exception's `extensions` into it."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from typing import Any, TypeVar

import structlog
from graphql import GraphQLError

from schema.errors import ClientError
from server.errors import AccessError, DomainError, DomainErrors

T = TypeVar("T")

log = structlog.get_logger("eventapi.live")


class SubscriptionRefused(GraphQLError):
    def __init__(self, message: str, code: str) -> None:
        super().__init__(message, extensions={"code": code})


class _NotOurError(logging.Filter):
    """Strawberry logs every error of an operation it runs, with a traceback; a refused
    subscription is the caller's answer, not a fault of ours, so it stays out of the log
    (an unexpected failure is logged where it happens, by `coded_stream`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, SubscriptionRefused) and not isinstance(
            record.msg, SubscriptionRefused
        )


logging.getLogger("strawberry.execution").addFilter(_NotOurError())


def refusal(exc: Exception) -> SubscriptionRefused | None:
    if isinstance(exc, AccessError | ClientError):
        return SubscriptionRefused(exc.message, exc.code)
    if isinstance(exc, DomainError):
        return SubscriptionRefused(exc.message, exc.code.value)
    if isinstance(exc, DomainErrors):
        return SubscriptionRefused(exc.errors[0].message, exc.errors[0].code.value)
    return None


async def checked(work: Callable[[], Awaitable[T]]) -> T:
    """Run the subscribe-time checks; an expected refusal becomes a coded GraphQL error."""
    try:
        return await work()
    except (AccessError, ClientError, DomainError, DomainErrors) as exc:
        refused = refusal(exc)
        assert refused is not None
        raise refused from None


async def coded_stream(stream: AsyncGenerator[Any, None]) -> AsyncGenerator[Any, None]:
    """A running stream's failures as coded errors too: an expected one with its code, an
    unexpected one logged and shown only as INTERNAL (never its message)."""
    try:
        async with aclosing(stream):
            async for item in stream:
                yield item
    except (AccessError, ClientError, DomainError, DomainErrors) as exc:
        refused = refusal(exc)
        assert refused is not None
        raise refused from None
    except Exception:
        log.exception("live subscription failed")
        raise SubscriptionRefused("Internal server error.", "INTERNAL") from None
