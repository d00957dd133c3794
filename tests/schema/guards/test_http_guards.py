"""Each guard's refusal over HTTP: its status and code, and nothing executed."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from server.config import Settings
from tests.conftest import running_app
from tests.support import factories
from tests.support.gql import GraphQLClient

GRAPHQL_RESPONSE = "application/graphql-response+json"
PAGE = """
query Page($n: Int) {
  events(first: $n) { totalCount edges { node { id title occurrences { id } } } }
}
"""


def nested_fields(depth: int) -> str:
    """`me { organizations { organization { members { user { ... __typename`: `depth` levels."""
    cycle = ["organizations", "organization", "members", "user"]
    fields = ["me"] + [cycle[i % 4] for i in range(depth - 2)] + ["__typename"]
    return " { ".join(fields) + " }" * (len(fields) - 1)


def chain(depth: int) -> str:
    return "query Deep { " + nested_fields(depth) + " }"


async def send(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, object] | None = None,
    *,
    accept: str,
) -> httpx.Response:
    body: dict[str, object] = {"query": query}
    if variables is not None:
        body["variables"] = variables
    return await client.post("/graphql", json=body, headers={"accept": accept})


def only_error(response: httpx.Response) -> dict[str, object]:
    body = response.json()
    assert "data" not in body or body["data"] is None, body
    assert len(body["errors"]) == 1, body
    return dict(body["errors"][0])


@pytest.mark.parametrize(("accept", "status"), [(GRAPHQL_RESPONSE, 400), ("application/json", 200)])
async def test_a_query_deeper_than_the_limit_is_refused(
    make_settings: Callable[..., Settings], accept: str, status: int
) -> None:
    # (nested lists this deep cost far more than the default limit, so lift that one)
    async with running_app(make_settings(query_max_cost=10**9)) as (_, client):
        at_limit = await send(client, chain(12), accept=accept)
        too_deep = await send(client, chain(13), accept=accept)

    assert at_limit.status_code == 200 and "errors" not in at_limit.json()
    assert too_deep.status_code == status
    error = only_error(too_deep)
    assert error["extensions"] == {"code": "QUERY_TOO_DEEP"}
    assert error["message"] == "Operation 'Deep' is 13 levels deep; the limit is 12."


async def test_too_many_aliases_are_refused(client: httpx.AsyncClient) -> None:
    thirty = "{ " + " ".join(f"a{i}: __typename" for i in range(30)) + " }"
    thirty_one = "{ " + " ".join(f"a{i}: __typename" for i in range(31)) + " }"

    allowed = await send(client, thirty, accept=GRAPHQL_RESPONSE)
    refused = await send(client, thirty_one, accept=GRAPHQL_RESPONSE)

    assert allowed.status_code == 200 and len(allowed.json()["data"]) == 30
    assert refused.status_code == 400
    assert only_error(refused)["extensions"] == {"code": "TOO_MANY_ALIASES"}


async def test_a_document_with_too_many_tokens_is_refused(client: httpx.AsyncClient) -> None:
    huge = "{ " + "__typename " * 5000 + "}"

    response = await send(client, huge, accept=GRAPHQL_RESPONSE)

    assert response.status_code == 400
    error = only_error(response)
    assert error["extensions"] == {"code": "QUERY_TOO_LARGE"}
    assert "5000 tokens" in str(error["message"])


async def test_the_cost_counts_list_sizes_from_variables(client: httpx.AsyncClient) -> None:
    # cost = events 1 + totalCount 1 + n * (edge 1 + node 1 + id 1 + title 1 + 20 * (1 + 1))
    small = await send(client, PAGE, {"n": 10}, accept=GRAPHQL_RESPONSE)
    large = await send(client, PAGE, {"n": 1200}, accept=GRAPHQL_RESPONSE)

    assert small.status_code == 200
    assert small.json() == {"data": {"events": {"totalCount": 0, "edges": []}}}
    assert large.status_code == 400
    error = only_error(large)
    assert error["extensions"] == {"code": "QUERY_TOO_COSTLY", "cost": 52802, "maxCost": 50000}
    assert str(error["message"]).startswith("The operation costs 52802; the limit is 50000.")


async def test_unbounded_lists_count_at_the_default_size(
    make_settings: Callable[..., Settings],
) -> None:
    nested = "{ me { organizations { organization { members { role } } } } }"  # costs 841
    async with running_app(make_settings(query_max_cost=840)) as (_, client):
        response = await send(client, nested, accept=GRAPHQL_RESPONSE)

    assert response.status_code == 400
    assert only_error(response)["extensions"] == {
        "code": "QUERY_TOO_COSTLY",
        "cost": 841,
        "maxCost": 840,
    }


def fanned_out(levels: int, leaf: str) -> str:
    """`{ ...F0 }` where each fragment spreads the next one twice: `leaf` 2**levels times
    once expanded, in a document of a few kilobytes."""
    spreads = " ".join(
        f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)
    )
    return f"query Fan {{ ...F0 }} {spreads} fragment F{levels} on Query {{ {leaf} }}"


async def test_fragments_spread_within_fragments_are_measured_once_each(
    client: httpx.AsyncClient,
) -> None:
    # 2**40 copies of `events { totalCount }` (2 each) once expanded: measured fragment by
    # fragment, never by expanding them, or these requests would not finish.
    costly = await send(client, fanned_out(40, "events { totalCount }"), accept=GRAPHQL_RESPONSE)
    deep = await send(client, fanned_out(40, nested_fields(13)), accept=GRAPHQL_RESPONSE)
    cheap = await send(client, fanned_out(40, "__typename"), accept=GRAPHQL_RESPONSE)

    assert costly.status_code == 400
    assert only_error(costly)["extensions"] == {
        "code": "QUERY_TOO_COSTLY",
        "cost": 2**41,
        "maxCost": 50000,
    }
    assert deep.status_code == 400
    assert only_error(deep)["extensions"] == {"code": "QUERY_TOO_DEEP"}
    assert only_error(deep)["message"] == "Operation 'Fan' is 13 levels deep; the limit is 12."
    assert cheap.status_code == 200
    assert cheap.json() == {"data": {"__typename": "Query"}}


async def test_a_cost_past_what_json_carries_is_reported_as_more_than_the_largest_safe_figure(
    client: httpx.AsyncClient,
) -> None:
    nested = """query($n: Int) { me { organizations { organization {
      events(first: $n) { edges { node { organization {
        events(first: $n) { edges { node { ticketTypes { id } } } } } } } } } } } }"""

    response = await send(client, nested, {"n": 2**31 - 1}, accept=GRAPHQL_RESPONSE)

    assert response.status_code == 400
    error = only_error(response)
    assert error["extensions"] == {
        "code": "QUERY_TOO_COSTLY",
        "cost": 2**53 - 1,
        "maxCost": 50000,
    }
    assert str(error["message"]).startswith(
        f"The operation costs more than {2**53 - 1}; the limit is 50000."
    )


async def test_a_refused_mutation_changes_nothing(
    gql: GraphQLClient, make_settings: Callable[..., Settings]
) -> None:
    user = await factories.register(gql)
    create = """mutation { createOrganization(input: {name: "Costly"}) {
      organization { id members { role user { organizations { role } } } } errors { code } } }"""
    async with running_app(make_settings(query_max_cost=100)) as (_, client):
        response = await client.post(
            "/graphql",
            json={"query": create},
            headers={"accept": GRAPHQL_RESPONSE, "authorization": f"Bearer {user.token}"},
        )

    assert only_error(response)["extensions"]["code"] == "QUERY_TOO_COSTLY"  # type: ignore[index]
    me = await gql("{ me { organizations { role } } }", token=user.token)
    assert me == {"me": {"organizations": []}}


async def test_introspection_off_is_a_coded_refusal(make_settings: Callable[..., Settings]) -> None:
    async with running_app(make_settings(introspection=False)) as (_, client):
        schema = await send(client, "{ __schema { types { name } } }", accept=GRAPHQL_RESPONSE)
        named = await send(client, '{ __type(name: "Query") { name } }', accept=GRAPHQL_RESPONSE)
        typename = await send(client, "{ __typename }", accept=GRAPHQL_RESPONSE)

    for refused in (schema, named):
        assert refused.status_code == 400
        assert only_error(refused) | {"locations": None} == {
            "message": "Introspection is disabled on this server.",
            "extensions": {"code": "INTROSPECTION_DISABLED"},
            "locations": None,
        }
    assert typename.json() == {"data": {"__typename": "Query"}}


async def test_introspection_is_on_in_development(client: httpx.AsyncClient) -> None:
    response = await send(client, '{ __type(name: "Query") { name } }', accept=GRAPHQL_RESPONSE)

    assert response.json() == {"data": {"__type": {"name": "Query"}}}


def test_introspection_is_off_in_production_unless_enabled() -> None:
    production = {
        "environment": "production",
        "jwt_secret": "x" * 40,
        "database_url": "postgresql+asyncpg://db/eventapi",
        "redis_url": "redis://redis",
        "test_payments": False,
    }

    assert Settings(_env_file=None, **production).introspection_enabled is False  # type: ignore[arg-type]
    assert Settings(_env_file=None, introspection=True, **production).introspection_enabled is True  # type: ignore[arg-type]
    assert Settings(_env_file=None).introspection_enabled is True  # type: ignore[call-arg]
