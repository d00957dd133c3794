from __future__ import annotations

import strawberry

from schema.context import Info
from schema.errors import run_boolean_mutation, run_mutation
from schema.ids import input_id
from schema.webhooks.inputs import CreateWebhookInput
from schema.webhooks.types import (
    Webhook,
    WebhookDelivery,
    WebhookDeliveryPayload,
    WebhookPayload,
)
from server.clock import utcnow
from server.webhooks import service
from server.webhooks.models import WebhookDelivery as WebhookDeliveryModel
from server.webhooks.service import CreatedWebhook


@strawberry.type
class WebhookMutations:
    @strawberry.mutation(
        description="Register a URL to receive the organization's events, signed with a "
        "secret that is returned once."
    )
    async def create_webhook(self, info: Info, input: CreateWebhookInput) -> WebhookPayload:
        async def work(s) -> CreatedWebhook:  # type: ignore[no-untyped-def]
            return await service.create_webhook(
                s,
                actor=info.context.actor,
                organization_id=input_id(input.organization_id, "organizationId"),
                url=input.url,
                events=input.events,
                settings=info.context.settings,
                now=utcnow(),
            )

        created, errors = await run_mutation(info, work)
        if created is None:
            return WebhookPayload(errors=errors)
        return WebhookPayload(webhook=Webhook.from_model(created.endpoint), secret=created.secret)

    @strawberry.mutation(description="Delete a webhook; nothing more is sent to it.")
    async def delete_webhook(self, info: Info, id: strawberry.ID) -> bool:
        async def work(s) -> bool:  # type: ignore[no-untyped-def]
            await service.delete_webhook(
                s, actor=info.context.actor, endpoint_id=input_id(id, "id"), now=utcnow()
            )
            return True

        return await run_boolean_mutation(info, work)

    @strawberry.mutation(
        description="Send a delivery again (delivered or failed), with a fresh set of attempts."
    )
    async def redeliver_webhook_delivery(
        self, info: Info, id: strawberry.ID
    ) -> WebhookDeliveryPayload:
        async def work(s) -> WebhookDeliveryModel:  # type: ignore[no-untyped-def]
            return await service.redeliver_webhook_delivery(
                s, actor=info.context.actor, delivery_id=input_id(id, "id"), now=utcnow()
            )

        delivery, errors = await run_mutation(info, work)
        if delivery is None:
            return WebhookDeliveryPayload(errors=errors)
        return WebhookDeliveryPayload(delivery=WebhookDelivery.from_model(delivery))
