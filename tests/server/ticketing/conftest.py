"""Catalog rows for ticketing service tests, built directly (the event API has its own
tests); the people and organizations come through the API."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from server.auth.actor import Actor
from server.clock import utcnow
from server.db import Database
from server.events.models import Event, EventOccurrence, EventStatus
from server.ids import new_id
from server.ticketing import service
from server.ticketing.inventory import create_inventory_for_occurrences
from server.ticketing.models import TicketType, Visibility
from server.venues.models import Seat, Seatmap, Venue
from tests.support import factories
from tests.support.gql import GraphQLClient


@dataclass
class Catalog:
    db: Database
    manager: Actor
    staff: Actor
    outsider: Actor
    organization_id: uuid.UUID
    events: list[uuid.UUID] = field(default_factory=list)

    async def event(
        self,
        *,
        dates: int = 1,
        capacity: int | None = None,
        status: EventStatus = EventStatus.PUBLISHED,
        seats: dict[str, int] | None = None,
        start: datetime | None = None,
    ) -> tuple[Event, list[EventOccurrence]]:
        """An event with `dates` weekly occurrences; `seats` maps section -> seat count."""
        start = start or utcnow() + timedelta(days=30)
        async with self.db.transaction() as session:
            seatmap_id = None
            if seats:
                venue = Venue(
                    id=new_id(), organization_id=self.organization_id, name="Hall", timezone="UTC"
                )
                seatmap = Seatmap(
                    id=new_id(),
                    organization_id=self.organization_id,
                    venue_id=venue.id,
                    name="Main",
                )
                session.add(venue)
                await session.flush()
                session.add(seatmap)
                await session.flush()
                for section, count in seats.items():
                    for n in range(count):
                        session.add(
                            Seat(
                                id=new_id(),
                                seatmap_id=seatmap.id,
                                section=section,
                                row="A",
                                number=str(n + 1),
                            )
                        )
                await session.flush()
                seatmap_id = seatmap.id
            event = Event(
                id=new_id(),
                organization_id=self.organization_id,
                slug=f"event-{uuid.uuid4().hex[:10]}",
                title="Concert",
                status=status,
                seatmap_id=seatmap_id,
                first_starts_at=start,
                last_starts_at=start + timedelta(weeks=dates - 1),
            )
            session.add(event)
            await session.flush()
            occurrences = [
                EventOccurrence(
                    id=new_id(),
                    event_id=event.id,
                    organization_id=self.organization_id,
                    starts_at=start + timedelta(weeks=i),
                    ends_at=start + timedelta(weeks=i, hours=3),
                    capacity=capacity,
                )
                for i in range(dates)
            ]
            session.add_all(occurrences)
            await session.flush()
            await create_inventory_for_occurrences(
                session, event_id=event.id, occurrence_ids=[o.id for o in occurrences]
            )
        self.events.append(event.id)
        return event, occurrences

    async def ticket_type(
        self,
        event: Event,
        *,
        quantity: int = 100,
        price: str = "50.00",
        currency: str = "USD",
        sections: list[str] | None = None,
        visibility: Visibility = Visibility.PUBLIC,
        **kwargs: object,
    ) -> TicketType:
        async with self.db.transaction() as session:
            return await service.create_ticket_type(
                session,
                actor=self.manager,
                event_id=event.id,
                name=f"Type {uuid.uuid4().hex[:4]}",
                price=service.PriceInput(Decimal(price), currency),
                quantity=quantity,
                sections=sections or [],
                visibility=visibility,
                **kwargs,  # type: ignore[arg-type]
            )


@pytest.fixture
async def catalog(gql: GraphQLClient, db: Database) -> Catalog:
    cast = await factories.cast(gql)
    return Catalog(
        db=db,
        manager=Actor(user_id=uuid.UUID(cast.manager.id)),
        staff=Actor(user_id=uuid.UUID(cast.staff.id)),
        outsider=Actor(user_id=uuid.UUID(cast.outsider.id)),
        organization_id=uuid.UUID(cast.org.id),
    )


Run = Callable[..., Awaitable[object]]
