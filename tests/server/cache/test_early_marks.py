"""Marks taken early (`server.db.before_locks`, before a transaction locks a contended
row) protect readers exactly like marks taken at COMMIT, and are released with them."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import update

from server.cache import InvalidateTags, TaggedCache
from server.db import Database, after_commit, before_locks
from server.organizations.models import Organization
from tests.server.cache.conftest import read_name, tag_of
from tests.server.cache.test_no_stale_reads import cached_name


async def test_an_early_mark_stops_caching_until_the_commit_and_is_released_after_it(
    cache: TaggedCache, db: Database, org_id: uuid.UUID
) -> None:
    assert await cached_name(cache, db, org_id) == "v0"
    async with db.transaction() as session:
        await before_locks(session, InvalidateTags({tag_of(org_id)}, early=True))
        # Marked before any row is touched: nothing read now may be cached.
        assert (await cache.lookup("org-name", str(org_id))).hit is False
        assert await cached_name(cache, db, org_id) == "v0"
        assert (await cache.lookup("org-name", str(org_id))).hit is False
        await session.execute(
            update(Organization).where(Organization.id == org_id).values(name="v1")
        )
        after_commit(session, InvalidateTags({tag_of(org_id)}))  # a late mark of the same tag

    assert await cached_name(cache, db, org_id) == "v1"
    assert (await cache.lookup("org-name", str(org_id))).hit is True  # both marks released


async def test_an_early_mark_is_released_when_the_transaction_rolls_back(
    cache: TaggedCache, db: Database, org_id: uuid.UUID
) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            await before_locks(session, InvalidateTags({tag_of(org_id)}, early=True))
            await session.execute(
                update(Organization).where(Organization.id == org_id).values(name="v1")
            )
            raise RuntimeError("the order failed")

    assert await read_name(db, org_id) == "v0"
    assert await cached_name(cache, db, org_id) == "v0"
    assert (await cache.lookup("org-name", str(org_id))).hit is True
