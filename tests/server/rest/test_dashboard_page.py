"""`GET /organizations/{organization}/events/{event}/dashboard` over HTTP: the same shell
for any well-formed slugs (it reads nothing, so it tells nothing), served strictly (its
behaviour in a browser is tests/browser/test_dashboard.py)."""

from __future__ import annotations

import re

import httpx

from tests.support import commerce
from tests.support.gql import GraphQLClient


def _without_data(page: str) -> str:
    return re.sub(r'<script type="application/json" id="page-data">.*?</script>', "", page)


async def test_a_real_and_an_unknown_event_get_the_same_page(
    gql: GraphQLClient, client: httpx.AsyncClient
) -> None:
    sale = await commerce.sale(gql, publish=False)
    real = await client.get(f"/organizations/{sale.org.slug}/events/{sale.slug}/dashboard")
    unknown = await client.get("/organizations/nobody/events/nothing/dashboard")

    for response in (real, unknown):
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"
        policy = response.headers["content-security-policy"]
        assert "script-src 'self';" in policy and "unsafe" not in policy
        assert "frame-ancestors 'none'" in policy
    assert _without_data(real.text) == _without_data(unknown.text)
    assert "Jazz Night" not in real.text
    assert f'"organization":"{sale.org.slug}","event":"{sale.slug}"' in real.text
    for link in re.findall(r'(?:src|href)="([^"]+)"', real.text):
        assert link.startswith("/static/"), link
        assert (await client.get(link)).status_code == 200


async def test_malformed_slugs_are_not_found(client: httpx.AsyncClient) -> None:
    for organization, event in (("Upper", "x"), ("a", "-dash"), ("a" * 97, "b"), ("a", "b%3Cc")):
        response = await client.get(f"/organizations/{organization}/events/{event}/dashboard")
        assert response.status_code == 404, (organization, event)
