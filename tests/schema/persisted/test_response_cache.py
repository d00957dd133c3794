"""The public response cache, on a stand-in schema whose root fields opt in (or not) the
way public catalog fields do: served to anonymous callers only, never after a change to
what it was tagged with has committed."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import strawberry
from prometheus_client import REGISTRY
from redis.asyncio import Redis
from sqlalchemy import select, update

import schema.api
from schema.context import Info
from server.cache import InvalidateTags
from server.config import Settings
from server.db import Database, after_commit
from server.ids import new_id
from server.organizations.models import Organization
from tests.conftest import running_app
from tests.schema.persisted.helpers import persisted, post, sha
from tests.support import factories
from tests.support.gql import GraphQLClient

reads = itertools.count()  # how many times a resolver went to the database


@strawberry.type
class PublicOrganization:
    name: str
    slug: str


@strawberry.type
class StandInQuery:
    @strawberry.field
    async def public_organization(self, info: Info, slug: str) -> PublicOrganization | None:
        next(reads)
        async with info.context.db.read() as session:
            org = await session.scalar(select(Organization).where(Organization.slug == slug))
        if org is None:
            return None  # says nothing: the response is not cached
        info.context.cache_tags.add(info, f"organization:{org.id}")
        return PublicOrganization(name=org.name, slug=org.slug)

    @strawberry.field
    def request_count(self) -> int:
        return next(reads)  # never tags

    @strawberry.field
    def private_note(self, info: Info) -> str:
        info.context.cache_tags.add(info, "note")
        info.context.cache_tags.no_cache()
        return f"note {next(reads)}"

    @strawberry.field
    def sale_ends_in(self, info: Info, seconds: float) -> str:
        """Data that changes with the clock: kept no longer than it stays right."""
        info.context.cache_tags.add(info, "sale")
        info.context.cache_tags.expires_at(datetime.now(UTC) + timedelta(seconds=seconds))
        return f"read {next(reads)}"

    @strawberry.field
    def failing(self, info: Info) -> int:
        info.context.cache_tags.add(info, "failing")
        raise ValueError("boom")


PAGE = "query Page($slug: String!) { publicOrganization(slug: $slug) { name slug } }"


@pytest.fixture
async def app_client(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setattr(schema.api, "schema", strawberry.Schema(query=StandInQuery))
    async with running_app(settings) as (_, client):
        yield client


@pytest.fixture
async def org(db: Database) -> Organization:
    async with db.transaction() as session:
        org = Organization(id=new_id(), name="v0", slug=f"org-{uuid.uuid4().hex[:8]}")
        session.add(org)
    return org


async def rename(db: Database, org_id: uuid.UUID, name: str) -> None:
    async with db.transaction() as session:
        await session.execute(
            update(Organization).where(Organization.id == org_id).values(name=name)
        )
        after_commit(session, InvalidateTags({f"organization:{org_id}"}))


async def page(client: httpx.AsyncClient, slug: str, **headers: str) -> httpx.Response:
    return await client.post(
        "/graphql",
        json={"query": PAGE, "variables": {"slug": slug}},
        headers={"accept": "application/graphql-response+json", **headers},
    )


def counted(result: str) -> float:
    value = REGISTRY.get_sample_value(
        "eventapi_cache_requests_total", {"cache": "graphql-response", "result": result}
    )
    return value or 0.0


async def test_a_tagged_anonymous_response_is_served_from_the_cache(
    app_client: httpx.AsyncClient, org: Organization
) -> None:
    hits = counted("hit")
    first = await page(app_client, org.slug)
    reads_after_first = next(reads)
    second = await page(app_client, org.slug)

    assert first.headers["x-cache"] == "MISS"
    assert second.headers["x-cache"] == "HIT"
    assert int(second.headers["age"]) >= 0
    assert second.content == first.content
    assert second.json() == {"data": {"publicOrganization": {"name": "v0", "slug": org.slug}}}
    assert second.headers["content-type"] == "application/graphql-response+json; charset=utf-8"
    assert next(reads) == reads_after_first + 1  # the second request read nothing
    assert counted("hit") == hits + 1


async def test_hits_and_misses_show_in_metrics(
    app_client: httpx.AsyncClient, org: Organization
) -> None:
    await page(app_client, org.slug)
    await page(app_client, org.slug)

    exposed = (await app_client.get("/metrics")).text

    for result in ("hit", "miss"):
        line = f'eventapi_cache_requests_total{{cache="graphql-response",result="{result}"}}'
        assert any(
            row.startswith(line) and float(row.split()[-1]) >= 1 for row in exposed.splitlines()
        )


async def test_a_committed_change_is_never_served_stale(
    app_client: httpx.AsyncClient, db: Database, org: Organization
) -> None:
    await page(app_client, org.slug)
    assert (await page(app_client, org.slug)).headers["x-cache"] == "HIT"

    await rename(db, org.id, "v1")
    after = await page(app_client, org.slug)
    again = await page(app_client, org.slug)

    assert after.headers["x-cache"] == "MISS"
    assert after.json()["data"]["publicOrganization"]["name"] == "v1"
    assert again.headers["x-cache"] == "HIT"
    assert again.json()["data"]["publicOrganization"]["name"] == "v1"


async def test_signed_in_callers_and_api_keys_never_share_the_cache(
    app_client: httpx.AsyncClient, gql: GraphQLClient, org: Organization
) -> None:
    user = await factories.register(gql)
    owned = await factories.create_org(gql, owner=user)
    key = await factories.create_api_key(gql, owned, ["organization:read"])
    await page(app_client, org.slug)

    as_user = await page(app_client, org.slug, authorization=f"Bearer {user.token}")
    as_key = await page(app_client, org.slug, **{"x-api-key": key})

    for response in (as_user, as_key):
        assert "x-cache" not in response.headers
        assert response.json()["data"]["publicOrganization"]["name"] == "v0"


@pytest.mark.parametrize(
    "query",
    [
        "query Mixed($slug: String!) { publicOrganization(slug: $slug) { name } requestCount }",
        "query Private($slug: String!) { publicOrganization(slug: $slug) { name } privateNote }",
        'query Missing { publicOrganization(slug: "no-such-slug") { name } }',
    ],
)
async def test_a_response_not_every_root_field_opted_into_is_not_cached(
    app_client: httpx.AsyncClient, redis: Redis, org: Organization, query: str
) -> None:
    body: dict[str, Any] = {"query": query, "variables": {"slug": org.slug}}
    if "$slug" not in query:
        body.pop("variables")

    first = await app_client.post("/graphql", json=body)
    lookups = counted("hit") + counted("miss")
    second = await app_client.post("/graphql", json=body)

    assert first.headers["x-cache"] == second.headers["x-cache"] == "MISS"
    # The same request is then known not to be shareable: no lookup for a while.
    assert counted("hit") + counted("miss") == lookups
    assert [key async for key in redis.scan_iter("tc:e:graphql-response:*")] == []


async def test_a_response_with_errors_is_not_cached(
    app_client: httpx.AsyncClient, redis: Redis, org: Organization
) -> None:
    query = "query Failing($slug: String!) { publicOrganization(slug: $slug) { name } failing }"
    body = {"query": query, "variables": {"slug": org.slug}}

    first = await app_client.post("/graphql", json=body)
    second = await app_client.post("/graphql", json=body)

    assert first.json()["errors"][0]["extensions"]["code"] == "INTERNAL"
    assert first.headers["x-cache"] == second.headers["x-cache"] == "MISS"
    assert [key async for key in redis.scan_iter("tc:e:graphql-response:*")] == []


async def test_a_response_expiring_with_the_clock_is_kept_only_that_long(
    app_client: httpx.AsyncClient, redis: Redis
) -> None:
    soon = {"query": "query Soon { saleEndsIn(seconds: 0.5) }"}
    later = {"query": "query Later { saleEndsIn(seconds: 120) }"}

    first_soon = await app_client.post("/graphql", json=soon)
    second_soon = await app_client.post("/graphql", json=soon)
    await app_client.post("/graphql", json=later)
    second_later = await app_client.post("/graphql", json=later)

    assert second_soon.headers["x-cache"] == "MISS"  # under a second left: not stored
    assert second_soon.json() != first_soon.json()
    assert second_later.headers["x-cache"] == "HIT"
    ttls = [await redis.pttl(key) async for key in redis.scan_iter("tc:e:graphql-response:*")]
    assert len(ttls) == 1 and 100_000 < ttls[0] <= 120_000


async def test_root_typename_needs_no_tag(app_client: httpx.AsyncClient, org: Organization) -> None:
    query = "query T($slug: String!) { __typename kind: __typename publicOrganization(slug: $slug) { name } }"
    body = {"query": query, "variables": {"slug": org.slug}}

    await app_client.post("/graphql", json=body)
    second = await app_client.post("/graphql", json=body)

    assert second.headers["x-cache"] == "HIT"


async def test_root_typename_reached_through_fragments_of_fragments_needs_no_tag(
    app_client: httpx.AsyncClient, org: Organization
) -> None:
    # each fragment spreads the next twice: 2**40 paths to the last one, walked once each
    spreads = " ".join(
        f"fragment F{i} on StandInQuery {{ ...F{i + 1} ...F{i + 1} }}" for i in range(40)
    )
    query = (
        "query T($slug: String!) { ...F0 publicOrganization(slug: $slug) { name } } "
        f"{spreads} fragment F40 on StandInQuery {{ kind: __typename }}"
    )
    body = {"query": query, "variables": {"slug": org.slug}}

    first = await app_client.post("/graphql", json=body)
    second = await app_client.post("/graphql", json=body)

    assert first.json() == {"data": {"kind": "StandInQuery", "publicOrganization": {"name": "v0"}}}
    assert second.headers["x-cache"] == "HIT"


async def test_variables_and_operations_are_part_of_the_key(
    app_client: httpx.AsyncClient, db: Database, org: Organization
) -> None:
    async with db.transaction() as session:
        other = Organization(id=new_id(), name="other", slug=f"org-{uuid.uuid4().hex[:8]}")
        session.add(other)
    await page(app_client, org.slug)

    different = await page(app_client, other.slug)
    reordered = await app_client.post(
        "/graphql", json={"variables": {"slug": org.slug}, "query": PAGE}
    )

    assert different.headers["x-cache"] == "MISS"
    assert different.json()["data"]["publicOrganization"]["name"] == "other"
    assert reordered.headers["x-cache"] == "HIT"


async def test_a_persisted_query_is_answered_from_the_cache_by_hash(
    app_client: httpx.AsyncClient, org: Organization
) -> None:
    variables = {"slug": org.slug}
    await post(app_client, query=PAGE, extensions=persisted(sha(PAGE)), variables=variables)

    by_hash = await post(app_client, extensions=persisted(sha(PAGE)), variables=variables)

    assert by_hash.headers["x-cache"] == "HIT"
    assert by_hash.json()["data"]["publicOrganization"]["name"] == "v0"


async def test_concurrent_readers_never_get_a_response_older_than_the_last_commit(
    app_client: httpx.AsyncClient, db: Database, org: Organization
) -> None:
    committed = 0
    done = asyncio.Event()
    stale: list[tuple[int, int]] = []
    served = {"HIT": 0, "MISS": 0}

    async def writer() -> None:
        nonlocal committed
        for version in range(1, 31):
            await rename(db, org.id, f"v{version}")
            committed = version  # every request that starts from here must see it
            # mostly back to back; now and then a pause long enough for hits
            await asyncio.sleep(0.1 if version % 5 == 0 else 0.005)
        done.set()

    async def reader() -> None:
        while not done.is_set():
            floor = committed
            response = await page(app_client, org.slug)
            seen = int(response.json()["data"]["publicOrganization"]["name"][1:])
            served[response.headers["x-cache"]] += 1
            if seen < floor:
                stale.append((seen, floor))

    await asyncio.gather(writer(), *(reader() for _ in range(8)))

    assert stale == []
    assert served["HIT"] > 0 and served["MISS"] >= 30
