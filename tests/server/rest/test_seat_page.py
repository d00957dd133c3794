"""`GET /events/{slug}/seats` over HTTP: what the page names and how it is served (its
behaviour in a browser is tests/browser/test_seat_picker.py)."""

from __future__ import annotations

import json
import re

import httpx
from sqlalchemy import text

from server.db import Database
from tests.support import commerce
from tests.support.gql import GraphQLClient


async def test_the_page_names_the_seated_types_and_links_only_static_files(
    gql: GraphQLClient, client: httpx.AsyncClient
) -> None:
    sale = await commerce.seated_sale(gql, seats={"A": (1, 2), "B": (1, 1)}, price="12.50")
    await commerce.add_ticket_type(gql, sale, quantity=1, visibility="PRIVATE", sections=["B"])

    response = await client.get(f"/events/{sale.slug}/seats")

    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "unsafe" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    raw = re.search(r'<script type="application/json" id="page-data">(.*?)</script>', response.text)
    assert raw is not None
    data = json.loads(raw.group(1))
    assert data["eventId"] == sale.event_id
    assert list(data["dates"]) == sale.occurrence_ids
    assert [(t["id"], t["price"], t["sections"]) for t in data["ticketTypes"]] == [
        (sale.ticket_type_id, "12.50", ["A", "B"])
    ]  # the private type is not offered
    assert data["testPayments"] is True
    for link in re.findall(r'(?:src|href)="([^"]+)"', response.text):
        assert link.startswith("/static/"), link
        assert (await client.get(link)).status_code == 200


async def test_no_picker_for_general_admission_drafts_or_unknown_events(
    gql: GraphQLClient, client: httpx.AsyncClient
) -> None:
    general = await commerce.sale(gql)
    draft = await commerce.seated_sale(gql, seats={"A": (1, 1)}, publish=False)
    for slug in (general.slug, draft.slug, "no-such-event", "x" * 200):
        response = await client.get(f"/events/{slug}/seats")
        assert response.status_code == 404, slug
        assert response.text == "No such event, or it has no seats to choose."


async def test_only_dates_still_to_come_are_offered(
    gql: GraphQLClient, client: httpx.AsyncClient, db: Database
) -> None:
    sale = await commerce.seated_sale(gql, seats={"A": (1, 2)}, dates=2)
    past, coming = sale.occurrence_ids
    async with db.transaction() as session:
        await session.execute(
            text(
                "UPDATE event_occurrences SET starts_at = now() - interval '3 hours', "
                "ends_at = now() - interval '1 hour' WHERE id = :id"
            ),
            {"id": past},
        )

    response = await client.get(f"/events/{sale.slug}/seats")
    raw = re.search(r'id="page-data">(.*?)</script>', response.text)
    assert raw is not None
    assert list(json.loads(raw.group(1))["dates"]) == [coming]

    async with db.transaction() as session:
        await session.execute(
            text(
                "UPDATE event_occurrences SET starts_at = now() - interval '3 hours', "
                "ends_at = now() - interval '1 hour' WHERE id = :id"
            ),
            {"id": coming},
        )
    assert (await client.get(f"/events/{sale.slug}/seats")).status_code == 404
