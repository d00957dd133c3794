"""`GET /events/{slug}/live`: public events only, public ticket types only, names escaped."""

from __future__ import annotations

import httpx

from tests.support import commerce
from tests.support.gql import GraphQLClient


async def test_a_public_event_gets_its_page_with_public_types_only(
    gql: GraphQLClient, client: httpx.AsyncClient
) -> None:
    sale = await commerce.sale(gql, quantity=10, event={"title": "Jazz <Night> & Day"})
    private = await commerce.add_ticket_type(gql, sale, visibility="PRIVATE", name="Backstage")
    response = await client.get(f"/events/{sale.slug}/live")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "<h1>Jazz &lt;Night&gt; &amp; Day</h1>" in page
    assert f'data-ticket-type="{sale.ticket_type_id}"' in page
    assert private not in page and "Backstage" not in page
    assert sale.event_id in page
    nonce = response.headers["content-security-policy"].split("'nonce-")[1].split("'")[0]
    assert f'<script nonce="{nonce}">' in page


async def test_drafts_and_unknown_slugs_are_not_found(
    gql: GraphQLClient, client: httpx.AsyncClient
) -> None:
    draft = await commerce.sale(gql, publish=False)
    for slug in (draft.slug, "no-such-event", "x" * 200):
        response = await client.get(f"/events/{slug}/live")
        assert response.status_code == 404, slug
        assert response.text == "No such event."
