from __future__ import annotations

import uuid
from datetime import datetime

import strawberry

from schema.context import Info
from schema.errors import ClientError, UserError
from schema.webhooks.loaders import AttemptsByDeliveryLoader, DeliveriesByWebhookLoader
from server.webhooks.models import WebhookAttempt as WebhookAttemptModel
from server.webhooks.models import WebhookDelivery as WebhookDeliveryModel
from server.webhooks.models import WebhookEndpoint
from server.webhooks.service import MAX_DELIVERIES_LISTED

MAX_ATTEMPTS_LISTED = 50  # WEBHOOK_MAX_ATTEMPTS is at most 50


@strawberry.type(description="One HTTP attempt of a delivery.")
class WebhookAttempt:
    number: int
    started_at: datetime
    duration_ms: int
    response_status: int | None
    error: str | None
    response_snippet: str | None = strawberry.field(
        description="The start of the receiver's response body."
    )

    @classmethod
    def from_model(cls, model: WebhookAttemptModel) -> WebhookAttempt:
        return cls(
            number=model.number,
            started_at=model.started_at,
            duration_ms=model.duration_ms,
            response_status=model.response_status,
            error=model.error,
            response_snippet=model.response_snippet,
        )


@strawberry.type(description="One event on its way to one webhook.")
class WebhookDelivery:
    id: strawberry.ID
    event_type: str
    status: str = strawberry.field(
        description="pending, delivered, or failed (every attempt used; dead-lettered)."
    )
    attempts: int
    response_status: int | None
    created_at: datetime
    event_id: strawberry.ID = strawberry.field(description="Also sent as X-Webhook-Id.")
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_error: str | None

    @classmethod
    def from_model(cls, model: WebhookDeliveryModel) -> WebhookDelivery:
        return cls(
            id=strawberry.ID(str(model.id)),
            event_type=model.event_type,
            status=model.status,
            attempts=model.attempts,
            response_status=model.response_status,
            created_at=model.created_at,
            event_id=strawberry.ID(str(model.event_id)),
            next_attempt_at=model.next_attempt_at,
            delivered_at=model.delivered_at,
            last_error=model.last_error,
        )

    @strawberry.field(description="The latest `last` attempts, oldest first.")
    async def attempt_log(self, info: Info, last: int | None = 10) -> list[WebhookAttempt]:
        last = 10 if last is None else last
        if not 0 <= last <= MAX_ATTEMPTS_LISTED:
            raise ClientError(f"`last` must be between 0 and {MAX_ATTEMPTS_LISTED}.")
        rows = await info.context.loader(AttemptsByDeliveryLoader).load(uuid.UUID(self.id))
        return [WebhookAttempt.from_model(r) for r in rows[max(0, len(rows) - last) :]]


@strawberry.type
class Webhook:
    id: strawberry.ID
    url: str
    events: list[str]
    active: bool
    created_at: datetime

    @classmethod
    def from_model(cls, model: WebhookEndpoint) -> Webhook:
        return cls(
            id=strawberry.ID(str(model.id)),
            url=model.url,
            events=list(model.events),
            active=model.active,
            created_at=model.created_at,
        )

    @strawberry.field(description="The latest deliveries, newest first (at most 100).")
    async def deliveries(self, info: Info, first: int | None = 20) -> list[WebhookDelivery]:
        first = 20 if first is None else first
        if not 0 <= first <= MAX_DELIVERIES_LISTED:
            raise ClientError(f"`first` must be between 0 and {MAX_DELIVERIES_LISTED}.")
        rows = await info.context.loader(DeliveriesByWebhookLoader).load(
            (uuid.UUID(self.id), first)
        )
        return [WebhookDelivery.from_model(r) for r in rows]


@strawberry.type
class WebhookPayload:
    webhook: Webhook | None = None
    secret: str | None = strawberry.field(
        default=None, description="The signing secret; shown only once, on creation."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class WebhookDeliveryPayload:
    delivery: WebhookDelivery | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
