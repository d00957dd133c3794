"""Webhook endpoints and their deliveries: the rules (tenancy, URL policy, event types,
limits). Owners manage webhooks; API keys need `webhooks:read` / `webhooks:write`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.actor import Actor
from server.config import Settings
from server.errors import AccessError, DomainError, Unauthenticated, Validator
from server.ids import new_id
from server.organizations.access import Permission, authorize
from server.webhooks.errors import (
    TooManyWebhooks,
    WebhookDeliveryNotFound,
    WebhookNotFound,
    WebhookUrlRefused,
)
from server.webhooks.events import ALL_EVENTS, EVENT_TYPES
from server.webhooks.fanout import wake_endpoints_after_commit
from server.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from server.webhooks.secret_store import encrypt_secret, new_secret
from server.webhooks.urls import UrlRefused, check_host_form, check_resolved, parse_url

MAX_ENDPOINTS_PER_ORGANIZATION = 20
MAX_DELIVERIES_LISTED = 100


@dataclass(frozen=True, slots=True)
class CreatedWebhook:
    endpoint: WebhookEndpoint
    secret: str  # shown once; stored only encrypted


async def create_webhook(
    session: AsyncSession,
    *,
    actor: Actor,
    organization_id: uuid.UUID,
    url: str,
    events: list[str],
    settings: Settings,
    now: datetime,
) -> CreatedWebhook:
    await authorize(session, actor, organization_id, Permission.WEBHOOKS_WRITE)
    checks = Validator()
    clean_url = url.strip()
    try:
        parsed = parse_url(clean_url)
        if not settings.webhook_allow_private_urls:
            check_host_form(parsed)
            await check_resolved(parsed)
    except UrlRefused as refused:
        checks.errors.append(WebhookUrlRefused(refused.reason, field="url"))
    wanted = sorted({e.strip() for e in events})
    unknown = [e for e in wanted if e not in EVENT_TYPES and e != ALL_EVENTS]
    checks.check(bool(wanted), "events", "Subscribe to at least one event type (or `*`).")
    checks.check(
        not unknown,
        "events",
        f"Unknown event types: {', '.join(unknown)}. "
        f"Known: {', '.join(sorted(EVENT_TYPES))}, or `*` for all.",
    )
    checks.raise_if_any()
    count = await session.scalar(
        select(func.count())
        .select_from(WebhookEndpoint)
        .where(WebhookEndpoint.organization_id == organization_id)
    )
    if (count or 0) >= MAX_ENDPOINTS_PER_ORGANIZATION:
        raise TooManyWebhooks(
            f"An organization may have at most {MAX_ENDPOINTS_PER_ORGANIZATION} webhooks."
        )
    secret = new_secret()
    endpoint = WebhookEndpoint(
        id=new_id(),
        organization_id=organization_id,
        created_by_id=actor.user_id,
        url=clean_url,
        events=[ALL_EVENTS] if ALL_EVENTS in wanted else wanted,
        secret_encrypted=encrypt_secret(secret, jwt_key=settings.jwt_key),
        active=True,
    )
    session.add(endpoint)
    await session.flush()
    await session.refresh(endpoint)
    return CreatedWebhook(endpoint, secret)


async def _authorized_endpoint(
    session: AsyncSession, actor: Actor, endpoint_id: uuid.UUID, permission: Permission
) -> WebhookEndpoint:
    if actor.is_anonymous:
        raise Unauthenticated()
    endpoint = await session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise WebhookNotFound(field="id")
    await authorize(
        session,
        actor,
        endpoint.organization_id,
        permission,
        not_found=WebhookNotFound(field="id"),
    )
    return endpoint


async def delete_webhook(
    session: AsyncSession, *, actor: Actor, endpoint_id: uuid.UUID, now: datetime
) -> None:
    """Delete the endpoint and its delivery log; nothing more is sent to it. An attempt in
    flight finishes first (it holds its delivery's row lock)."""
    endpoint = await _authorized_endpoint(session, actor, endpoint_id, Permission.WEBHOOKS_WRITE)
    await session.execute(delete(WebhookEndpoint).where(WebhookEndpoint.id == endpoint.id))


async def list_webhooks(
    session: AsyncSession, *, actor: Actor, organization_id: uuid.UUID
) -> list[WebhookEndpoint]:
    await authorize(session, actor, organization_id, Permission.WEBHOOKS_READ)
    rows = await session.scalars(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.organization_id == organization_id)
        .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
    )
    return list(rows)


