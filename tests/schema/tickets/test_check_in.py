"""checkIn through the API: who may scan, what a scan checks, and that a refused scan
changes nothing."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime

import httpx
from sqlalchemy import text

from server.config import Settings
from server.db import Database
from server.tickets import qr
from tests.schema.tickets.helpers import CHECK_IN, check_in, purchase
from tests.support import commerce, factories
from tests.support.gql import GraphQLClient, payload_errors


async def _state(db: Database, ticket_id: str) -> tuple[str, int, int]:
    """The ticket's status, its check-ins, and ticket.checkedin outbox rows about it."""
    async with db.read() as session:
        status = await session.scalar(
            text("SELECT status::text FROM tickets WHERE id = :id"), {"id": ticket_id}
        )
        check_ins = await session.scalar(
            text("SELECT count(*) FROM check_ins WHERE ticket_id = :id"), {"id": ticket_id}
        )
        outbox = await session.scalar(
            text(
                "SELECT count(*) FROM outbox_events WHERE event_type = 'ticket.checkedin' "
                "AND payload->>'ticketId' = :id"
            ),
            {"id": ticket_id},
        )
    return str(status), int(check_ins or 0), int(outbox or 0)


async def test_staff_check_a_ticket_in_and_it_becomes_used(
    gql: GraphQLClient, client: httpx.AsyncClient, db: Database
) -> None:
    bought = await purchase(gql, client)
    staff = await factories.add_member(gql, bought.sale.org, "STAFF")

    result = await check_in(gql, bought.ticket["qrCode"], token=staff.token, location="Gate 3")

    assert result["errors"] == []
    assert result["ticket"]["id"] == bought.ticket["id"]
    assert result["ticket"]["status"] == "USED"
    assert result["checkIn"]["location"] == "Gate 3"
    assert result["checkIn"]["occurrence"]["id"] == bought.sale.occurrence_ids[0]
    assert result["ticket"]["checkIns"] == [result["checkIn"]]
    assert await _state(db, bought.ticket["id"]) == ("used", 1, 1)
    async with db.read() as session:
        scanned_by = await session.scalar(
            text("SELECT scanned_by_user_id::text FROM check_ins WHERE ticket_id = :id"),
            {"id": bought.ticket["id"]},
        )
    assert scanned_by == staff.id


async def test_a_second_scan_is_already_checked_in_with_the_first_time(
    gql: GraphQLClient, client: httpx.AsyncClient, db: Database
) -> None:
    bought = await purchase(gql, client)
    staff = await factories.add_member(gql, bought.sale.org, "STAFF")
    first = await check_in(gql, bought.ticket["qrCode"], token=staff.token, location="Gate 1")

    second = await check_in(gql, bought.ticket["qrCode"], token=bought.sale.org.owner.token)

    first_at = first["checkIn"]["at"]
    assert payload_errors(second) == [("ALREADY_CHECKED_IN", ["qrCode"])]
    message = second["errors"][0]["message"]
    assert datetime.fromisoformat(first_at).isoformat() in message and "Gate 1" in message
    assert second["checkIn"] is None
    assert second["ticket"]["status"] == "USED"
    assert [c["at"] for c in second["ticket"]["checkIns"]] == [first_at]
    assert await _state(db, bought.ticket["id"]) == ("used", 1, 1)


async def test_managers_owners_and_checkin_keys_may_scan(
    gql: GraphQLClient, client: httpx.AsyncClient
) -> None:
    bought = await purchase(gql, client, quantity=3)
    manager = await factories.add_member(gql, bought.sale.org, "MANAGER")
    key = await factories.create_api_key(gql, bought.sale.org, ["checkin:write"])

    results = [
        await check_in(gql, bought.tickets[0]["qrCode"], token=manager.token),
        await check_in(gql, bought.tickets[1]["qrCode"], token=bought.sale.org.owner.token),
        await check_in(gql, bought.tickets[2]["qrCode"], api_key=key),
    ]

    assert [r["errors"] for r in results] == [[], [], []]
    assert [r["ticket"]["status"] for r in results] == ["USED"] * 3


