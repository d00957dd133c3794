"""Per-request loaders for webhook deliveries and their attempt logs: one query per batch
however many webhooks a response lists. Authorization happens in the services."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import cast

from schema.loaders import ContextLoader
from server.webhooks.models import WebhookAttempt, WebhookDelivery
from server.webhooks.service import delivery_attempts, recent_deliveries

DeliveryKey = tuple[uuid.UUID, int]  # (webhook id, how many of its latest deliveries)


class DeliveriesByWebhookLoader(ContextLoader[DeliveryKey, list[WebhookDelivery]]):
    async def batch_load_fn(self, keys: Sequence[DeliveryKey]) -> list[list[WebhookDelivery]]:
        found: dict[DeliveryKey, list[WebhookDelivery] | Exception] = {}
        async with self.context.db.read() as session:
            for first in sorted({first for _, first in keys}):
                ids = [endpoint_id for endpoint_id, n in keys if n == first]
                loaded = await recent_deliveries(
                    session, actor=self.context.actor, endpoint_ids=ids, first=first
                )
                found.update({(endpoint_id, first): loaded[endpoint_id] for endpoint_id in ids})
        # aiodataloader raises an Exception value to the caller of `load` for that key.
        return cast(list[list[WebhookDelivery]], [found[key] for key in keys])


class AttemptsByDeliveryLoader(ContextLoader[uuid.UUID, list[WebhookAttempt]]):
    async def batch_load_fn(self, keys: Sequence[uuid.UUID]) -> list[list[WebhookAttempt]]:
        async with self.context.db.read() as session:
            found = await delivery_attempts(
                session, actor=self.context.actor, delivery_ids=list(keys)
            )
        return cast(list[list[WebhookAttempt]], [found[key] for key in keys])
