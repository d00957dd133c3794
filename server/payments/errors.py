"""Payment errors.

Provider failures are domain errors (code PAYMENT_FAILED) with a message a buyer or an
organizer can act on; the provider's own wording is kept when it is meant for people
(a card decline). Webhook rejections are separate: they never reach GraphQL, the REST
shim answers them with 400."""

from __future__ import annotations

from server.errors import DomainError, ErrorCode, ValidationError


class PaymentError(DomainError):
    code = ErrorCode.PAYMENT_FAILED
    message = "The payment provider refused the request."


class ProviderUnavailable(PaymentError):
    """Network failure, timeout or 5xx from the provider: worth retrying later."""

    message = "The payment provider could not be reached; try again shortly."


class ProviderNotConfigured(DomainError):
    code = ErrorCode.VALIDATION
    message = "This payment provider is not available."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message, field="provider")


class InvalidPaymentRequest(ValidationError):
    """Refused before anything is sent to the provider."""


class WebhookRejected(Exception):
    """A webhook we will not store: answered with 400 and nothing changes."""

    code = "INVALID_WEBHOOK"

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class InvalidSignature(WebhookRejected):
    code = "INVALID_SIGNATURE"


class MalformedWebhook(WebhookRejected):
    code = "MALFORMED_WEBHOOK"
