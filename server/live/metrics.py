"""Prometheus metrics of live updates."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

subscribers = Gauge("eventapi_live_subscribers", "Live subscribers on this instance")
channels = Gauge("eventapi_live_channels", "Pub/sub channels this instance listens to")
published = Counter("eventapi_live_published_total", "Change messages published")
publish_failures = Counter(
    "eventapi_live_publish_failures_total", "Change messages dropped (Redis unreachable)"
)
received = Counter("eventapi_live_messages_total", "Change messages received")
refreshes = Counter(
    "eventapi_live_refreshes_total", "State reads after changes (one per channel and change)"
)
refresh_failures = Counter("eventapi_live_refresh_failures_total", "State reads that failed")
reconnects = Counter("eventapi_live_reconnects_total", "Pub/sub reconnections after a failure")
