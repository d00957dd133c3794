from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from schema.common import PageInfo
from schema.context import Info
from schema.errors import UserError
from schema.organizations.types import Organization
from schema.venues.types import Seatmap, Venue
from server.clock import utcnow
from server.events.assets import asset_url
from server.events.models import AssetKind as AssetKindModel
from server.events.models import EventStatus as EventStatusModel
from server.events.records import (
    AssetRecord,
    EventBundle,
    EventRecord,
    OccurrenceRecord,
    OrganizationRecord,
)
from server.events.workflow import is_public

if TYPE_CHECKING:
    from schema.ticketing.types import TicketType

EventStatus = strawberry.enum(EventStatusModel, name="EventStatus")
AssetKind = strawberry.enum(AssetKindModel, name="AssetKind")


@strawberry.type
class EventPolicies:
    refund_policy: str | None
    transfer_allowed: bool
    cancellation_policy: str | None
    refund_deadline_hours: int | None = strawberry.field(
        description="Refunds are possible until this many hours before an occurrence starts."
    )


@strawberry.type
class EventOccurrence:
    id: strawberry.ID
    starts_at: datetime
    ends_at: datetime
    capacity: int | None = strawberry.field(
        description="Shared by all ticket types on this date (null: only each type's quantity)."
    )

    @classmethod
    def from_record(cls, r: OccurrenceRecord) -> EventOccurrence:
        return cls(
            id=strawberry.ID(str(r.id)),
            starts_at=r.starts_at,
            ends_at=r.ends_at,
            capacity=r.capacity,
        )


@strawberry.type
class EventAsset:
    id: strawberry.ID
    kind: AssetKind  # type: ignore[valid-type]
    url: str = strawberry.field(
        description="Public for published events; for drafts a signed URL that expires."
    )
    content_type: str
    size: int
    filename: str | None

    @classmethod
    def from_record(cls, r: AssetRecord, url: str) -> EventAsset:
        return cls(
            id=strawberry.ID(str(r.id)),
            kind=r.kind,
            url=url,
            content_type=r.content_type,
            size=r.size,
            filename=r.filename,
        )


def _organization(r: OrganizationRecord) -> Organization:
    return Organization(id=strawberry.ID(str(r.id)), name=r.name, slug=r.slug)


@strawberry.type
class Event:
    id: strawberry.ID
    slug: str
    title: str
    description: str | None
    status: EventStatus  # type: ignore[valid-type]
    timezone: str = strawberry.field(description="The venue's time zone (UTC without a venue).")
    starts_at: datetime | None = strawberry.field(description="When the first occurrence starts.")
    last_starts_at: datetime | None = strawberry.field(
        description="When the last occurrence starts."
    )
    published_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    policies: EventPolicies
    record: strawberry.Private[EventRecord]
    bundle: strawberry.Private[EventBundle | None] = None

    @classmethod
    def from_record(cls, r: EventRecord, bundle: EventBundle | None = None) -> Event:
        return cls(
            id=strawberry.ID(str(r.id)),
            slug=r.slug,
            title=r.title,
            description=r.description,
            status=r.status,
            timezone=r.timezone,
            starts_at=r.first_starts_at,
            last_starts_at=r.last_starts_at,
            published_at=r.published_at,
            cancelled_at=r.cancelled_at,
            cancel_reason=r.cancel_reason,
            policies=EventPolicies(
                refund_policy=r.refund_policy,
                transfer_allowed=r.transfer_allowed,
                cancellation_policy=r.cancellation_policy,
                refund_deadline_hours=r.refund_deadline_hours,
            ),
            record=r,
            bundle=bundle,
        )

    @classmethod
    def from_bundle(cls, bundle: EventBundle) -> Event:
        return cls.from_record(bundle.event, bundle)

    @strawberry.field
    async def organization(self, info: Info) -> Organization:
        from schema.events.loaders import OrganizationByIdLoader

        if self.bundle is not None:
            return _organization(self.bundle.organization)
        found = await info.context.loader(OrganizationByIdLoader).load(self.record.organization_id)
        assert found is not None  # organizations are deleted softly: the row is there
        return _organization(found)

    @strawberry.field
    async def venue(self, info: Info) -> Venue | None:
        from schema.venues.loaders import VenueByIdLoader

        if self.bundle is not None:
            return Venue.from_model(self.bundle.venue) if self.bundle.venue else None
        if self.record.venue_id is None:
            return None
        found = await info.context.loader(VenueByIdLoader).load(self.record.venue_id)
        return Venue.from_model(found) if found else None

    @strawberry.field(description="Every date of the event, in time order.")
    async def occurrences(self, info: Info) -> list[EventOccurrence]:
        from schema.events.loaders import OccurrencesByEventLoader

        if self.bundle is not None:
            records: list[OccurrenceRecord] | tuple[OccurrenceRecord, ...] = self.bundle.occurrences
        else:
            records = await info.context.loader(OccurrencesByEventLoader).load(self.record.id)
        return [EventOccurrence.from_record(r) for r in records]

    @strawberry.field
    async def assets(self, info: Info) -> list[EventAsset]:
        from schema.events.loaders import AssetsByEventLoader

        if self.bundle is not None:
            records: list[AssetRecord] | tuple[AssetRecord, ...] = self.bundle.assets
        else:
            records = await info.context.loader(AssetsByEventLoader).load(self.record.id)
        public = is_public(self.record.status, self.record.published_at)
        settings, now = info.context.settings, utcnow()
        return [
            EventAsset.from_record(r, asset_url(settings, r.id, public=public, now=now))
            for r in records
        ]

    @strawberry.field(description="The event's own copy of its seatmap (null: no seating).")
    def seatmap(self) -> Seatmap | None:
        if self.record.seatmap_name is None:
            return None
        return Seatmap.of_event(
            event_id=self.record.id, source_id=self.record.seatmap_id, name=self.record.seatmap_name
        )

    @strawberry.field(
        description="Ticket types on sale; private ones only for the organization's members "
        "or with the hold token that unlocks them."
    )
    async def ticket_types(
        self, info: Info, hold_token: str | None = None
    ) -> list[Annotated[TicketType, strawberry.lazy("schema.ticketing.types")]]:
        from schema.events.public_cache import bound_ticket_types
        from schema.ticketing.loaders import TicketTypesByEventLoader

        loader = info.context.loader(TicketTypesByEventLoader)
        if hold_token:
            types = await loader.load((self.record.id, hold_token))
        else:
            types = await loader.load(self.record.id)
        await bound_ticket_types(info, self, types, hold_token=hold_token)
        return types


@strawberry.type
class EventEdge:
    node: Event
    cursor: str


@strawberry.type
class EventConnection:
    edges: list[EventEdge]
    page_info: PageInfo
    total_count: int


@strawberry.type
class EventPayload:
    event: Event | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
