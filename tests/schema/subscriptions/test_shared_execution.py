"""One execution per change and document, shared by every subscriber that sent the same
document and variables; anything else executes per subscriber."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import strawberry

from schema.subscriptions.shared import SharedEvent, SharedEventExecutor

resolved: list[str] = []


@strawberry.type
class Thing:
    name: str

    @strawberry.field
    def label(self, prefix: str = "") -> str:
        resolved.append(self.name)
        return prefix + self.name


@strawberry.type
class Query:
    ok: bool = True


EVENTS: list[Any] = []


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def things(self) -> AsyncGenerator[Thing, None]:
        for event in EVENTS:
            yield event


schema = strawberry.Schema(
    query=Query, subscription=Subscription, execution_context_class=SharedEventExecutor
)


async def collect(document: str, variables: dict[str, Any] | None = None) -> list[Any]:
    stream = await schema.subscribe(document, variable_values=variables)
    return [result.data async for result in stream]  # type: ignore[union-attr]


async def test_subscribers_with_one_document_share_one_execution_per_event() -> None:
    EVENTS[:] = [SharedEvent(Thing(name="a")), SharedEvent(Thing(name="b"))]
    resolved.clear()
    document = "subscription { things { label } }"
    first = await collect(document)
    second = await collect(document)
    assert first == second == [{"things": {"label": "a"}}, {"things": {"label": "b"}}]
    assert resolved == ["a", "b"]


async def test_other_documents_and_variables_are_executed_on_their_own() -> None:
    EVENTS[:] = [SharedEvent(Thing(name="a"))]
    resolved.clear()
    with_variable = "subscription($p: String!) { things { label(prefix: $p) } }"
    assert await collect(with_variable, {"p": "x-"}) == [{"things": {"label": "x-a"}}]
    assert await collect(with_variable, {"p": "y-"}) == [{"things": {"label": "y-a"}}]
    assert await collect("subscription { things { label name } }") == [
        {"things": {"label": "a", "name": "a"}}
    ]
    assert resolved == ["a", "a", "a"]


async def test_plain_values_are_executed_for_each_subscriber() -> None:
    EVENTS[:] = [Thing(name="a")]
    resolved.clear()
    document = "subscription { things { label } }"
    assert await collect(document) == await collect(document) == [{"things": {"label": "a"}}]
    assert resolved == ["a", "a"]
