"""Loaders for venues and seats: one query per batch, results in key order."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from schema.loaders import ContextLoader
from server.events.reads import event_seat_counts, event_seats_by_event_ids, venues_by_ids
from server.events.records import VenueRecord
from server.venues.service import seats_of_seatmaps


class VenueByIdLoader(ContextLoader[uuid.UUID, VenueRecord | None]):
    async def batch_load_fn(self, keys: Sequence[uuid.UUID]) -> list[VenueRecord | None]:
        found = await self.read(lambda session: venues_by_ids(session, keys))
        return [found.get(k) for k in keys]


class SeatsBySeatmapLoader(ContextLoader[uuid.UUID, list[Any]]):
    async def batch_load_fn(self, keys: Sequence[uuid.UUID]) -> list[list[Any]]:
        found = await self.read(lambda session: seats_of_seatmaps(session, keys))
        return [found[k] for k in keys]


class EventSeatsByEventLoader(ContextLoader[uuid.UUID, list[Any]]):
    async def batch_load_fn(self, keys: Sequence[uuid.UUID]) -> list[list[Any]]:
        found = await self.read(lambda session: event_seats_by_event_ids(session, keys))
        return [found[k] for k in keys]


class EventSeatCountByEventLoader(ContextLoader[uuid.UUID, int]):
    async def batch_load_fn(self, keys: Sequence[uuid.UUID]) -> list[int]:
        found = await self.read(lambda session: event_seat_counts(session, keys))
        return [found.get(k, 0) for k in keys]
