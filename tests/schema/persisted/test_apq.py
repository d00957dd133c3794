"""Automatic persisted queries, over POST and GET, as Apollo clients speak them."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from redis.asyncio import Redis

from server.config import Settings
from tests.conftest import running_app
from tests.schema.persisted.helpers import error_codes, get, persisted, post, sha

PING = "query Ping { __typename }"
EVENT_BY_SLUG = "query EventBySlug($slug: String) { event(slug: $slug) { id title } }"


async def test_an_unknown_hash_is_persisted_query_not_found(client: httpx.AsyncClient) -> None:
    response = await post(client, extensions=persisted(sha(PING)))

    # 200, as Apollo clients expect before they resend the hash with its query
    assert response.status_code == 200
    assert response.json() == {
        "errors": [
            {
                "message": "PersistedQueryNotFound",
                "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"},
            }
        ]
    }
    assert "no-cache" in response.headers["cache-control"]


async def test_a_hash_with_its_query_runs_and_is_remembered(
    client: httpx.AsyncClient, redis: Redis
) -> None:
    registered = await post(client, query=PING, extensions=persisted(sha(PING)))
    by_hash = await post(client, extensions=persisted(sha(PING)))
    by_get = await get(client, extensions=persisted(sha(PING)))

    assert registered.json() == {"data": {"__typename": "Query"}}
    assert by_hash.json() == {"data": {"__typename": "Query"}}
    assert by_get.json() == {"data": {"__typename": "Query"}}
    assert await redis.get(f"apq:{sha(PING)}") == PING.encode()


async def test_variables_travel_with_the_hash_over_get(client: httpx.AsyncClient) -> None:
    await post(client, query=EVENT_BY_SLUG, extensions=persisted(sha(EVENT_BY_SLUG)))

    response = await get(
        client, extensions=persisted(sha(EVENT_BY_SLUG)), variables={"slug": "no-such-event"}
    )

    assert response.status_code == 200
    assert response.json() == {"data": {"event": None}}


async def test_another_app_instance_finds_the_query_in_redis(
    client: httpx.AsyncClient, make_settings: Callable[..., Settings]
) -> None:
    await post(client, query=PING, extensions=persisted(sha(PING)))

    async with running_app(make_settings()) as (_, other):
        response = await post(other, extensions=persisted(sha(PING)))

    assert response.json() == {"data": {"__typename": "Query"}}


async def test_hash_and_prefix_are_read_case_insensitively(client: httpx.AsyncClient) -> None:
    await post(client, query=PING, extensions=persisted(sha(PING)))

    upper = await post(client, extensions=persisted(sha(PING).upper()))
    prefixed = await post(client, extensions=persisted(f"sha256:{sha(PING)}"))

    assert upper.json() == prefixed.json() == {"data": {"__typename": "Query"}}


async def test_a_hash_that_is_not_the_querys_is_refused_and_not_stored(
    client: httpx.AsyncClient, redis: Redis
) -> None:
    other = sha("query Other { __typename }")

    response = await post(client, query=PING, extensions=persisted(other))

    assert response.status_code == 400
    assert error_codes(response) == ["PERSISTED_QUERY_HASH_MISMATCH"]
    assert "data" not in response.json()
    assert await redis.get(f"apq:{other}") is None
    assert await redis.get(f"apq:{sha(PING)}") is None


@pytest.mark.parametrize(
    "digest",
    [
        "abc",
        "g" * 64,
        sha(PING)[:63],
        sha(PING) + "0",
        f" {sha(PING)}x",
        "",
        12345,
        None,
        ["not", "a", "hash"],
        {"sha": 1},
    ],
)
async def test_a_malformed_hash_is_a_clear_error(client: httpx.AsyncClient, digest: object) -> None:
    response = await post(client, extensions=persisted(digest))
    also_with_query = await post(client, query=PING, extensions=persisted(digest))
    over_get = await get(client, extensions=persisted(digest))

    for answer in (response, also_with_query, over_get):
        assert answer.status_code == 400
        assert error_codes(answer) == ["PERSISTED_QUERY_HASH_INVALID"]
        assert "64 hexadecimal digits" in answer.json()["errors"][0]["message"]


async def test_a_malformed_hash_with_plain_json_is_200_with_the_same_error(
    client: httpx.AsyncClient,
) -> None:
    response = await post(client, extensions=persisted("xyz"), accept="application/json")

    assert response.status_code == 200
    assert error_codes(response) == ["PERSISTED_QUERY_HASH_INVALID"]


@pytest.mark.parametrize("version", [2, 0, "1", None, True])
async def test_an_unsupported_version_is_refused(
    client: httpx.AsyncClient, version: object
) -> None:
    response = await post(client, query=PING, extensions=persisted(sha(PING), version=version))

    assert response.status_code == 400
    assert error_codes(response) == ["PERSISTED_QUERY_VERSION_UNSUPPORTED"]


@pytest.mark.parametrize("extension", ["abc", 1, [sha(PING)], None])
async def test_a_persisted_query_extension_that_is_not_an_object_is_refused(
    client: httpx.AsyncClient, extension: object
) -> None:
    response = await post(client, query=PING, extensions={"persistedQuery": extension})

    assert response.status_code == 400
    assert error_codes(response) == ["PERSISTED_QUERY_INVALID"]


async def test_extensions_that_are_not_json_over_get_are_a_bad_request(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(
        "/graphql", params={"extensions": "{persistedQuery"}, headers={"accept": "application/json"}
    )

    assert response.status_code == 400
    assert error_codes(response) == ["BAD_REQUEST"]


async def test_a_document_that_does_not_validate_is_not_stored(
    client: httpx.AsyncClient, redis: Redis
) -> None:
    broken = "query Broken { noSuchField }"

    response = await post(client, query=broken, extensions=persisted(sha(broken)))
    again = await post(client, extensions=persisted(sha(broken)))

    assert error_codes(response) == ["GRAPHQL_VALIDATION_FAILED"]
    assert error_codes(again) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert await redis.get(f"apq:{sha(broken)}") is None


async def test_a_persisted_mutation_cannot_run_over_get(client: httpx.AsyncClient) -> None:
    logout = "mutation Logout { logout }"
    await post(client, query=logout, extensions=persisted(sha(logout)))

    response = await get(client, extensions=persisted(sha(logout)))

    assert response.status_code == 405
    assert error_codes(response) == ["METHOD_NOT_ALLOWED"]
