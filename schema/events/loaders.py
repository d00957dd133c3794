"""Loaders for event relations: one query per batch, results in key order."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from schema.loaders import ContextLoader
from server.clock import utcnow
from server.events.reads import (
    assets_by_event_ids,
    next_expiries,
    occurrences_by_event_ids,
    organizations_by_ids,
)
from server.events.records import AssetRecord, OccurrenceRecord, OrganizationRecord


class OrganizationByIdLoader(ContextLoader[uuid.UUID, OrganizationRecord | None]):
    """An event's organization, deleted ones included: the catalog never serves a deleted
    organization's events, but a buyer's orders and tickets still name their event."""

    async def batch_load_fn(self, keys: Sequence[uuid.UUID]) -> list[OrganizationRecord | None]:
        found = await self.read(
            lambda session: organizations_by_ids(session, keys, include_deleted=True)
        )
        return [found.get(k) for k in keys]


class OccurrencesByEventLoader(ContextLoader[uuid.UUID, list[OccurrenceRecord]]):
    async def batch_load_fn(self, keys: Sequence[uuid.UUID]) -> list[list[OccurrenceRecord]]:
        found = await self.read(lambda session: occurrences_by_event_ids(session, keys))
        return [found[k] for k in keys]


class AssetsByEventLoader(ContextLoader[uuid.UUID, list[AssetRecord]]):
    async def batch_load_fn(self, keys: Sequence[uuid.UUID]) -> list[list[AssetRecord]]:
        found = await self.read(lambda session: assets_by_event_ids(session, keys))
        return [found[k] for k in keys]


class NextExpiryByEventLoader(ContextLoader[uuid.UUID, datetime | None]):
    """When a hold or pending order of the event next runs out (availability changes then,
    with no commit to invalidate anything)."""

    async def batch_load_fn(self, keys: Sequence[uuid.UUID]) -> list[datetime | None]:
        found = await self.read(lambda session: next_expiries(session, keys, utcnow()))
        return [found.get(k) for k in keys]
