"""Public event data comes from Redis once read, and is never served stale after a change
commits; hits and misses show in /metrics."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
from redis.asyncio import Redis

from tests.schema.events import catalog
from tests.schema.events.catalog import occurrence
from tests.support import factories
from tests.support.gql import GraphQLClient

BY_ID = "query($id: ID) { event(id: $id) { title } }"
TITLE = "query($slug: String) { event(slug: $slug) { title status occurrences { startsAt } } }"


async def cache_counts(client: httpx.AsyncClient, cache: str) -> dict[str, float]:
    text = (await client.get("/metrics")).text
    counts = {"hit": 0.0, "miss": 0.0}
    for result in counts:
        pattern = (
            r'eventapi_cache_requests_total\{cache="'
            + cache
            + r'",result="'
            + result
            + r'"\} (\S+)'
        )
        found = re.search(pattern, text)
        if found:
            counts[result] = float(found.group(1))
    return counts


async def delta(
    client: httpx.AsyncClient, before: dict[str, float], cache: str
) -> dict[str, float]:
    after = await cache_counts(client, cache)
    return {k: after[k] - before[k] for k in after}


async def test_the_second_read_is_a_cache_hit(
    gql: GraphQLClient, client: httpx.AsyncClient
) -> None:
    org = await factories.create_org(gql)
    event = await catalog.published_event(gql, org)
    before = await cache_counts(client, "event_bundle")
    # A member's reads skip the shared response cache and reach the bundle cache.
    member = {"token": org.owner.token}

    first = await gql(TITLE, {"slug": event["slug"]}, **member)
    second = await gql(TITLE, {"slug": event["slug"]}, **member)
    by_id = [await gql(BY_ID, {"id": event["id"]}, **member) for _ in range(2)]

    assert first == second
    assert by_id[0] == by_id[1] == {"event": {"title": "Jazz Night"}}
    assert await delta(client, before, "event_bundle") == {"hit": 2, "miss": 2}


async def test_every_change_is_visible_on_the_next_read(
    gql: GraphQLClient, client: httpx.AsyncClient
) -> None:
    org = await factories.create_org(gql)
    event = await catalog.create_event(gql, org)
    await catalog.add_ticket_type(gql, org, event["id"])
    slug = event["slug"]

    async def read(**kw: Any) -> Any:
        await gql(TITLE, {"slug": slug}, **kw)  # fills the cache
        return (await gql(TITLE, {"slug": slug}, **kw))["event"]

    assert (await read(token=org.owner.token))["status"] == "DRAFT"
    assert await read() is None

    await gql(catalog.PUBLISH_EVENT, {"id": event["id"]}, token=org.owner.token)
    assert (await read())["status"] == "PUBLISHED"

    await gql(
        catalog.UPDATE_EVENT,
        {"input": {"id": event["id"], "title": "Renamed", "addOccurrences": [occurrence(9)]}},
        token=org.owner.token,
    )
    renamed = await read()
    assert renamed["title"] == "Renamed"
    assert len(renamed["occurrences"]) == 2

    await gql(catalog.CANCEL_EVENT, {"id": event["id"]}, token=org.owner.token)
    assert (await read())["status"] == "CANCELLED"


async def test_a_failed_change_leaves_the_cached_copy_valid(
    gql: GraphQLClient, client: httpx.AsyncClient
) -> None:
    org = await factories.create_org(gql)
    event = await catalog.published_event(gql, org)
    await gql(TITLE, {"slug": event["slug"]}, token=org.owner.token)
    before = await cache_counts(client, "event_bundle")

    refused = await gql(
        catalog.UPDATE_EVENT, {"input": {"id": event["id"], "title": ""}}, token=org.owner.token
    )
    again = await gql(TITLE, {"slug": event["slug"]}, token=org.owner.token)

    assert refused["updateEvent"]["errors"][0]["code"] == "VALIDATION"
    assert again["event"]["title"] == "Jazz Night"
    assert await delta(client, before, "event_bundle") == {"hit": 1, "miss": 0}


async def test_readers_racing_writers_never_see_a_committed_change_undone(
    gql: GraphQLClient,
) -> None:
    org = await factories.create_org(gql)
    event = await catalog.published_event(gql, org)
    done = asyncio.Event()

    async def hammer() -> None:
        while not done.is_set():
            await gql(TITLE, {"slug": event["slug"]})

    readers = [asyncio.create_task(hammer()) for _ in range(4)]
    try:
        for version in range(15):
            data = await gql(
                catalog.UPDATE_EVENT,
                {"input": {"id": event["id"], "title": f"v{version}"}},
                token=org.owner.token,
            )
            assert data["updateEvent"]["errors"] == []
            for _ in range(3):
                seen = await gql(TITLE, {"slug": event["slug"]})
                assert seen["event"]["title"] == f"v{version}"
    finally:
        done.set()
        await asyncio.gather(*readers)


async def test_when_redis_loses_the_entries_reads_fall_back_to_the_database(
    gql: GraphQLClient, redis: Redis
) -> None:
    org = await factories.create_org(gql)
    event = await catalog.published_event(gql, org)
    await gql(TITLE, {"slug": event["slug"]})

    await redis.flushdb()
    data = await gql(TITLE, {"slug": event["slug"]})

    assert data["event"]["title"] == "Jazz Night"
