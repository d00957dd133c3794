"""Transfers through the API: the holder offers, the recipient (signed in with that
email) accepts, ownership moves and the old code stops working."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import text

from server.clock import utcnow
from server.config import Settings
from server.db import Database
from server.jobs import queues
from tests.schema.tickets.helpers import (
    CANCEL_TRANSFER,
    accept,
    check_in,
    my_tickets,
    purchase,
    transfer,
)
from tests.support import factories
from tests.support.gql import GraphQLClient, payload_errors
from tests.support.jobs import run_jobs


async def _statuses(db: Database, sql: str, **params: str) -> list[str]:
    async with db.read() as session:
        return [str(s) for s in (await session.scalars(text(sql), params)).all()]


async def test_an_accepted_transfer_moves_the_ticket_and_retires_the_old_code(
    gql: GraphQLClient, client: httpx.AsyncClient, db: Database
) -> None:
    bought = await purchase(gql, client)
    friend = await factories.register(gql)
    old = bought.ticket

    offered = await transfer(gql, bought.buyer, old["id"], friend.email.upper())
    accepted = await accept(gql, friend, offered["transfer"]["acceptToken"])

    assert offered["errors"] == []
    assert offered["transfer"]["status"] == "PENDING"
    assert offered["transfer"]["recipientEmail"] == friend.email
    assert offered["transfer"]["ticket"]["id"] == old["id"]
    assert accepted["errors"] == []
    moved = accepted["transfer"]
    assert (moved["status"], moved["acceptToken"], moved["acceptedAt"] is not None) == (
        "ACCEPTED",
        None,
        True,
    )
    new = moved["ticket"]
    assert new["id"] != old["id"]
    assert (new["status"], new["holderEmail"]) == ("VALID", friend.email)
    assert new["qrCode"] != old["qrCode"]
    assert (new["ticketType"], new["occurrence"]) == (old["ticketType"], old["occurrence"])

    assert [(t["id"], t["status"]) for t in await my_tickets(gql, bought.buyer)] == [
        (old["id"], "TRANSFERRED")
    ]
    assert [(t["id"], t["status"]) for t in await my_tickets(gql, friend)] == [(new["id"], "VALID")]
    owner = bought.sale.org.owner.token
    refused = await check_in(gql, old["qrCode"], token=owner)
    assert payload_errors(refused) == [("INVALID_STATE", ["qrCode"])]
    assert "transferred" in refused["errors"][0]["message"]
    admitted = await check_in(gql, new["qrCode"], token=owner)
    assert admitted["errors"] == [] and admitted["ticket"]["id"] == new["id"]

    async with db.read() as session:
        event = (
            await session.execute(
                text(
                    "SELECT organization_id::text, payload FROM outbox_events "
                    "WHERE event_type = 'ticket.transferred'"
                )
            )
        ).one()
    assert event.organization_id == bought.sale.org.id
    assert (event.payload["ticketId"], event.payload["newTicketId"]) == (old["id"], new["id"])
    assert event.payload["toEmail"] == friend.email


async def test_the_recipient_is_invited_by_mail_with_the_accept_link(
    gql: GraphQLClient, client: httpx.AsyncClient, settings: Settings, redis: object
) -> None:
    bought = await purchase(gql, client)
    recipient = factories.unique_email("friend")
    mail_dir = settings.data_dir / "mail"
    before = set(mail_dir.glob("*")) if mail_dir.exists() else set()

    offered = await transfer(gql, bought.buyer, bought.ticket["id"], recipient)
    await run_jobs(settings, redis, only=[queues.MAIL])  # type: ignore[arg-type]

    sent = [p for p in mail_dir.glob("*") if p not in before]
    texts = [p.read_text(errors="replace") for p in sent]
    mine = [t for t in texts if recipient in t]
    assert len(mine) == 1
    token = offered["transfer"]["acceptToken"]
    assert "transfers/accept?token=" in mine[0] and token[:20] in mine[0].replace("=\n", "")


async def test_only_the_holder_may_transfer(
    gql: GraphQLClient, client: httpx.AsyncClient, db: Database
) -> None:
    bought = await purchase(gql, client)
    ticket_id = bought.ticket["id"]
    staff = await factories.add_member(gql, bought.sale.org, "STAFF")
    stranger = await factories.register(gql)
    key = await factories.create_api_key(gql, bought.sale.org, ["orders:write", "orders:read"])
    query = """
    mutation($input: TransferTicketInput!) { transferTicket(input: $input) { errors { code } } }
    """
    variables = {"input": {"ticketId": ticket_id, "recipientEmail": "x@example.com"}}

    assert await gql.error_code(query, variables) == "UNAUTHENTICATED"
    assert await gql.error_code(query, variables, api_key=key) == "FORBIDDEN"
    assert await gql.error_code(query, variables, token=staff.token) == "FORBIDDEN"
    assert payload_errors(await transfer(gql, stranger, ticket_id, "x@example.com")) == [
        ("NOT_FOUND", ["ticketId"])
    ]
    assert await _statuses(db, "SELECT status::text FROM ticket_transfers") == []


async def test_transfer_rules_refuse_clearly_and_change_nothing(
    gql: GraphQLClient, client: httpx.AsyncClient, db: Database
) -> None:
    bought = await purchase(gql, client, quantity=3)
    [first, second, third] = [t["id"] for t in bought.tickets]
    owner = bought.sale.org.owner.token
    await check_in(gql, bought.tickets[2]["qrCode"], token=owner)
    pending = await transfer(gql, bought.buyer, second, "a@example.com")
    assert pending["errors"] == []

    cases = {
        "own email": await transfer(gql, bought.buyer, first, bought.buyer.email),
        "bad email": await transfer(gql, bought.buyer, first, "not-an-email"),
        "malformed id": await transfer(gql, bought.buyer, "nope", "b@example.com"),
        "unknown id": await transfer(
            gql, bought.buyer, "01a21299-913e-7233-80f3-185623384b5e", "b@example.com"
        ),
        "already offered": await transfer(gql, bought.buyer, second, "c@example.com"),
        "used": await transfer(gql, bought.buyer, third, "d@example.com"),
    }

    assert {name: payload_errors(r) for name, r in cases.items()} == {
        "own email": [("VALIDATION", ["recipientEmail"])],
        "bad email": [("VALIDATION", ["recipientEmail"])],
        "malformed id": [("VALIDATION", ["ticketId"])],
        "unknown id": [("NOT_FOUND", ["ticketId"])],
        "already offered": [("CONFLICT", ["ticketId"])],
        "used": [("INVALID_STATE", ["ticketId"])],
    }
    assert await _statuses(db, "SELECT status::text FROM ticket_transfers") == ["pending"]


async def test_an_event_that_forbids_transfers_refuses_them(
    gql: GraphQLClient, client: httpx.AsyncClient
) -> None:
    bought = await purchase(gql, client, event={"policies": {"transferAllowed": False}})

    result = await transfer(gql, bought.buyer, bought.ticket["id"], "a@example.com")

    assert payload_errors(result) == [("INVALID_STATE", ["ticketId"])]
    assert result["errors"][0]["message"] == "This event does not allow ticket transfers."


async def test_no_transfer_once_the_date_has_started(
    gql: GraphQLClient, client: httpx.AsyncClient, db: Database
) -> None:
    bought = await purchase(gql, client)
    async with db.transaction() as session:
        await session.execute(
            text("UPDATE event_occurrences SET starts_at = :at WHERE id = :id"),
            {"at": utcnow() - timedelta(minutes=5), "id": bought.sale.occurrence_ids[0]},
        )

    result = await transfer(gql, bought.buyer, bought.ticket["id"], "a@example.com")

    assert payload_errors(result) == [("INVALID_STATE", ["ticketId"])]


async def test_only_the_recipient_accepts_and_only_once(
    gql: GraphQLClient, client: httpx.AsyncClient, db: Database
) -> None:
    bought = await purchase(gql, client)
    friend = await factories.register(gql)
    stranger = await factories.register(gql)
    token = (await transfer(gql, bought.buyer, bought.ticket["id"], friend.email))["transfer"][
        "acceptToken"
    ]
    query = "mutation($t: String!) { acceptTransfer(token: $t) { errors { code } } }"

    assert await gql.error_code(query, {"t": token}) == "UNAUTHENTICATED"
    assert await gql.error_code(query, {"t": token}, token=stranger.token) == "FORBIDDEN"
    assert await gql.error_code(query, {"t": token}, token=bought.buyer.token) == "FORBIDDEN"
    assert payload_errors(await accept(gql, friend, token + "x")) == [("NOT_FOUND", ["token"])]
    assert await _statuses(db, "SELECT status::text FROM tickets") == ["valid"]

    assert (await accept(gql, friend, token))["errors"] == []
    assert payload_errors(await accept(gql, friend, token)) == [("INVALID_STATE", ["token"])]
    assert sorted(await _statuses(db, "SELECT status::text FROM tickets")) == [
        "transferred",
        "valid",
    ]


async def test_the_sender_cancels_before_acceptance_and_the_token_stops_working(
    gql: GraphQLClient, client: httpx.AsyncClient, db: Database
) -> None:
    bought = await purchase(gql, client)
    friend = await factories.register(gql)
    offered = (await transfer(gql, bought.buyer, bought.ticket["id"], friend.email))["transfer"]

    by_friend = await gql(CANCEL_TRANSFER, {"id": offered["id"]}, token=friend.token)
    cancelled = await gql(CANCEL_TRANSFER, {"id": offered["id"]}, token=bought.buyer.token)
    again = await gql(CANCEL_TRANSFER, {"id": offered["id"]}, token=bought.buyer.token)
    late = await accept(gql, friend, offered["acceptToken"])

    assert payload_errors(by_friend["cancelTransfer"]) == [("NOT_FOUND", ["id"])]
    assert cancelled["cancelTransfer"]["errors"] == []
    assert cancelled["cancelTransfer"]["transfer"]["status"] == "CANCELLED"
    assert cancelled["cancelTransfer"]["transfer"]["ticket"]["status"] == "VALID"
    assert payload_errors(again["cancelTransfer"]) == [("INVALID_STATE", ["id"])]
    assert payload_errors(late) == [("INVALID_STATE", ["token"])]
    assert await _statuses(db, "SELECT status::text FROM tickets") == ["valid"]
    # A new offer is possible again.
    assert (await transfer(gql, bought.buyer, bought.ticket["id"], friend.email))["errors"] == []


async def test_an_offer_lapses_when_the_date_starts(
    gql: GraphQLClient, client: httpx.AsyncClient, db: Database
) -> None:
    bought = await purchase(gql, client)
    friend = await factories.register(gql)
    token = (await transfer(gql, bought.buyer, bought.ticket["id"], friend.email))["transfer"][
        "acceptToken"
    ]
    async with db.transaction() as session:
        await session.execute(
            text("UPDATE ticket_transfers SET expires_at = :at"),
            {"at": utcnow() - timedelta(seconds=1)},
        )

    result = await accept(gql, friend, token)

    assert payload_errors(result) == [("EXPIRED", ["token"])]
    assert await _statuses(db, "SELECT status::text FROM tickets") == ["valid"]


async def test_a_refund_withdraws_a_pending_transfer(
    gql: GraphQLClient, client: httpx.AsyncClient, db: Database
) -> None:
    bought = await purchase(gql, client)
    friend = await factories.register(gql)
    token = (await transfer(gql, bought.buyer, bought.ticket["id"], friend.email))["transfer"][
        "acceptToken"
    ]
    refund = await gql(
        "mutation($input: RefundOrderInput!) { refundOrder(input: $input) { errors { code } } }",
        {"input": {"orderId": bought.order_id}},
        token=bought.sale.org.owner.token,
    )
    assert refund["refundOrder"]["errors"] == []

    result = await accept(gql, friend, token)

    assert payload_errors(result) == [("INVALID_STATE", ["token"])]
    assert await _statuses(db, "SELECT status::text FROM ticket_transfers") == ["cancelled"]
    assert await _statuses(db, "SELECT status::text FROM tickets") == ["cancelled"]


async def test_accepting_and_cancelling_need_a_signed_in_person_and_a_well_formed_input(
    gql: GraphQLClient, client: httpx.AsyncClient, db: Database
) -> None:
    bought = await purchase(gql, client)
    key = await factories.create_api_key(gql, bought.sale.org, ["orders:write"])
    offered = (await transfer(gql, bought.buyer, bought.ticket["id"], "x@example.com"))["transfer"]
    accept_query = "mutation($t: String!) { acceptTransfer(token: $t) { errors { code } } }"
    cancel_query = "mutation($id: ID!) { cancelTransfer(id: $id) { errors { code } } }"
    token = {"t": offered["acceptToken"]}

    assert await gql.error_code(accept_query, token, api_key=key) == "FORBIDDEN"
    assert await gql.error_code(cancel_query, {"id": offered["id"]}) == "UNAUTHENTICATED"
    assert await gql.error_code(cancel_query, {"id": offered["id"]}, api_key=key) == "FORBIDDEN"
    malformed = await gql(CANCEL_TRANSFER, {"id": "nope"}, token=bought.buyer.token)
    unknown = await gql(
        CANCEL_TRANSFER,
        {"id": "01a21299-913e-7233-80f3-185623384b5e"},
        token=bought.buyer.token,
    )
    empty = await accept(gql, bought.buyer, "")

    assert payload_errors(malformed["cancelTransfer"]) == [("VALIDATION", ["id"])]
    assert payload_errors(unknown["cancelTransfer"]) == [("NOT_FOUND", ["id"])]
    assert payload_errors(empty) == [("NOT_FOUND", ["token"])]
    assert await _statuses(db, "SELECT status::text FROM ticket_transfers") == ["pending"]
