"""A stream that fails once running still reports a coded error, and never shows the
message of an unexpected one."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import pytest

from schema.subscriptions.errors import SubscriptionRefused, coded_stream
from server.errors import LimitExceeded


async def failing(exc: Exception) -> AsyncGenerator[Any, None]:
    yield 1
    raise exc


async def test_an_expected_failure_keeps_its_code() -> None:
    stream = coded_stream(failing(LimitExceeded("Too many.")))
    assert await anext(stream) == 1
    with pytest.raises(SubscriptionRefused) as refused:
        await anext(stream)
    assert refused.value.extensions == {"code": "LIMIT_EXCEEDED"}
    assert refused.value.message == "Too many."


async def test_an_unexpected_failure_is_masked() -> None:
    stream = coded_stream(failing(RuntimeError("password=hunter2")))
    assert await anext(stream) == 1
    with pytest.raises(SubscriptionRefused) as refused:
        await anext(stream)
    assert refused.value.extensions == {"code": "INTERNAL"}
    assert "hunter2" not in refused.value.message


async def test_closing_the_stream_closes_what_it_wraps() -> None:
    closed: list[bool] = []

    async def inner() -> AsyncGenerator[int, None]:
        try:
            yield 1
            yield 2
        finally:
            closed.append(True)

    stream = coded_stream(inner())
    assert await anext(stream) == 1
    await stream.aclose()
    assert closed == [True]
