"""Prometheus metrics. Label values that come from clients (operation names) are bounded,
so a client cannot grow the registry without limit."""

from __future__ import annotations

import re

from prometheus_client import Counter, Histogram

OPERATION_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
MAX_OPERATION_LABELS = 500
_seen_operations: set[str] = set()

graphql_requests = Counter(
    "eventapi_graphql_requests_total",
    "GraphQL requests by operation and outcome",
    ["operation", "type", "outcome"],
)
graphql_duration = Histogram(
    "eventapi_graphql_request_duration_seconds",
    "GraphQL request latency by operation",
    ["operation", "type"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
graphql_errors = Counter(
    "eventapi_graphql_errors_total", "GraphQL errors by operation and code", ["operation", "code"]
)
http_requests = Counter(
    "eventapi_http_requests_total",
    "HTTP requests by route and status",
    ["route", "method", "status"],
)
http_duration = Histogram(
    "eventapi_http_request_duration_seconds",
    "HTTP request latency by route",
    ["route", "method"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
unavailable_responses = Counter(
    "eventapi_unavailable_responses_total",
    "Requests answered 503 SERVICE_UNAVAILABLE because Redis could not be reached",
    ["route"],
)
rate_limited = Counter(
    "eventapi_rate_limited_total", "Requests refused by the rate limiter", ["kind"]
)
logins_refused = Counter(
    "eventapi_logins_refused_total",
    "Sign-in attempts refused before their password was checked",
    ["reason"],  # ip_budget, locked
)
cache_requests = Counter(
    "eventapi_cache_requests_total", "Cache lookups by cache and result", ["cache", "result"]
)


def operation_label(name: str | None) -> str:
    if not name:
        return "anonymous"
    if not OPERATION_NAME_RE.match(name):
        return "invalid"
    if name not in _seen_operations:
        if len(_seen_operations) >= MAX_OPERATION_LABELS:
            return "other"
        _seen_operations.add(name)
    return name
