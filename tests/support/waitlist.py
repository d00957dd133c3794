"""Waitlist operations through the API, shared by the waitlist and analytics tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from server.db import Database
from tests.support import commerce
from tests.support.gql import GraphQLClient

ENTRY_FIELDS = "id status position quantity email offerToken offerExpiresAt ticketType { id }"
JOIN = f"""
mutation($input: JoinWaitlistInput!) {{
  joinWaitlist(input: $input) {{ entry {{ {ENTRY_FIELDS} }} errors {{ field message code }} }}
}}
"""
LEAVE = f"""
mutation($id: ID!) {{
  leaveWaitlist(id: $id) {{ entry {{ {ENTRY_FIELDS} }} errors {{ field message code }} }}
}}
"""
REMOVE = f"""
mutation($id: ID!) {{
  removeWaitlistEntry(id: $id) {{ entry {{ {ENTRY_FIELDS} }} errors {{ field message code }} }}
}}
"""
OFFER = f"""
mutation($id: ID!) {{
  offerWaitlistEntry(id: $id) {{ entry {{ {ENTRY_FIELDS} }} errors {{ field message code }} }}
}}
"""
ENTRY = f"query($id: ID!) {{ waitlistEntry(id: $id) {{ {ENTRY_FIELDS} }} }}"
WAITLIST = f"""
query($ticketTypeId: ID!, $status: WaitlistStatus) {{
  waitlist(ticketTypeId: $ticketTypeId, status: $status) {{ {ENTRY_FIELDS} }}
}}
"""
MINE = f"query {{ myWaitlistEntries {{ {ENTRY_FIELDS} }} }}"
CANCEL = "mutation($id: ID!) { cancelOrder(id: $id) { order { status } errors { code } } }"


async def waitlisted_sale(
    gql: GraphQLClient, *, quantity: int = 2, ttl: int = 600, **ticket_type: Any
) -> commerce.Sale:
    return await commerce.sale(
        gql,
        quantity=quantity,
        ticket_type={
            "waitlistEnabled": True,
            "waitlistOfferTtl": ttl,
            "maxPerOrder": 4,
            **ticket_type,
        },
    )


async def join(
    gql: GraphQLClient,
    sale: commerce.Sale,
    *,
    email: str | None = None,
    token: str | None = None,
    quantity: int = 1,
    ticket_type_id: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "ticketTypeId": ticket_type_id or sale.ticket_type_id,
        "quantity": quantity,
    }
    if email is not None:
        body["email"] = email
    data = await gql(JOIN, {"input": body}, token=token)
    return dict(data["joinWaitlist"])


async def sell_out(gql: GraphQLClient, sale: commerce.Sale, quantity: int) -> list[str]:
    """Pending orders of one ticket each until the type is sold out; their ids."""
    ids = []
    for _ in range(quantity):
        placed = await commerce.order(gql, sale)
        assert placed["errors"] == [], placed["errors"]
        ids.append(placed["order"]["id"])
    return ids


async def cancel(gql: GraphQLClient, sale: commerce.Sale, order_id: str) -> None:
    data = await gql(CANCEL, {"id": order_id}, token=sale.org.owner.token)
    assert data["cancelOrder"]["errors"] == [], data["cancelOrder"]["errors"]


async def entry(gql: GraphQLClient, entry_id: str, token: str | None = None) -> dict[str, Any]:
    data = await gql(ENTRY, {"id": entry_id}, token=token)
    return dict(data["waitlistEntry"])


async def end_offers_now(db: Database) -> None:
    """Let every standing offer run out (as if its window had passed)."""
    async with db.transaction() as session:
        await session.execute(
            text(
                "UPDATE holds SET expires_at = now() - interval '1 second' "
                "WHERE id IN (SELECT hold_id FROM waitlist_entries WHERE status = 'offered')"
            )
        )
        await session.execute(
            text(
                "UPDATE waitlist_entries SET offer_expires_at = now() - interval '1 second' "
                "WHERE status = 'offered'"
            )
        )
