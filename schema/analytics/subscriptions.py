from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from schema.analytics.selection import minute_window
from schema.analytics.types import EventAnalytics
from schema.common import require_id
from schema.context import Info
from schema.errors import run_query
from schema.subscriptions.errors import checked, coded_stream
from schema.subscriptions.fields import admitted
from server.analytics.figures import Window
from server.analytics.live import AnalyticsTopic, AnalyticsWatcher, analytics_channel
from server.analytics.service import Scope, authorize_analytics
from server.live.hub import LiveHub


@strawberry.type
class AnalyticsSubscriptions:
    @strawberry.subscription(
        description="The event's analytics now, then again after every change (orders, "
        "payments, refunds, check-ins, waitlist), bursts coalesced into one snapshot."
    )
    async def event_analytics(
        self, info: Info, event_id: strawberry.ID, occurrence_id: strawberry.ID | None = None
    ) -> AsyncGenerator[EventAnalytics, None]:
        actor = info.context.actor
        window = minute_window(info)

        async def authorize() -> tuple[LiveHub, Scope]:
            event = require_id(event_id, "eventId")
            occurrence = require_id(occurrence_id, "occurrenceId") if occurrence_id else None
            scope = await run_query(
                info,
                lambda s: authorize_analytics(
                    s, actor=actor, event_id=event, occurrence_id=occurrence
                ),
            )
            return admitted(info), scope

        hub, scope = await checked(authorize)
        return coded_stream(_stream(info, hub, scope, window))


async def _stream(
    info: Info, hub: LiveHub, scope: Scope, window: Window | None
) -> AsyncGenerator[EventAnalytics, None]:
    event_id = scope.event.id
    queue = info.context.state.queue
    async with hub.watch(
        analytics_channel(event_id),
        AnalyticsWatcher(scope.occurrence_id, window),
        lambda name, db, slot: AnalyticsTopic(name, db, slot, event_id, queue),
    ) as watcher:
        async for figures in watcher:
            info.context.clear_loaders()
            yield EventAnalytics.of(scope, figures)
