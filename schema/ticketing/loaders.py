from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TypeVar

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from schema.context import Info
from schema.loaders import ContextLoader
from schema.ticketing import types
from server.clock import utcnow
from server.organizations.access import Permission, readable_organization_ids
from server.ticketing.availability import Availability, availability
from server.ticketing.holds import hold_for_token
from server.ticketing.models import PriceTier, TicketType, Visibility
from server.ticketing.service import visible_ticket_types

M = TypeVar("M")


async def _all(session: AsyncSession, query: Select[M]) -> Sequence[M]:
    return (await session.scalars(query)).all()


class ReadableOrganizationsLoader(ContextLoader[Permission, frozenset[uuid.UUID]]):
    """The organizations whose private catalog data the viewer may read (one query)."""

    async def batch_load_fn(self, keys: Sequence[Permission]) -> list[frozenset[uuid.UUID]]:
        async with self.context.db.read() as session:
            return [
                frozenset(await readable_organization_ids(session, self.context.actor, key))
                for key in keys
            ]


TicketTypesKey = uuid.UUID | tuple[uuid.UUID, str | None]


class TicketTypesByEventLoader(ContextLoader[TicketTypesKey, list[types.TicketType]]):
    """An event's ticket types as this viewer may see them: private types only for the
    organization's members, or for the holder of a hold token on that type."""

    async def batch_load_fn(self, keys: Sequence[TicketTypesKey]) -> list[list[types.TicketType]]:
        normalized = [k if isinstance(k, tuple) else (k, None) for k in keys]
        event_ids = list({e for e, _ in normalized})
        by_event = await self.read(
            lambda session: visible_ticket_types(session, event_ids=event_ids)
        )
        held_types: dict[str, uuid.UUID] = {}
        tokens = {held for _, held in normalized if held}
        if tokens:
            # On the primary: a hold is often made by someone else (a waitlist offer by the
            # worker) moments before its holder opens the page.
            async with self.context.db.read() as session:
                for held in tokens:
                    hold = await hold_for_token(session, held, utcnow())
                    if hold is not None:
                        held_types[held] = hold.ticket_type_id
        readable = await self.context.loader(ReadableOrganizationsLoader).load(
            Permission.EVENTS_READ
        )
        result = []
        for event_id, token in normalized:
            visible = []
            for model in by_event.get(event_id, []):
                if (
                    model.visibility is Visibility.PUBLIC
                    or model.organization_id in readable
                    or (token is not None and held_types.get(token) == model.id)
                ):
                    visible.append(types.TicketType.from_model(model))
            result.append(visible)
        return result


class TicketTypeByIdLoader(ContextLoader[uuid.UUID, TicketType | None]):
    async def batch_load_fn(self, keys: Sequence[uuid.UUID]) -> list[TicketType | None]:
        rows = await self.read(
            lambda session: _all(session, select(TicketType).where(TicketType.id.in_(keys)))
        )
        found = {r.id: r for r in rows}
        return [found.get(k) for k in keys]


async def ticket_type_of(info: Info, ticket_type_id: uuid.UUID) -> types.TicketType:
    """The ticket type an order line, a ticket or a hold is for (they go with it)."""
    found = await info.context.loader(TicketTypeByIdLoader).load(ticket_type_id)
    assert found is not None
    return types.TicketType.from_model(found)


class PriceTiersByTicketTypeLoader(ContextLoader[uuid.UUID, list[PriceTier]]):
    async def batch_load_fn(self, keys: Sequence[uuid.UUID]) -> list[list[PriceTier]]:
        query = (
            select(PriceTier)
            .where(PriceTier.ticket_type_id.in_(keys))
            .order_by(PriceTier.starts_at.asc().nulls_first(), PriceTier.id)
        )
        rows = await self.read(lambda session: _all(session, query))
        grouped: dict[uuid.UUID, list[PriceTier]] = {k: [] for k in keys}
        for row in rows:
            grouped[row.ticket_type_id].append(row)
        return [grouped[k] for k in keys]


AvailabilityKey = tuple[uuid.UUID, uuid.UUID | None]


class AvailabilityByTicketTypeLoader(ContextLoader[AvailabilityKey, Availability | None]):
    """Availability per (ticket type, date); without a date, the next one not yet over."""

    async def batch_load_fn(self, keys: Sequence[AvailabilityKey]) -> list[Availability | None]:
        now = utcnow()
        rows = await self.read(
            lambda session: availability(
                session, now=now, ticket_type_ids=list({t for t, _ in keys})
            )
        )
        by_type: dict[uuid.UUID, list[Availability]] = {}
        for row in rows:
            by_type.setdefault(row.ticket_type_id, []).append(row)
        result: list[Availability | None] = []
        for ticket_type_id, occurrence_id in keys:
            candidates = by_type.get(ticket_type_id, [])
            if occurrence_id is not None:
                result.append(
                    next((r for r in candidates if r.occurrence_id == occurrence_id), None)
                )
            else:
                upcoming = [r for r in candidates if r.ends_at > now]
                result.append(upcoming[0] if upcoming else (candidates[-1] if candidates else None))
        return result
