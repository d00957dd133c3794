"""Capture the structured log lines the app writes (JSON, one per line) during a test."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import structlog

from server.logging import configure_logging


@contextmanager
def captured_logs() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    stream = io.StringIO()
    configure_logging("INFO", "json", stream=stream)

    def lines() -> list[dict[str, Any]]:
        parsed = []
        for line in stream.getvalue().splitlines():
            try:
                parsed.append(json.loads(line))
            except ValueError:
                parsed.append({"raw": line})
        return parsed

    try:
        yield lines
    finally:
        structlog.reset_defaults()
        configure_logging("WARNING", "json")
