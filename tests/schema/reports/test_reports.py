from __future__ import annotations

import asyncio
import csv
import io
import tracemalloc
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from server.clock import utcnow
from server.config import Settings
from server.db import Database
from server.reports.service import build_report
from server.storage import storage_for
from tests.support import commerce, factories
from tests.support.gql import GraphQLClient, payload_errors

REQUEST = """
mutation($e: ID!, $k: ReportKind!) { requestReport(eventId: $e, kind: $k) {
  report { id status kind progress downloadUrl } errors { field code } } }
"""
REPORT = (
    "query($id: ID!) { report(id: $id) { status rowsDone rowsTotal progress size downloadUrl } }"
)


async def _build(db: Database, settings: Settings, report_id: str) -> None:
    await build_report(
        db,
        storage_for(settings),
        report_id=uuid.UUID(report_id),
        work_dir=settings.data_dir / "assets" / "reports",
        now=utcnow(),
    )


async def _csv(client: httpx.AsyncClient, url: str, token: str) -> list[list[str]]:
    response = await client.get(url, headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    return list(csv.reader(io.StringIO(response.text)))


async def test_a_manager_gets_an_orders_csv_and_an_attendees_csv(
    gql: GraphQLClient, client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    cast = await factories.cast(gql)
    sale = await commerce.sale(gql, cast.org, quantity=20, price="15.00")
    buyer = await factories.register(gql)
    paid = (await commerce.order(gql, sale, 2, token=buyer.token))["order"]
    await commerce.pay_with_test(gql, client, paid["id"], token=buyer.token)
    await commerce.order(gql, sale, 1)  # pending

    orders = (
        await gql(REQUEST, {"e": sale.event_id, "k": "ORDERS_CSV"}, token=cast.manager.token)
    )["requestReport"]
    attendees = (
        await gql(REQUEST, {"e": sale.event_id, "k": "ATTENDEES_CSV"}, token=cast.manager.token)
    )["requestReport"]
    assert (orders["report"]["status"], orders["report"]["downloadUrl"]) == ("QUEUED", None)
    await _build(db, settings, orders["report"]["id"])
    await _build(db, settings, attendees["report"]["id"])

    done = (await gql(REPORT, {"id": orders["report"]["id"]}, token=cast.manager.token))["report"]
    assert (done["status"], done["rowsDone"], done["rowsTotal"], done["progress"]) == (
        "DONE",
        2,
        2,
        1.0,
    )
    rows = await _csv(client, done["downloadUrl"], cast.manager.token)
    assert rows[0][:4] == ["order_id", "created_at", "status", "buyer_email"]
    assert sorted(r[2] for r in rows[1:]) == ["CONFIRMED", "PENDING"]
    confirmed = next(r for r in rows[1:] if r[2] == "CONFIRMED")
    assert (confirmed[0], confirmed[3], confirmed[5], confirmed[9]) == (
        paid["id"],
        buyer.email,
        "2",
        "30.00",
    )
    people = await _csv(client, f"/reports/{attendees['report']['id']}/download", cast.owner.token)
    assert len(people) == 3 and {r[1] for r in people[1:]} == {buyer.email}


async def test_a_sales_summary_counts_tickets_and_gross_per_ticket_type(
    gql: GraphQLClient, client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    sale = await commerce.sale(gql, quantity=20, price="10.00")
    buyer = await factories.register(gql)
    order = (await commerce.order(gql, sale, 3, token=buyer.token))["order"]
    await commerce.pay_with_test(gql, client, order["id"], token=buyer.token)

    requested = (
        await gql(REQUEST, {"e": sale.event_id, "k": "SALES_SUMMARY"}, token=sale.org.owner.token)
    )["requestReport"]
    await _build(db, settings, requested["report"]["id"])
    rows = await _csv(
        client, f"/reports/{requested['report']['id']}/download", sale.org.owner.token
    )

    assert rows[0] == [
        "ticket_type",
        "currency",
        "tickets_sold",
        "gross",
        "tickets_refunded",
        "tickets_pending",
    ]
    assert rows[1][1:] == ["USD", "3", "30.00", "0", "0"]


async def test_reports_are_for_the_organizations_managers_only(
    gql: GraphQLClient, client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    cast = await factories.cast(gql)
    sale = await commerce.sale(gql, cast.org)
    variables = {"e": sale.event_id, "k": "ORDERS_CSV"}

    staff = await gql.errors(REQUEST, variables, token=cast.staff.token)
    outsider = await gql(REQUEST, variables, token=cast.outsider.token)
    anonymous = await gql.errors(REQUEST, variables)
    made = (await gql(REQUEST, variables, token=cast.manager.token))["requestReport"]["report"]
    await _build(db, settings, made["id"])
    url = f"/reports/{made['id']}/download"

    assert staff[0]["extensions"]["code"] == "FORBIDDEN"
    assert payload_errors(outsider["requestReport"]) == [("NOT_FOUND", ["eventId"])]
    assert anonymous[0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert (await client.get(url)).status_code == 401
    assert (
        await client.get(url, headers={"authorization": f"Bearer {cast.outsider.token}"})
    ).status_code == 404
    assert (
        await client.get(url, headers={"authorization": f"Bearer {cast.staff.token}"})
    ).status_code == 403
    assert (await gql(REPORT, {"id": made["id"]}, token=cast.outsider.token))["report"] is None


REPORTS = "query($e: ID!) { reports(eventId: $e) { id kind } }"


async def test_an_events_reports_are_listed_for_its_managers_only(gql: GraphQLClient) -> None:
    cast = await factories.cast(gql)
    sale = await commerce.sale(gql, cast.org)
    made = (await gql(REQUEST, {"e": sale.event_id, "k": "SALES_SUMMARY"}, token=cast.owner.token))[
        "requestReport"
    ]["report"]

    listed = await gql(REPORTS, {"e": sale.event_id}, token=cast.manager.token)
    staff = await gql.errors(REPORTS, {"e": sale.event_id}, token=cast.staff.token)
    outsider = await gql.errors(REPORTS, {"e": sale.event_id}, token=cast.outsider.token)
    missing = await gql.errors(REPORTS, {"e": str(uuid.uuid4())}, token=cast.manager.token)

    assert listed["reports"] == [{"id": made["id"], "kind": "SALES_SUMMARY"}]
    assert staff[0]["extensions"]["code"] == "FORBIDDEN"
    assert outsider[0]["extensions"]["code"] == "NOT_FOUND"
    assert missing[0]["extensions"]["code"] == "NOT_FOUND"


@pytest.mark.slow
async def test_100000_orders_stream_in_modest_memory_with_visible_progress(
    gql: GraphQLClient, client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    sale = await commerce.sale(gql, quantity=10)
    async with db.transaction() as session:
        await session.execute(
            text(
                """
                INSERT INTO orders (id, organization_id, event_id, occurrence_id, buyer_email, status, currency,
                                    subtotal_minor, discount_minor, platform_fee_minor, provider_fee_minor,
                                    fees_minor, total_minor, created_at, updated_at)
                SELECT gen_random_uuid(), :org, :event, :occurrence, 'buyer' || n || '@example.com', 'confirmed',
                       'USD', 2500, 0, 0, 0, 0, 2500, now(), now()
                FROM generate_series(1, 100000) AS n
                """
            ),
            {"org": sale.org.id, "event": sale.event_id, "occurrence": sale.occurrence_ids[0]},
        )
    requested = (
        await gql(REQUEST, {"e": sale.event_id, "k": "ORDERS_CSV"}, token=sale.org.owner.token)
    )["requestReport"]
    report_id = requested["report"]["id"]
    seen: list[int] = []

    async def watch() -> None:
        while True:
            row = (await gql(REPORT, {"id": report_id}, token=sale.org.owner.token))["report"]
            seen.append(row["rowsDone"])
            if row["status"] == "DONE":
                return
            await asyncio.sleep(0.05)

    tracemalloc.start()
    await asyncio.gather(_build(db, settings, report_id), watch())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    assert seen[-1] == 100_000
    assert any(0 < rows < 100_000 for rows in seen)  # progress was visible while it ran
    assert peak < 40 * 2**20  # Python allocations while building: far below holding 100,000 rows
    done = (await gql(REPORT, {"id": report_id}, token=sale.org.owner.token))["report"]
    response = await client.get(
        done["downloadUrl"], headers={"authorization": f"Bearer {sale.org.owner.token}"}
    )
    assert response.text.count("\n") == 100_001
    assert Path(settings.data_dir / "assets" / "reports").exists()
