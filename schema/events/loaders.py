"""Loaders for event relations: one query per batch, results in key order."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from schema.loaders import ContextLoader
from server.events.reads import assets_by_event_ids, occurrences_by_event_ids, organizations_by_ids
from server.events.records import AssetRecord, OccurrenceRecord, OrganizationRecord


class OrganizationByIdLoader(ContextLoader[uuid.UUID, OrganizationRecord | None]):
    async def batch_load_fn(self, keys: Sequence[uuid.UUID]) -> list[OrganizationRecord | None]:
        async with self.context.db.read() as session:
            found = await organizations_by_ids(session, keys)
        return [found.get(k) for k in keys]


class OccurrencesByEventLoader(ContextLoader[uuid.UUID, list[OccurrenceRecord]]):
    async def batch_load_fn(self, keys: Sequence[uuid.UUID]) -> list[list[OccurrenceRecord]]:
        async with self.context.db.read() as session:
            found = await occurrences_by_event_ids(session, keys)
        return [found[k] for k in keys]


class AssetsByEventLoader(ContextLoader[uuid.UUID, list[AssetRecord]]):
    async def batch_load_fn(self, keys: Sequence[uuid.UUID]) -> list[list[AssetRecord]]:
        async with self.context.db.read() as session:
            found = await assets_by_event_ids(session, keys)
        return [found[k] for k in keys]
