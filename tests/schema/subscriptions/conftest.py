from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from server.config import Settings
from tests.support.graphql_ws import InProcessServer, serve_in_process


@pytest.fixture(scope="session")
async def ws_server(settings: Settings) -> AsyncIterator[InProcessServer]:
    """A second app instance behind a real socket: mutations go through `gql` (the first
    instance), so every update a test sees has crossed Redis pub/sub."""
    async with serve_in_process(settings) as server:
        yield server
