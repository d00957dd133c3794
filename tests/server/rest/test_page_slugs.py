"""Page routes answer 404 for anything that cannot be a slug (a NUL, non-ASCII letters,
upper case, overlong text) before it reaches a query: a NUL was a plain-text 500."""

from __future__ import annotations

import httpx
import pytest

ODD_SLUGS = ["a%00b", "%00", "caf%C3%A9", "Jazz-Night", "a" * 97, "-a", "a%20b", "a_b"]


@pytest.mark.parametrize("page", ["live", "seats"])
@pytest.mark.parametrize("slug", ODD_SLUGS)
async def test_what_cannot_be_a_slug_is_not_found(
    client: httpx.AsyncClient, page: str, slug: str
) -> None:
    response = await client.get(f"/events/{slug}/{page}")

    assert response.status_code == 404
    assert response.headers["cache-control"] == "no-store"