async def test_who_may_not_scan_gets_the_usual_answers_and_nothing_changes(
    gql: GraphQLClient, client: httpx.AsyncClient, db: Database
) -> None:
    bought = await purchase(gql, client)
    code = bought.ticket["qrCode"]
    outsider = await factories.create_org(gql)
    events_key = await factories.create_api_key(gql, bought.sale.org, ["events:read"])
    outsider_key = await factories.create_api_key(gql, outsider, ["checkin:write"])
    variables = {"input": {"qrCode": code}}
    query = "mutation($input: CheckInInput!) { checkIn(input: $input) { errors { code } } }"

    assert await gql.error_code(query, variables) == "UNAUTHENTICATED"
    assert await gql.error_code(query, variables, api_key=events_key) == "FORBIDDEN"
    assert payload_errors(await check_in(gql, code, token=outsider.owner.token)) == [
        ("NOT_FOUND", ["qrCode"])
    ]
    assert payload_errors(await check_in(gql, code, api_key=outsider_key)) == [
        ("NOT_FOUND", ["qrCode"])
    ]
    # The holder is not staff: a buyer cannot admit themselves.
    assert payload_errors(await check_in(gql, code, token=bought.buyer.token)) == [
        ("NOT_FOUND", ["qrCode"])
    ]
    assert await _state(db, bought.ticket["id"]) == ("valid", 0, 0)


async def test_forged_tampered_and_foreign_codes_are_not_valid_tickets(
    gql: GraphQLClient, client: httpx.AsyncClient, db: Database
) -> None:
    bought = await purchase(gql, client)
    owner = bought.sale.org.owner.token
    code = bought.ticket["qrCode"]
    version, body, signature = code.split(".")
    tampered = f"{version}.{body[:-2]}{'B' if body[-2] != 'B' else 'C'}{body[-1]}.{signature}"
    claims = qr.QrClaims(
        uuid.UUID(bought.ticket["id"]),
        uuid.UUID(bought.sale.event_id),
        uuid.UUID(bought.sale.occurrence_ids[0]),
        qr.new_serial(),
    )
    other_key = qr.sign(claims, signing_key=b"k" * 32)

    for forged in ["", "not a ticket", "T1.x.y", tampered, other_key, code[:-1], code + "A"]:
        result = await check_in(gql, forged, token=owner)
        assert payload_errors(result) == [("VALIDATION", ["qrCode"])], forged
        assert result["errors"][0]["message"].startswith("This is not a valid ticket")

    assert await _state(db, bought.ticket["id"]) == ("valid", 0, 0)


async def test_a_code_signed_here_for_a_ticket_that_is_not_issued_is_not_found(
    gql: GraphQLClient, client: httpx.AsyncClient, settings: Settings
) -> None:
    bought = await purchase(gql, client)
    claims = qr.QrClaims(
        uuid.UUID(bought.ticket["id"]),
        uuid.UUID(bought.sale.event_id),
        uuid.UUID(bought.sale.occurrence_ids[0]),
        qr.new_serial(),  # not the ticket's serial: a code the server never handed out
    )
    unknown = qr.sign(claims, signing_key=settings.ticket_signing_key)

    result = await check_in(gql, unknown, token=bought.sale.org.owner.token)

    assert payload_errors(result) == [("NOT_FOUND", ["qrCode"])]


