from __future__ import annotations

from server.errors import LimitExceeded, NotFound, ValidationError


class WebhookNotFound(NotFound):
    message = "No such webhook."


class WebhookDeliveryNotFound(NotFound):
    message = "No such webhook delivery."


class WebhookUrlRefused(ValidationError):
    message = "This URL cannot receive webhooks."


class TooManyWebhooks(LimitExceeded):
    message = "This organization has as many webhooks as it may have."
