from __future__ import annotations

from typing import Any, cast

import strawberry
from starlette.datastructures import UploadFile
from strawberry.file_uploads import Upload

from schema.context import Info
from schema.errors import run_mutation
from schema.events.inputs import CreateEventInput, UpdateEventInput
from schema.events.types import AssetKind, Event, EventPayload
from schema.ids import input_id
from schema.permissions import IsAuthenticated
from server.clock import utcnow
from server.errors import ValidationError
from server.events import service
from server.events.assets import AssetLimits, add_event_asset
from server.events.models import AssetKind as AssetKindModel
from server.events.policies import UNCHANGED
from server.events.records import EventRecord
from server.storage import storage_for


async def _payload(info: Info, work: Any) -> EventPayload:
    async def run(s):  # type: ignore[no-untyped-def]
        return EventRecord.from_model(await work(s))

    record, errors = await run_mutation(info, run)
    return EventPayload(event=Event.from_record(record) if record else None, errors=errors)


async def _read_upload(file: object, limit: int) -> tuple[bytes, str | None, str | None]:
    if not isinstance(file, UploadFile):
        raise ValidationError("Send the file as a multipart upload.", field="file")
    data = await file.read(limit + 1)
    return data, file.content_type, file.filename


@strawberry.type
class EventMutations:
    @strawberry.mutation(description="Create a draft event (managers and owners).")
    async def create_event(self, info: Info, input: CreateEventInput) -> EventPayload:
        async def work(s):  # type: ignore[no-untyped-def]
            return await service.create_event(
                s,
                actor=info.context.actor,
                organization_id=input_id(input.organization_id, "organizationId"),
                title=input.title,
                description=input.description,
                venue_id=input_id(input.venue_id, "venueId") if input.venue_id else None,
                seatmap_id=input_id(input.seatmap_id, "seatmapId") if input.seatmap_id else None,
                occurrences=[o.to_spec() for o in input.occurrences],
                recurrence=input.recurrence.to_recurrence() if input.recurrence else None,
                policies=input.policies.to_spec() if input.policies else None,
                now=utcnow(),
            )

        return await _payload(info, work)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Change an event's details or add dates to it.",
    )
    async def update_event(self, info: Info, input: UpdateEventInput) -> EventPayload:
        changes = service.EventChanges(
            title=input.title,
            description=UNCHANGED if input.description is strawberry.UNSET else input.description,
            policies=input.policies.to_spec() if input.policies else None,
            add_occurrences=[o.to_spec() for o in input.add_occurrences or []],
            add_recurrence=input.add_recurrence.to_recurrence() if input.add_recurrence else None,
        )

        async def work(s):  # type: ignore[no-untyped-def]
            return await service.update_event(
                s,
                actor=info.context.actor,
                event_id=input_id(input.id, "id"),
                changes=changes,
                now=utcnow(),
            )

        return await _payload(info, work)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Put a draft on sale: it needs at least one occurrence and one ticket type.",
    )
    async def publish_event(self, info: Info, id: strawberry.ID) -> EventPayload:
        return await _payload(
            info,
            lambda s: service.publish_event(
                s, actor=info.context.actor, event_id=input_id(id, "id"), now=utcnow()
            ),
        )

    @strawberry.mutation(
        permission_classes=[IsAuthenticated], description="Cancel a draft or published event."
    )
    async def cancel_event(
        self, info: Info, id: strawberry.ID, reason: str | None = None
    ) -> EventPayload:
        return await _payload(
            info,
            lambda s: service.cancel_event(
                s,
                actor=info.context.actor,
                event_id=input_id(id, "id"),
                reason=reason,
                now=utcnow(),
            ),
        )

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Mark a published event as having taken place.",
    )
    async def complete_event(self, info: Info, id: strawberry.ID) -> EventPayload:
        return await _payload(
            info,
            lambda s: service.complete_event(
                s, actor=info.context.actor, event_id=input_id(id, "id"), now=utcnow()
            ),
        )

    @strawberry.mutation(
        description="Attach a file (GraphQL multipart request): PNG, JPEG, WebP or GIF images "
        "and seatmap renders, PDFs, MP4 or WebM videos."
    )
    async def add_event_asset(
        self,
        info: Info,
        event_id: strawberry.ID,
        kind: AssetKind,  # type: ignore[valid-type]
        file: Upload,
    ) -> EventPayload:
        settings = info.context.settings

        async def work(s):  # type: ignore[no-untyped-def]
            data, declared, filename = await _read_upload(file, settings.max_upload_size)
            return await add_event_asset(
                s,
                actor=info.context.actor,
                storage=storage_for(settings),
                limits=AssetLimits.from_settings(settings),
                event_id=input_id(event_id, "eventId"),
                kind=cast(AssetKindModel, kind),
                data=data,
                declared_type=declared,
                filename=filename,
                now=utcnow(),
            )

        return await _payload(info, work)