async def test_the_occurrence_must_be_the_tickets_own(
    gql: GraphQLClient, client: httpx.AsyncClient, db: Database
) -> None:
    bought = await purchase(gql, client, dates=2)
    other_event = await commerce.sale(gql, bought.sale.org)
    outsider_event = await commerce.sale(gql)
    owner = bought.sale.org.owner.token
    code = bought.ticket["qrCode"]

    cases = {
        "other date": bought.sale.occurrence_ids[1],
        "other event": other_event.occurrence_ids[0],
        "other organization": outsider_event.occurrence_ids[0],
        "unknown": "01a21299-913e-7233-80f3-185623384b5e",
        "malformed": "nope",
    }
    results = {
        name: await check_in(gql, code, token=owner, occurrence_id=occurrence)
        for name, occurrence in cases.items()
    }

    assert {name: payload_errors(r) for name, r in results.items()} == {
        "other date": [("VALIDATION", ["occurrenceId"])],
        "other event": [("VALIDATION", ["occurrenceId"])],
        "other organization": [("NOT_FOUND", ["occurrenceId"])],
        "unknown": [("NOT_FOUND", ["occurrenceId"])],
        "malformed": [("VALIDATION", ["occurrenceId"])],
    }
    assert results["other date"]["errors"][0]["message"].startswith(
        "This ticket is for another date"
    )
    assert results["other event"]["errors"][0]["message"] == "This ticket is for another event."
    assert await _state(db, bought.ticket["id"]) == ("valid", 0, 0)

    right = await check_in(gql, code, token=owner, occurrence_id=bought.sale.occurrence_ids[0])
    assert right["errors"] == []


async def test_a_refunded_orders_tickets_are_refused_at_the_gate(
    gql: GraphQLClient, client: httpx.AsyncClient, db: Database
) -> None:
    bought = await purchase(gql, client, quantity=2)
    owner = bought.sale.org.owner.token
    refund = await gql(
        "mutation($input: RefundOrderInput!) { refundOrder(input: $input) { errors { code } } }",
        {"input": {"orderId": bought.order_id}},
        token=owner,
    )
    assert refund["refundOrder"]["errors"] == []

    result = await check_in(gql, bought.ticket["qrCode"], token=owner)

    assert payload_errors(result) == [("INVALID_STATE", ["qrCode"])]
    assert "cancelled" in result["errors"][0]["message"]
    assert await _state(db, bought.ticket["id"]) == ("cancelled", 0, 0)


async def test_a_location_is_trimmed_and_optional(
    gql: GraphQLClient, client: httpx.AsyncClient
) -> None:
    bought = await purchase(gql, client, quantity=2)
    owner = bought.sale.org.owner.token

    blank = await check_in(gql, bought.tickets[0]["qrCode"], token=owner, location="   ")
    padded = await check_in(gql, "  " + bought.tickets[1]["qrCode"] + "\n", token=owner)

    assert blank["checkIn"]["location"] is None
    assert padded["errors"] == [] and padded["ticket"]["status"] == "USED"


async def test_concurrent_scans_share_transactions_and_each_ticket_is_admitted_once(
    gql: GraphQLClient, client: httpx.AsyncClient, db: Database
) -> None:
    bought = await purchase(gql, client, quantity=8)
    staff = await factories.add_member(gql, bought.sale.org, "STAFF")
    codes = [t["qrCode"] for t in bought.tickets]
    scans = [*codes, codes[0], codes[0], codes[1]]  # three repeats within the crowd

    answers = await asyncio.gather(
        *[
            gql(
                CHECK_IN,
                {"input": {"qrCode": code, "location": f"Gate {n % 3}"}},
                token=staff.token,
            )
            for n, code in enumerate(scans)
        ]
    )

    payloads = [a["checkIn"] for a in answers]
    admitted = [p for p in payloads if p["errors"] == []]
    repeated = [p for p in payloads if p["errors"]]
    assert len(admitted) == 8
    assert {p["ticket"]["id"] for p in admitted} == {t["id"] for t in bought.tickets}
    assert [e["code"] for p in repeated for e in p["errors"]] == ["ALREADY_CHECKED_IN"] * 3
    assert all(
        p["ticket"]["status"] == "USED" and len(p["ticket"]["checkIns"]) == 1 for p in repeated
    )
    async with db.read() as session:
        rows, transactions = (
            await session.execute(
                text("SELECT count(*), count(DISTINCT xmin::text) FROM check_ins")
            )
        ).one()
        events = await session.scalar(
            text("SELECT count(*) FROM outbox_events WHERE event_type = 'ticket.checkedin'")
        )
    assert rows == events == 8
    assert transactions < rows
