"""Modules that register tasks, crons and outbox consumers; the worker (and the app, for
enqueueing by function) imports each of them. Add yours here."""

TASK_MODULES: list[str] = [
    "server.jobs.dispatch",
    "server.webhooks.jobs",
    "server.mail.jobs",
    "server.orders.jobs",
    "server.orders.notifications",
    "server.reports.jobs",
    "server.waitlist.jobs",
    "server.analytics.live",
    "server.partitions",
    "server.analytics.jobs",
]


def load_task_modules() -> None:
    import importlib

    for module in TASK_MODULES:
        importlib.import_module(module)
