from __future__ import annotations

import uuid

import orjson
import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis
from sqlalchemy import update

from server.cache import InvalidateTags, TaggedCache
from server.db import Database, after_commit
from server.organizations.models import Organization
from tests.server.cache.conftest import read_name, rename, tag_of


def cache_count(name: str, result: str) -> float:
    value = REGISTRY.get_sample_value(
        "eventapi_cache_requests_total", {"cache": name, "result": result}
    )
    return value or 0.0


async def test_a_miss_computes_and_the_next_lookup_is_a_hit(
    cache: TaggedCache, db: Database, org_id: uuid.UUID
) -> None:
    calls: list[str] = []

    async def compute() -> dict[str, str]:
        calls.append("db")
        return {"name": await read_name(db, org_id)}

    hits, misses = cache_count("org-test", "hit"), cache_count("org-test", "miss")
    first = await cache.get_or_compute("org-test", str(org_id), [tag_of(org_id)], compute)
    second = await cache.get_or_compute("org-test", str(org_id), [tag_of(org_id)], compute)

    assert first == second == {"name": "v0"}
    assert calls == ["db"]
    assert cache_count("org-test", "miss") == misses + 1
    assert cache_count("org-test", "hit") == hits + 1


async def test_a_committed_change_invalidates_every_entry_with_its_tag(
    cache: TaggedCache, db: Database, org_id: uuid.UUID
) -> None:
    async def compute() -> str:
        return await read_name(db, org_id)

    await cache.get_or_compute("a", "k", [tag_of(org_id)], compute)
    await cache.get_or_compute("b", "k", [tag_of(org_id), "other:1"], compute)
    await cache.get_or_compute("c", "k", ["other:1"], lambda: _const("untouched"))

    await rename(db, org_id, "v1")

    assert (await cache.lookup("a", "k")).hit is False
    assert (await cache.lookup("b", "k")).hit is False
    assert (await cache.lookup("c", "k")).body == b'"untouched"'
    assert await cache.get_or_compute("a", "k", [tag_of(org_id)], compute) == "v1"


async def test_a_rolled_back_change_leaves_no_mark_behind(
    cache: TaggedCache, db: Database, redis: Redis, org_id: uuid.UUID
) -> None:
    class Abort(Exception):
        pass

    with pytest.raises(Abort):
        async with db.transaction() as session:
            await session.execute(
                update(Organization).where(Organization.id == org_id).values(name="never")
            )
            after_commit(session, InvalidateTags({tag_of(org_id)}))
            raise Abort

    assert await redis.zcard(f"tc:m:{tag_of(org_id)}") == 0
    found = await cache.lookup("org", "k")
    stored = await cache.store("org", "k", b'"v0"', [tag_of(org_id)], since=found.since)
    assert stored is True
    assert await read_name(db, org_id) == "v0"


async def test_a_failed_commit_releases_its_marks(
    cache: TaggedCache, db: Database, redis: Redis, org_id: uuid.UUID
) -> None:
    with pytest.raises(Exception, match="uq_organizations_slug_live"):
        async with db.transaction() as session:
            after_commit(session, InvalidateTags({tag_of(org_id)}))
            # Both rows are flushed at COMMIT, after the marks were set; the second breaks
            # the unique slug index, so the commit fails.
            session.add(Organization(name="dup", slug="same-slug"))
            session.add(Organization(name="dup", slug="same-slug"))

    assert await redis.zcard(f"tc:m:{tag_of(org_id)}") == 0


async def test_an_entry_is_refused_when_its_tag_changed_after_the_lookup(
    cache: TaggedCache, db: Database, org_id: uuid.UUID
) -> None:
    found = await cache.lookup("org", "k")
    stale = await read_name(db, org_id)

    await rename(db, org_id, "v1")
    stored = await cache.store("org", "k", orjson.dumps(stale), [tag_of(org_id)], since=found.since)

    assert stored is False
    assert (await cache.lookup("org", "k")).hit is False


async def test_untagged_values_are_not_stored(cache: TaggedCache) -> None:
    found = await cache.lookup("org", "k")

    assert await cache.store("org", "k", b"1", [], since=found.since) is False


async def test_invalidate_outside_a_transaction_bumps_the_tags(cache: TaggedCache) -> None:
    await cache.get_or_compute("org", "k", ["thing:1"], lambda: _const(1))

    await cache.invalidate(["thing:1"])

    assert (await cache.lookup("org", "k")).hit is False


async def test_entries_expire_with_their_ttl(cache: TaggedCache, redis: Redis) -> None:
    await cache.get_or_compute("org", "k", ["thing:1"], lambda: _const(1), ttl=30)

    ttl_ms = await redis.pttl(cache.entry_key("org", "k"))

    assert 0 < ttl_ms <= 30_000


async def _const(value: object) -> object:
    return value
