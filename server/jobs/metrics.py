"""Prometheus metrics for jobs and queues. Label values are queue names and registered task
names, both fixed by code, so the label sets stay bounded."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

jobs_started = Counter("eventapi_jobs_started_total", "Job runs started", ["queue", "function"])
jobs_succeeded = Counter(
    "eventapi_jobs_succeeded_total", "Job runs that succeeded", ["queue", "function"]
)
jobs_retried = Counter(
    "eventapi_jobs_retried_total",
    "Job runs that failed and were scheduled to run again",
    ["queue", "function"],
)
jobs_failed = Counter(
    "eventapi_jobs_failed_total",
    "Jobs that failed for good (dead-lettered, or a cron run that failed)",
    ["queue", "function"],
)
job_duration = Histogram(
    "eventapi_job_duration_seconds",
    "Job run time, whatever the outcome",
    ["queue", "function"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
queue_depth = Gauge(
    "eventapi_queue_depth", "Jobs waiting in the queue (due and deferred)", ["queue"]
)
dead_letters = Counter(
    "eventapi_dead_letters_total", "Dead letters recorded", ["queue", "function"]
)
webhook_attempts = Counter(
    "eventapi_webhook_attempts_total", "Webhook delivery attempts by outcome", ["outcome"]
)
webhook_attempt_duration = Histogram(
    "eventapi_webhook_attempt_duration_seconds",
    "Webhook delivery attempt time (request and response)",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
outbox_dispatched = Counter(
    "eventapi_outbox_events_dispatched_total", "Outbox events dispatched", ["event_type"]
)
redis_outages = Counter(
    "eventapi_worker_redis_outages_total",
    "Times a worker lost Redis and waited to reconnect",
    ["queue"],
)
