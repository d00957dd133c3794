from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from server.app_state import AppState
from server.auth.actor import Actor
from server.clock import utcnow
from server.config import Settings
from server.db import Database
from server.jobs.context import JobContext
from server.jobs.dispatch import dispatch_outbox
from server.outbox.service import emit
from server.webhooks import service
from server.webhooks.jobs import drain_endpoint
from server.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from tests.server.webhooks.receiver import Receiver
from tests.support import factories
from tests.support.factories import TestOrg
from tests.support.gql import GraphQLClient
from tests.support.jobs import emitted_id, job_context


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    server = await Receiver().start()
    yield server
    for arrival in server.arrivals:
        if hasattr(arrival.behaviour, "release"):
            arrival.behaviour.release.set()
    await server.stop()


@pytest.fixture
def fast_settings(make_settings: Callable[..., Settings]) -> Settings:
    """Retries within milliseconds, a few attempts, short timeouts."""
    return make_settings(
        webhook_retry_base=0.01,
        webhook_retry_max=0.05,
        webhook_max_attempts=3,
        webhook_timeout=0.5,
    )


@dataclass
class Hooks:
    """An organization, its owner as an actor, and helpers to add endpoints and events."""

    db: Database
    settings: Settings
    org: TestOrg
    owner: Actor

    async def endpoint(
        self, url: str, events: list[str] | None = None, org_id: str | None = None
    ) -> WebhookEndpoint:
        owner = self.owner
        if org_id is not None and org_id != self.org.id:
            raise ValueError("use another Hooks for another organization")
        async with self.db.transaction() as session:
            created = await service.create_webhook(
                session,
                actor=owner,
                organization_id=uuid.UUID(self.org.id),
                url=url,
                events=events or ["*"],
                settings=self.settings,
                now=utcnow(),
            )
        return created.endpoint

    async def emit(self, *event_types: str, payload: dict[str, Any] | None = None) -> list[str]:
        """Append events (each in its own transaction, in order); returns their ids."""
        ids = []
        for event_type in event_types:
            async with self.db.transaction() as session:
                event = await emit(
                    session,
                    event_type,
                    organization_id=uuid.UUID(self.org.id),
                    payload=payload or {"n": len(ids)},
                )
                ids.append(emitted_id(event))
        return ids

    async def deliveries(self, endpoint_id: uuid.UUID) -> list[WebhookDelivery]:
        async with self.db.read() as session:
            rows = await session.scalars(
                select(WebhookDelivery)
                .where(WebhookDelivery.endpoint_id == endpoint_id)
                .order_by(WebhookDelivery.event_sequence)
            )
            return list(rows)

    async def pending(self, endpoint_id: uuid.UUID) -> int:
        async with self.db.read() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(WebhookDelivery)
                .where(
                    WebhookDelivery.endpoint_id == endpoint_id,
                    WebhookDelivery.status == "pending",
                )
            )
        return int(count or 0)

    async def attempts(self, delivery_id: uuid.UUID) -> list[WebhookAttempt]:
        async with self.db.read() as session:
            rows = await session.scalars(
                select(WebhookAttempt)
                .where(WebhookAttempt.delivery_id == delivery_id)
                .order_by(WebhookAttempt.number)
            )
            return list(rows)


async def make_hooks(gql: GraphQLClient, db: Database, settings: Settings) -> Hooks:
    org = await factories.create_org(gql)
    return Hooks(db, settings, org, Actor(user_id=uuid.UUID(org.owner.id)))


@pytest.fixture
async def hooks(gql: GraphQLClient, db: Database, fast_settings: Settings) -> Hooks:
    return await make_hooks(gql, db, fast_settings)


@pytest.fixture
async def ctx(state: AppState, fast_settings: Settings) -> AsyncIterator[JobContext]:
    async with job_context(state, fast_settings) as context:
        yield context


async def deliver_all(ctx: JobContext, hooks: Hooks, endpoint_id: uuid.UUID) -> None:
    """Dispatch the outbox, then drain the endpoint until nothing is pending (with the fast
    settings, retries come due within milliseconds)."""
    await dispatch_outbox(ctx.state)
    for _ in range(100):
        await drain_endpoint(ctx, endpoint_id)
        if not await hooks.pending(endpoint_id):
            return
        await asyncio.sleep(0.06)
    raise AssertionError("deliveries still pending")