async def _read_errors(
    session: AsyncSession, actor: Actor, organization_ids: set[uuid.UUID]
) -> dict[uuid.UUID, Exception | None]:
    """For each organization: None if the actor may read its webhooks, else the error."""
    errors: dict[uuid.UUID, Exception | None] = {}
    for organization_id in organization_ids:
        try:
            await authorize(session, actor, organization_id, Permission.WEBHOOKS_READ)
        except (AccessError, DomainError) as exc:
            errors[organization_id] = exc
        else:
            errors[organization_id] = None
    return errors


async def recent_deliveries(
    session: AsyncSession, *, actor: Actor, endpoint_ids: list[uuid.UUID], first: int
) -> dict[uuid.UUID, list[WebhookDelivery] | Exception]:
    """The latest `first` deliveries of each endpoint, newest first; for an endpoint whose
    organization the actor may not read, the error instead."""
    result: dict[uuid.UUID, list[WebhookDelivery] | Exception] = {}
    if not endpoint_ids:
        return result
    owners = dict(
        (
            await session.execute(
                select(WebhookEndpoint.id, WebhookEndpoint.organization_id).where(
                    WebhookEndpoint.id.in_(endpoint_ids)
                )
            )
        ).all()
    )
    errors = await _read_errors(session, actor, set(owners.values()))
    readable = []
    for endpoint_id in endpoint_ids:
        organization_id = owners.get(endpoint_id)
        error = WebhookNotFound() if organization_id is None else errors[organization_id]
        if error is None:
            readable.append(endpoint_id)
            result[endpoint_id] = []
        else:
            result[endpoint_id] = error
    if not readable or first <= 0:
        return result
    ranked = (
        select(
            WebhookDelivery.id,
            func.row_number()
            .over(
                partition_by=WebhookDelivery.endpoint_id,
                order_by=(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc()),
            )
            .label("rank"),
        )
        .where(WebhookDelivery.endpoint_id.in_(readable))
        .subquery()
    )
    rows = await session.scalars(
        select(WebhookDelivery)
        .join(ranked, ranked.c.id == WebhookDelivery.id)
        .where(ranked.c.rank <= min(first, MAX_DELIVERIES_LISTED))
        .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
    )
    for delivery in rows:
        listed = result[delivery.endpoint_id]
        assert isinstance(listed, list)
        listed.append(delivery)
    return result


async def delivery_attempts(
    session: AsyncSession, *, actor: Actor, delivery_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[WebhookAttempt] | Exception]:
    """The attempt log of each delivery, oldest first (or the error, as above)."""
    result: dict[uuid.UUID, list[WebhookAttempt] | Exception] = {}
    if not delivery_ids:
        return result
    owners = dict(
        (
            await session.execute(
                select(WebhookDelivery.id, WebhookDelivery.organization_id).where(
                    WebhookDelivery.id.in_(delivery_ids)
                )
            )
        ).all()
    )
    errors = await _read_errors(session, actor, set(owners.values()))
    for delivery_id in delivery_ids:
        organization_id = owners.get(delivery_id)
        error = WebhookDeliveryNotFound() if organization_id is None else errors[organization_id]
        result[delivery_id] = [] if error is None else error
    readable = [d for d, v in result.items() if isinstance(v, list)]
    if not readable:
        return result
    rows = await session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id.in_(readable))
        .order_by(WebhookAttempt.started_at, WebhookAttempt.id)
    )
    for attempt in rows:
        listed = result[attempt.delivery_id]
        assert isinstance(listed, list)
        listed.append(attempt)
    return result


async def redeliver_webhook_delivery(
    session: AsyncSession, *, actor: Actor, delivery_id: uuid.UUID, now: datetime
) -> WebhookDelivery:
    """Send a delivery again (delivered or dead-lettered) with a fresh set of attempts.
    It keeps its place in the endpoint's order: later pending deliveries wait for it."""
    if actor.is_anonymous:
        raise Unauthenticated()
    # Locked first: an attempt in flight finishes before the reset applies.
    delivery = await session.get(
        WebhookDelivery, delivery_id, with_for_update=True, populate_existing=True
    )
    if delivery is None:
        raise WebhookDeliveryNotFound(field="id")
    await authorize(
        session,
        actor,
        delivery.organization_id,
        Permission.WEBHOOKS_WRITE,
        not_found=WebhookDeliveryNotFound(field="id"),
    )
    delivery.status = "pending"
    delivery.attempts = 0
    delivery.next_attempt_at = now
    delivery.delivered_at = None
    delivery.last_error = None
    await session.flush()
    wake_endpoints_after_commit(session, {delivery.endpoint_id})
    return delivery
