from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator

import pytest

from server.config import Settings
from tests.support.graphql_ws import InProcessServer, serve_in_process

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def chromium_binary() -> str | None:
    """CHROMIUM if set, else Debian's `chromium` (or another Chrome) on PATH."""
    explicit = os.environ.get("CHROMIUM")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def chromium() -> str:
    binary = chromium_binary()
    if binary is None:
        pytest.skip("no Chromium binary (apt-get install chromium, or set CHROMIUM=/path)")
    return binary


@pytest.fixture(scope="session")
async def page_server(settings: Settings) -> AsyncIterator[InProcessServer]:
    async with serve_in_process(settings) as server:
        yield server
