"""Tickets are issued when an order is paid: one per admission, each with a unique
signed QR code, visible to their holder."""

from __future__ import annotations

import httpx

from server.config import Settings
from server.tickets import qr
from tests.schema.tickets.helpers import purchase
from tests.support.gql import GraphQLClient


async def test_a_paid_order_gets_one_valid_ticket_per_admission(
    gql: GraphQLClient, client: httpx.AsyncClient, settings: Settings
) -> None:
    bought = await purchase(gql, client, quantity=3)

    assert len(bought.tickets) == 3
    assert {t["status"] for t in bought.tickets} == {"VALID"}
    assert {t["holderEmail"] for t in bought.tickets} == {bought.buyer.email}
    assert {t["ticketType"]["id"] for t in bought.tickets} == {bought.sale.ticket_type_id}
    assert {t["occurrence"]["id"] for t in bought.tickets} == {bought.sale.occurrence_ids[0]}
    assert all(t["seat"] is None and t["checkIns"] == [] for t in bought.tickets)
    codes = [t["qrCode"] for t in bought.tickets]
    assert len(set(codes)) == 3
    for ticket in bought.tickets:
        claims = qr.verify_issued(ticket["qrCode"], signing_key=settings.ticket_signing_key)
        assert str(claims.ticket_id) == ticket["id"]
        assert str(claims.event_id) == bought.sale.event_id
        assert str(claims.occurrence_id) == bought.sale.occurrence_ids[0]
