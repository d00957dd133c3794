"""A value read before a change commits is never served after it: readers placed at each
step of a write (before it, between the marks and COMMIT, between COMMIT and the release),
and readers racing a writer for real."""

from __future__ import annotations

import asyncio
import random
import uuid

import orjson
from sqlalchemy import update

from server.cache import InvalidateTags, TaggedCache
from server.db import Database, after_commit
from server.organizations.models import Organization
from tests.server.cache.conftest import GatedWriter, read_name, rename, tag_of


async def cached_name(cache: TaggedCache, db: Database, org_id: uuid.UUID) -> str:
    async def compute() -> str:
        return await read_name(db, org_id)

    return await cache.get_or_compute("org-name", str(org_id), [tag_of(org_id)], compute)


async def start_rename(gated: GatedWriter, org_id: uuid.UUID, name: str) -> asyncio.Task[None]:
    task = gated.start(rename(gated.db, org_id, name))
    await gated.before_commit.reached.wait()
    return task


async def test_a_reader_that_read_before_the_commit_cannot_store_after_it(
    cache: TaggedCache, db: Database, org_id: uuid.UUID
) -> None:
    # Given a reader that missed and read the old row
    found = await cache.lookup("org-name", str(org_id))
    old = await read_name(db, org_id)
    # When the change commits before the reader stores what it read
    await rename(db, org_id, "v1")
    stored = await cache.store(
        "org-name", str(org_id), orjson.dumps(old), [tag_of(org_id)], since=found.since
    )
    # Then the old value was refused and the next reader sees the new one
    assert (old, stored) == ("v0", False)
    assert await cached_name(cache, db, org_id) == "v1"


async def test_an_entry_stops_being_served_before_the_commit(
    cache: TaggedCache, db: Database, gated: GatedWriter, org_id: uuid.UUID
) -> None:
    assert await cached_name(cache, db, org_id) == "v0"
    task = await start_rename(gated, org_id, "v1")

    # Marks set, not yet committed: the cached entry is gone, the database still says v0,
    # and what a reader computes now is not stored.
    assert (await cache.lookup("org-name", str(org_id))).hit is False
    assert await cached_name(cache, db, org_id) == "v0"
    assert (await cache.lookup("org-name", str(org_id))).hit is False

    gated.before_commit.release.set()
    await gated.after_commit.reached.wait()
    # Committed, marks not yet released: readers get the new name, still uncached.
    assert await cached_name(cache, db, org_id) == "v1"
    assert (await cache.lookup("org-name", str(org_id))).hit is False

    gated.after_commit.release.set()
    await task
    assert await cached_name(cache, db, org_id) == "v1"
    assert (await cache.lookup("org-name", str(org_id))).body == b'"v1"'


async def test_a_reader_straddling_the_commit_cannot_store_its_old_read(
    cache: TaggedCache, db: Database, gated: GatedWriter, org_id: uuid.UUID
) -> None:
    # The reader looks up before the write begins, and reads the row while the writer
    # holds its marks (uncommitted, so it reads v0) ...
    found = await cache.lookup("org-name", str(org_id))
    task = await start_rename(gated, org_id, "v1")
    old = await read_name(db, org_id)
    gated.before_commit.release.set()
    await gated.after_commit.reached.wait()
    # ... and tries to store it after COMMIT but before the release step.
    stored = await cache.store(
        "org-name", str(org_id), orjson.dumps(old), [tag_of(org_id)], since=found.since
    )
    gated.after_commit.release.set()
    await task

    assert (old, stored) == ("v0", False)
    assert await cached_name(cache, db, org_id) == "v1"


async def test_a_reader_that_stores_after_the_release_is_still_refused(
    cache: TaggedCache, db: Database, gated: GatedWriter, org_id: uuid.UUID
) -> None:
    task = await start_rename(gated, org_id, "v1")
    found = await cache.lookup("org-name", str(org_id))  # taken while the marks are held
    old = await read_name(db, org_id)
    gated.before_commit.release.set()
    gated.after_commit.release.set()
    await task

    stored = await cache.store(
        "org-name", str(org_id), orjson.dumps(old), [tag_of(org_id)], since=found.since
    )

    assert (old, stored) == ("v0", False)
    assert await cached_name(cache, db, org_id) == "v1"


async def test_concurrent_readers_never_see_a_value_older_than_the_last_commit(
    cache: TaggedCache, db: Database, gated: GatedWriter, org_id: uuid.UUID
) -> None:
    # The gates open at once; `committed` moves forward the moment COMMIT returns
    # (before the release step runs), which is the strictest point to measure from.
    gated.before_commit.release.set()
    gated.after_commit.release.set()
    committed = 0
    version_of: dict[str, int] = {}  # effect token -> the version its transaction wrote
    step = gated.db.effect_handler
    assert step is not None

    async def note_commit(effects: list[object]) -> None:
        nonlocal committed
        for effect in effects:
            assert isinstance(effect, InvalidateTags)
            committed = max(committed, version_of[effect.token])
        await step(effects)

    gated.db.effect_handler = note_commit
    writes = 60
    stale: list[tuple[int, int]] = []
    reads = 0
    done = asyncio.Event()

    async def writer() -> None:
        for version in range(1, writes + 1):
            async with gated.db.transaction() as session:
                await session.execute(
                    update(Organization).where(Organization.id == org_id).values(name=f"v{version}")
                )
                effect = InvalidateTags({tag_of(org_id)})
                version_of[effect.token] = version
                after_commit(session, effect)
            await asyncio.sleep(random.random() / 500)
        done.set()

    async def reader() -> None:
        nonlocal reads
        while not done.is_set():
            floor = committed
            seen = int((await cached_name(cache, db, org_id))[1:])
            reads += 1
            if seen < floor:
                stale.append((seen, floor))

    await asyncio.gather(writer(), *(reader() for _ in range(8)))

    assert stale == []
    assert reads > writes
    assert await cached_name(cache, db, org_id) == f"v{writes}"
