"""Loaders for tickets: one query per batch, results in key order, None for misses. The
catalog rows a ticket points at (event, occurrence, seat) come through the loaders the
orders' types use, so one request batches them together."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select

from schema.loaders import ContextLoader
from schema.tickets import types
from server.events.reads import any_of
from server.tickets.access import viewer_of
from server.tickets.models import ISSUE_ORDER, CheckIn, Ticket


class TicketsByOrderLoader(ContextLoader[uuid.UUID, list[types.Ticket]]):
    """An order's tickets as the viewer may see them: all of them for the organization's
    staff (and API keys with orders:read), else those the viewer holds (a transferred
    ticket's successor belongs to its recipient, not to the buyer)."""

    async def batch_load_fn(self, keys: Sequence[uuid.UUID]) -> list[list[types.Ticket]]:
        async with self.context.db.read() as session:
            viewer = await viewer_of(session, self.context.actor)
            rows = await session.scalars(
                select(Ticket).where(any_of(Ticket.order_id, keys)).order_by(*ISSUE_ORDER)
            )
            grouped: dict[uuid.UUID, list[types.Ticket]] = {k: [] for k in keys}
            for row in rows:
                if viewer.may_see(row):
                    grouped[row.order_id].append(types.Ticket.from_model(row))
        return [grouped[k] for k in keys]


class TicketByIdLoader(ContextLoader[uuid.UUID, Ticket | None]):
    """Raw rows, no visibility check: for callers that already decided the viewer may
    see the ticket."""

    async def batch_load_fn(self, keys: Sequence[uuid.UUID]) -> list[Ticket | None]:
        async with self.context.db.read() as session:
            rows = await session.scalars(select(Ticket).where(any_of(Ticket.id, keys)))
            found = {r.id: r for r in rows}
        return [found.get(k) for k in keys]


class CheckInsByTicketLoader(ContextLoader[uuid.UUID, list[CheckIn]]):
    async def batch_load_fn(self, keys: Sequence[uuid.UUID]) -> list[list[CheckIn]]:
        async with self.context.db.read() as session:
            rows = await session.scalars(
                select(CheckIn)
                .where(any_of(CheckIn.ticket_id, keys))
                .order_by(CheckIn.at, CheckIn.id)
            )
            grouped: dict[uuid.UUID, list[CheckIn]] = {k: [] for k in keys}
            for row in rows:
                grouped[row.ticket_id].append(row)
        return [grouped[k] for k in keys]
