"""The same guards for operations sent over graphql-transport-ws, against a real server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedError

from tests.schema.guards.test_http_guards import chain
from tests.support.live import LiveServer, live_servers
from tests.support.services import ServiceUrls

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def server(services: ServiceUrls, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("ws-guards")
    with live_servers(
        services.database_url,
        services.redis_url,
        tmp,
        INTROSPECTION="false",
        QUERY_MAX_COST="800",
        QUERY_MAX_TOKENS="300",
    ) as servers:
        yield servers[0]


async def run_over_websocket(server: LiveServer, query: str) -> dict[str, Any]:
    """The first message answering a `subscribe` of `query` (a `next` or an `error`)."""
    url = server.url.replace("http://", "ws://") + "/graphql"
    async with connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
        return dict(json.loads(await ws.recv()))


def codes(message: dict[str, Any]) -> list[str]:
    assert message["type"] == "error", message
    return [e["extensions"]["code"] for e in message["payload"]]


async def test_a_query_within_the_limits_runs(server: LiveServer) -> None:
    message = await run_over_websocket(server, "query Ping { __typename }")

    assert message["type"] == "next"
    assert message["payload"] == {"data": {"__typename": "Query"}}


async def test_a_deep_operation_is_refused(server: LiveServer) -> None:
    message = await run_over_websocket(server, chain(13))

    assert "QUERY_TOO_DEEP" in codes(message)


async def test_a_costly_operation_is_refused(server: LiveServer) -> None:
    nested = "{ me { organizations { organization { members { role } } } } }"  # costs 841

    message = await run_over_websocket(server, nested)

    assert codes(message) == ["QUERY_TOO_COSTLY"]
    assert message["payload"][0]["message"].startswith("The operation costs 841; the limit is 800.")


async def test_too_many_aliases_are_refused(server: LiveServer) -> None:
    aliased = "{ " + " ".join(f"a{i}: __typename" for i in range(31)) + " }"

    assert codes(await run_over_websocket(server, aliased)) == ["TOO_MANY_ALIASES"]


async def test_too_many_tokens_close_the_connection_like_any_syntax_error(
    server: LiveServer,
) -> None:
    huge = "{ " + "__typename " * 300 + "}"

    with pytest.raises(ConnectionClosedError) as closed:
        await run_over_websocket(server, huge)

    # Strawberry answers every document that does not parse with close code 4400.
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4400
    assert "more than 300 tokens" in closed.value.rcvd.reason


async def test_introspection_is_refused_when_off(server: LiveServer) -> None:
    message = await run_over_websocket(server, "{ __schema { types { name } } }")

    assert codes(message) == ["INTROSPECTION_DISABLED"]


async def test_a_deeply_nested_message_closes_the_connection_as_malformed(
    server: LiveServer,
) -> None:
    url = server.url.replace("http://", "ws://") + "/graphql"
    deep = "[" * 900 + "]" * 900
    async with connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(
            '{"id": "1", "type": "subscribe", "payload": {"query": "{ __typename }",'
            f' "variables": {{"x": {deep}}}}}}}'
        )
        with pytest.raises(ConnectionClosedError) as closed:
            await ws.recv()

    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4400


async def test_a_document_too_heavy_to_validate_is_refused(server: LiveServer) -> None:
    heavy = "{ " + " ".join(["me { id }"] * 40) + " }"  # within the 300-token limit

    message = await run_over_websocket(server, heavy)

    assert codes(message) == ["TOO_MANY_FIELDS"]


async def test_no_suggestions_while_introspection_is_off(server: LiveServer) -> None:
    message = await run_over_websocket(server, "{ mee { id } }")

    assert codes(message) == ["GRAPHQL_VALIDATION_FAILED"]
    assert message["payload"][0]["message"] == "Cannot query field 'mee' on type 'Query'."
