from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from typing import Any

import strawberry

from schema.common import require_id
from schema.context import Info
from schema.errors import run_query
from schema.orders.types import Order
from schema.subscriptions.errors import checked, coded_stream
from schema.subscriptions.shared import SharedEvents
from schema.ticketing.types import Availability, SeatAvailability
from schema.ws import socket_actor
from server.live.hub import LiveHub, live_hub
from server.live.service import (
    AvailabilityGrant,
    authorize_availability_watch,
    authorize_order_watch,
    authorize_seat_watch,
)


@strawberry.type
class LiveSubscriptions:
    @strawberry.subscription(
        description="First a snapshot (one entry per ticket type and date), then every "
        "change: orders, holds, expiries, refunds, cancellations. Private ticket types "
        "only for the organization's members; drafts only for members."
    )
    async def ticket_availability(
        self, info: Info, event_id: strawberry.ID, occurrence_id: strawberry.ID | None = None
    ) -> AsyncGenerator[Availability, None]:
        actor = info.context.actor

        async def authorize() -> tuple[LiveHub, AvailabilityGrant]:
            event = require_id(event_id, "eventId")
            occurrence = require_id(occurrence_id, "occurrenceId") if occurrence_id else None
            grant = await run_query(
                info,
                lambda s: authorize_availability_watch(
                    s, actor=actor, event_id=event, occurrence_id=occurrence
                ),
            )
            return admitted(info), grant

        hub, grant = await checked(authorize)
        return coded_stream(_availability_stream(hub, grant))

    @strawberry.subscription(
        description="First every seat of the date (or of one section) with its state, "
        "then each seat whose state changes: orders, holds, expiries, refunds, "
        "cancellations. Anyone who may read the event (drafts only for members)."
    )
    async def seat_availability(
        self, info: Info, occurrence_id: strawberry.ID, section: str | None = None
    ) -> AsyncGenerator[SeatAvailability, None]:
        actor = info.context.actor

        async def authorize() -> tuple[LiveHub, AvailabilityGrant]:
            occurrence = require_id(occurrence_id, "occurrenceId")
            grant = await run_query(
                info, lambda s: authorize_seat_watch(s, actor=actor, occurrence_id=occurrence)
            )
            return admitted(info), grant

        hub, grant = await checked(authorize)
        return coded_stream(_seat_stream(hub, grant, section))

    @strawberry.subscription(
        description="The order now, then again after every change (for the buyer waiting "
        "on payment; also the organization's staff)."
    )
    async def order_status(
        self, info: Info, order_id: strawberry.ID
    ) -> AsyncGenerator[Order, None]:
        actor = info.context.actor

        async def authorize() -> tuple[LiveHub, uuid.UUID]:
            order = require_id(order_id, "orderId")
            watched = await run_query(
                info, lambda s: authorize_order_watch(s, actor=actor, order_id=order)
            )
            return admitted(info), watched

        hub, watched = await checked(authorize)
        return coded_stream(_order_stream(info, hub, watched))


def admitted(info: Info) -> LiveHub:
    hub = live_hub(info.context.state)
    hub.admit()
    return hub


# Every subscriber of an event is offered the very same row objects by the hub; wrapping
# each row once lets the executor run each distinct document once per change.
_shared_rows: SharedEvents[Availability] = SharedEvents()


async def _availability_stream(hub: LiveHub, grant: AvailabilityGrant) -> AsyncGenerator[Any, None]:
    """Yields `SharedEvent[Availability]` (see schema.subscriptions.shared)."""
    async with hub.watch_event(
        grant.event_id, occurrence_id=grant.occurrence_id, sees_private=grant.sees_private
    ) as watcher:
        async for row in watcher:
            yield _shared_rows.of(row, Availability.from_row)


_shared_seats: SharedEvents[SeatAvailability] = SharedEvents()


async def _seat_stream(
    hub: LiveHub, grant: AvailabilityGrant, section: str | None
) -> AsyncGenerator[Any, None]:
    """Yields `SharedEvent[SeatAvailability]`: seat states do not depend on the viewer."""
    assert grant.occurrence_id is not None
    async with hub.watch_seats(
        grant.event_id,
        occurrence_id=grant.occurrence_id,
        section=section,
        sees_private=grant.sees_private,
    ) as watcher:
        async for seat in watcher:
            yield _shared_seats.of(seat, SeatAvailability.from_row)


async def _order_stream(
    info: Info, hub: LiveHub, order_id: uuid.UUID
) -> AsyncGenerator[Order, None]:
    checked_at_subscribe = True
    async with hub.watch_order(order_id) as watcher:
        async for order in watcher:
            if not checked_at_subscribe:
                await _may_still_watch(info, order_id)
            checked_at_subscribe = False
            # The connection's loaders live as long as the socket: without this, an
            # order's payments would be read once and never again.
            info.context.clear_loaders()
            yield Order.from_model(order)


async def _may_still_watch(info: Info, order_id: uuid.UUID) -> None:
    """An order stream outlives its subscribe-time check: before each update, the
    credentials must still hold (no logout, no revoked key) and still reach the order (a
    removed member or a demoted role loses it). Ending the stream with the error's code."""
    actor = await socket_actor(info.context)
    info.context.actor = actor
    await run_query(info, lambda s: authorize_order_watch(s, actor=actor, order_id=order_id))
