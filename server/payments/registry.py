"""`get_provider(name, settings)`: the configured provider for a `PaymentProvider` name.

A provider this server is not set up for (no secret key; TEST while TEST_PAYMENTS is
off) is a VALIDATION domain error on the `provider` field, so a client choosing it gets a
clear answer instead of a failure deep inside a payment."""

from __future__ import annotations

from pydantic import SecretStr

from server.config import Settings
from server.payments.base import PaymentProvider, ProviderName
from server.payments.errors import ProviderNotConfigured
from server.payments.paystack import PaystackProvider
from server.payments.stripe_provider import StripeProvider
from server.payments.test_provider import TestProvider, signing_key


def get_provider(name: ProviderName | str, settings: Settings) -> PaymentProvider:
    try:
        provider = ProviderName(str(name).upper())
    except ValueError:
        raise ProviderNotConfigured(f"Unknown payment provider {name!r}.") from None
    if provider is ProviderName.STRIPE:
        key = _secret(settings.stripe_secret_key)
        if not key:
            raise ProviderNotConfigured("Stripe payments are not configured on this server.")
        return StripeProvider(
            secret_key=key,
            webhook_secret=_secret(settings.stripe_webhook_secret),
            api_base=settings.stripe_api_base,
        )
    if provider is ProviderName.PAYSTACK:
        key = _secret(settings.paystack_secret_key)
        if not key:
            raise ProviderNotConfigured("Paystack payments are not configured on this server.")
        return PaystackProvider(secret_key=key, api_base=settings.paystack_api_base)
    if not settings.test_payments_enabled:
        raise ProviderNotConfigured("TEST payments are turned off on this server.")
    return TestProvider(key=signing_key(settings))


def _secret(value: SecretStr | None) -> str | None:
    if value is None:
        return None
    return value.get_secret_value().strip() or None
