from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from server.config import Settings
from tests.support.graphql_ws import InProcessServer, serve_in_process


@pytest.fixture(scope="session")
async def ws_server(settings: Settings) -> AsyncIterator[InProcessServer]:
    """A second app instance behind a real socket, on the test's event loop so its live
    hub can be looked at; changes are made through the first instance (`gql`)."""
    async with serve_in_process(settings) as server:
        yield server
