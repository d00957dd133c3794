"""docs/webhooks.md lists the `data` fields of each event type; every type is driven here
through the API and the outbox rows it wrote (what webhooks send) must carry exactly those
fields, money as integer minor units."""

from __future__ import annotations

import json
import re
import uuid
from collections import defaultdict
from typing import Any

import httpx
from sqlalchemy import select

from server.app_state import AppState
from server.config import Settings
from server.db import Database
from server.outbox.models import OutboxEvent
from server.payments import test_provider
from server.waitlist.jobs import serve_waitlists
from server.webhooks.fanout import event_body
from tests.docs.markdown import ROOT, section, table_rows
from tests.schema.tickets.helpers import accept, check_in, my_tickets, transfer
from tests.support import commerce, factories
from tests.support.gql import GraphQLClient
from tests.support.waitlist import cancel, join, sell_out

PAYLOADS = section(ROOT / "docs" / "webhooks.md", "## Payloads by event type")
NAME = re.compile(r"`([a-zA-Z_.]+)`")
MONEY = {"subtotal", "discount", "fees", "total", "refunded", "refundAmount"}

REFUND = """
mutation($input: RefundOrderInput!) { refundOrder(input: $input) { errors { code message } } }
"""
CANCEL_ORDER = "mutation($id: ID!) { cancelOrder(id: $id) { errors { code message } } }"
CANCEL_EVENT = """
mutation($id: ID!) { cancelEvent(id: $id, reason: "Flooded venue") { errors { code message } } }
"""


def documented() -> dict[str, set[str]]:
    """Each event type in the first table and its `data` fields."""
    rows = table_rows(PAYLOADS)
    header = rows[0]
    assert header[0] == "type", header
    types: dict[str, set[str]] = {}
    for cells in rows[2:]:
        if cells[0] == "field":  # the second table starts
            break
        for event_type in NAME.findall(cells[0]):
            types[event_type] = set(NAME.findall(cells[-1]))
    return types


async def emitted(db: Database, organization_id: str) -> dict[str, list[dict[str, Any]]]:
    async with db.read() as session:
        rows = await session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.organization_id == uuid.UUID(organization_id))
            .order_by(OutboxEvent.sequence)
        )
        bodies = [event_body(row) for row in rows]
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for body in bodies:
        assert set(body) == {"id", "type", "createdAt", "organizationId", "data"}
        found[body["type"]].append(json.loads(json.dumps(body["data"])))
    return found


async def test_every_event_type_sends_the_documented_fields(
    gql: GraphQLClient,
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    state: AppState,
) -> None:
    sale = await commerce.sale(gql, quantity=20, price="25.00")
    owner = sale.org.owner.token
    buyer = await factories.register(gql)
    placed = (await commerce.order(gql, sale, 2, token=buyer.token))["order"]
    payment = await commerce.pay_with_test(gql, client, placed["id"], token=buyer.token)
    tickets = await my_tickets(gql, buyer)
    assert (await check_in(gql, tickets[0]["qrCode"], token=owner))["errors"] == []
    friend = await factories.register(gql)
    offered = await transfer(gql, buyer, tickets[1]["id"], friend.email)
    assert (await accept(gql, friend, offered["transfer"]["acceptToken"]))["errors"] == []
    refund = {"orderId": placed["id"], "amount": {"amount": "10.00", "currency": "USD"}}
    assert (await gql(REFUND, {"input": refund}, token=owner))["refundOrder"]["errors"] == []
    intent = test_provider.TestIntent(
        payment["clientSecret"].split("_secret_")[0], payment["reference"], 5000, "USD"
    )
    body = json.dumps(test_provider.build_event("dispute.opened", intent)).encode()
    signature = test_provider.sign_payload(body, test_provider.signing_key(settings))
    disputed = await client.post(
        "/webhooks/test", content=body, headers={"X-Test-Signature": signature}
    )
    assert disputed.json()["outcome"] == "applied", disputed.text
    unpaid = (await commerce.order(gql, sale, 1, token=buyer.token))["order"]
    assert (await gql(CANCEL_ORDER, {"id": unpaid["id"]}, token=buyer.token))["cancelOrder"][
        "errors"
    ] == []
    waitlisted = await commerce.sale(
        gql, sale.org, quantity=1, ticket_type={"waitlistEnabled": True}
    )
    [held] = await sell_out(gql, waitlisted, 1)
    assert (await join(gql, waitlisted, email="next@example.com"))["errors"] == []
    await cancel(gql, waitlisted, held)
    assert await serve_waitlists(state) == 1
    assert (await gql(CANCEL_EVENT, {"id": sale.event_id}, token=owner))["cancelEvent"][
        "errors"
    ] == []

    sent = await emitted(db, sale.org.id)
    docs = documented()
    # Every documented type was driven, except the dispute outcomes (the same fields as
    # order.dispute_open, from the same line of code).
    assert sorted(set(docs) - set(sent)) == ["order.dispute_lost", "order.dispute_won"]
    assert sorted(set(sent) - set(docs)) == []
    for event_type, payloads in sent.items():
        for data in payloads:
            assert set(data) == docs[event_type], event_type
            money = {k: v for k, v in data.items() if k in MONEY}
            assert all(type(v) is int for v in money.values()), (event_type, money)
    confirmed = sent["order.confirmed"][0]
    assert (confirmed["currency"], confirmed["total"], confirmed["status"]) == (
        "USD",
        5000,
        "CONFIRMED",
    )
    assert sent["order.refunded"][0]["refundAmount"] == 1000
