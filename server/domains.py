"""Modules whose import registers behaviour with another domain (releasers of expired
inventory claims, payment event handlers, after-commit effect handlers). Loaded once by
the app and by the workers, so registration never depends on import accidents."""

from __future__ import annotations

import importlib

MODULES = (
    "server.ticketing.holds",
    "server.orders.lifecycle",
    "server.orders.payment_events",
    "server.orders.effects",
)


def load() -> None:
    for module in MODULES:
        importlib.import_module(module)
