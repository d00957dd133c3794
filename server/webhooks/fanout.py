"""Turning dispatched outbox events into webhook deliveries, inside the dispatcher's
transaction: one `pending` row per (subscribed active endpoint, event). Endpoints receive
the events that happen after they were created."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import after_commit
from server.ids import new_id
from server.outbox.models import OutboxEvent
from server.webhooks.events import subscribed
from server.webhooks.models import WebhookDelivery, WebhookEndpoint

INSERT_CHUNK = 1000  # rows per INSERT, well under PostgreSQL's bind parameter limit


@dataclass(frozen=True)
class EndpointsReady:
    """After-commit effect: these endpoints have deliveries to attempt now."""

    endpoint_ids: frozenset[uuid.UUID]


def wake_endpoints_after_commit(session: AsyncSession, endpoint_ids: set[uuid.UUID]) -> None:
    if endpoint_ids:
        after_commit(session, EndpointsReady(frozenset(endpoint_ids)))


def event_body(event: OutboxEvent) -> dict[str, Any]:
    """The JSON document POSTed to receivers."""
    return {
        "id": str(event.id),
        "type": event.event_type,
        "createdAt": event.created_at.isoformat(),
        "organizationId": str(event.organization_id),
        "data": event.payload,
    }


async def create_deliveries(
    session: AsyncSession, events: list[OutboxEvent], *, now: datetime
) -> set[uuid.UUID]:
    """Create the deliveries for `events` (idempotent: one row per endpoint and event) and
    return the endpoints that got new ones."""
    organizations = {e.organization_id for e in events if e.organization_id is not None}
    if not organizations:
        return set()
    endpoints_by_org: dict[uuid.UUID, list[WebhookEndpoint]] = defaultdict(list)
    for endpoint in await session.scalars(
        select(WebhookEndpoint).where(
            WebhookEndpoint.organization_id.in_(organizations), WebhookEndpoint.active.is_(True)
        )
    ):
        endpoints_by_org[endpoint.organization_id].append(endpoint)
    rows = []
    for event in events:
        if event.organization_id is None:
            continue
        for endpoint in endpoints_by_org.get(event.organization_id, []):
            if event.created_at < endpoint.created_at:
                continue
            if not subscribed(endpoint.events, event.event_type):
                continue
            rows.append(
                {
                    "id": new_id(),
                    "endpoint_id": endpoint.id,
                    "organization_id": event.organization_id,
                    "event_id": event.id,
                    "event_sequence": event.sequence,
                    "event_type": event.event_type,
                    "payload": event_body(event),
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                }
            )
    if not rows:
        return set()
    ready: set[uuid.UUID] = set()
    for start in range(0, len(rows), INSERT_CHUNK):
        inserted = await session.scalars(
            insert(WebhookDelivery)
            .values(rows[start : start + INSERT_CHUNK])
            .on_conflict_do_nothing(index_elements=["endpoint_id", "event_id"])
            .returning(WebhookDelivery.endpoint_id)
        )
        ready.update(inserted)
    wake_endpoints_after_commit(session, ready)
    return ready
