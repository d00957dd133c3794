"""Which key signs ticket QR codes in this process.

`issue_tickets` is called from deep inside order confirmation (webhooks, jobs), where no
Settings object travels, so the app configures the key once at start (`configure`). A
process that never configured it (a worker started on its own) reads it from the same
environment the app reads, which gives the same key."""

from __future__ import annotations

from server.config import Settings, get_settings

_configured: list[bytes] = []


def configure(settings: Settings) -> None:
    _configured[:] = [settings.ticket_signing_key]


def signing_key() -> bytes:
    if not _configured:
        configure(get_settings())
    return _configured[0]
