"""Every query and mutation that takes an id, asked by an anonymous caller: a real id of
someone's private data and a random id get the same answer, so ids cannot be probed."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx
import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    get_named_type,
)
from sqlalchemy import text

from schema.api import schema
from server.app_state import AppState
from server.config import Settings
from server.jobs.dispatch import dispatch_outbox
from tests.schema.tickets import helpers as tickets
from tests.support import commerce, factories, waitlist
from tests.support.gql import GraphQLClient
from tests.support.jobs import job_context

# Which table a bare `id` argument (or input field) names, by operation.
ID_TABLES = {
    "organization": "organizations",
    "deleteOrganization": "organizations",
    "seatmap": "seatmaps",
    "event": "events",
    "updateEvent": "events",
    "publishEvent": "events",
    "cancelEvent": "events",
    "completeEvent": "events",
    "order": "orders",
    "cancelOrder": "orders",
    "report": "reports",
    "revokeApiKey": "api_keys",
    "releaseHold": "holds",
    "cancelTransfer": "ticket_transfers",
    "deleteWebhook": "webhook_endpoints",
    "redeliverWebhookDelivery": "webhook_deliveries",
    "updateTicketType": "ticket_types",
    "waitlistEntry": "waitlist_entries",
    "leaveWaitlist": "waitlist_entries",
    "removeWaitlistEntry": "waitlist_entries",
    "offerWaitlistEntry": "waitlist_entries",
}
NAMED_TABLES = {
    "organizationId": "organizations",
    "eventId": "events",
    "occurrenceId": "event_occurrences",
    "orderId": "orders",
    "seatmapId": "seatmaps",
    "ticketId": "tickets",
    "ticketTypeId": "ticket_types",
    "userId": "users",
    "venueId": "venues",
    "seatIds": "event_seats",
}
MY_TICKET_IDS = "{ myTickets { id } }"
HOLD = "mutation($i: CreateHoldInput!) { createHold(input: $i) { errors { code } } }"
REPORT = "mutation($e: ID!, $k: ReportKind!) { requestReport(eventId: $e, kind: $k) { errors { code } } }"
WEBHOOK = "mutation($i: CreateWebhookInput!) { createWebhook(input: $i) { errors { code } } }"

# Private rows: a draft event and what hangs off it, a signed-in buyer's order.
PICK = {
    "events": "SELECT id FROM events WHERE status = 'draft'",
    "event_occurrences": "SELECT o.id FROM event_occurrences o JOIN events e"
    " ON e.id = o.event_id WHERE e.status = 'draft'",
    "ticket_types": "SELECT t.id FROM ticket_types t JOIN events e ON e.id = t.event_id"
    " WHERE e.status = 'draft'",
}
OPERATIONS = [
    (kind, name, field)
    for kind, root in (
        ("query", schema._schema.query_type),
        ("mutation", schema._schema.mutation_type),
    )
    if root is not None
    for name, field in root.fields.items()
]


def takes_an_id(field: GraphQLField) -> bool:
    def has(t: Any, seen: frozenset[str]) -> bool:
        named = get_named_type(t)
        if named.name == "ID":
            return True
        if isinstance(named, GraphQLInputObjectType) and named.name not in seen:
            return any(has(f.type, seen | {named.name}) for f in named.fields.values())
        return False

    return any(has(a.type, frozenset()) for a in field.args.values())


class Values:
    def __init__(self, operation: str, ids: dict[str, str], real: bool) -> None:
        self.operation, self.ids, self.real = operation, ids, real

    def id_for(self, name: str) -> str:
        table = ID_TABLES.get(self.operation) if name == "id" else NAMED_TABLES.get(name)
        if self.real and table in self.ids:
            return self.ids[table]
        return str(uuid.uuid4())

    def of(self, name: str, t: GraphQLInputType) -> Any:
        if isinstance(t, GraphQLNonNull):
            return self.of(name, t.of_type)  # type: ignore[arg-type]
        if isinstance(t, GraphQLList):
            return [self.of(name, t.of_type)]  # type: ignore[arg-type]
        if isinstance(t, GraphQLInputObjectType):
            return {
                n: self.of(n, f.type)
                for n, f in t.fields.items()
                if isinstance(f.type, GraphQLNonNull) or get_named_type(f.type).name == "ID"
            }
        if isinstance(t, GraphQLEnumType):
            return next(iter(t.values))
        return {
            "ID": lambda: self.id_for(name),
            "String": lambda: "x@example.com" if "mail" in name.lower() else "x",
            "Int": lambda: 1,
            "Boolean": lambda: False,
            "DateTime": lambda: (dt.datetime.now(dt.UTC) + dt.timedelta(days=9)).isoformat(),
            "Decimal": lambda: "1.00",
        }.get(t.name, lambda: "x")()


def document(kind: str, name: str, field: GraphQLField) -> str:
    declared = ", ".join(f"${a}: {arg.type}" for a, arg in field.args.items())
    passed = ", ".join(f"{a}: ${a}" for a in field.args)
    returned = get_named_type(field.type)
    selection = ""
    if isinstance(returned, GraphQLObjectType):
        selection = "{ errors { code } }" if "errors" in returned.fields else "{ __typename }"
    head = f"{kind} Probe({declared})" if declared else kind
    call = f"{name}({passed})" if passed else name
    return f"{head} {{ {call} {selection} }}"


def answer(body: dict[str, Any], name: str) -> str:
    if body.get("errors"):
        return "error:" + str(body["errors"][0].get("extensions", {}).get("code"))
    value = (body.get("data") or {}).get(name)
    if isinstance(value, dict) and "errors" in value:
        return "payload:" + ",".join(sorted(e["code"] for e in value["errors"])) or "ok"
    return "null" if value is None else "data"


@pytest.fixture(scope="module")
def world_ids() -> dict[str, str]:
    return {}


async def build_world(
    gql: GraphQLClient, http: httpx.AsyncClient, state: AppState, settings: Settings
) -> dict[str, str]:
    """A row of every kind an id can name, each private to its organization or buyer."""
    crew = await factories.cast(gql)
    owner = crew.org.owner.token
    hook = {"organizationId": crew.org.id, "url": "https://hooks.example.com/in", "events": ["*"]}
    assert (await gql(WEBHOOK, {"i": hook}, token=owner))["createWebhook"]["errors"] == []
    sale = await commerce.seated_sale(gql, crew.org, seats={"A": (1, 4)})
    await commerce.sale(gql, crew.org, publish=False)
    buyer = await factories.register(gql)
    seats = list((await commerce.seat_ids(gql, sale)).values())
    placed = await commerce.order(gql, sale, 1, token=buyer.token, item={"seatIds": [seats[0]]})
    await commerce.pay_with_test(gql, http, placed["order"]["id"], token=buyer.token)
    ticket = (await gql(MY_TICKET_IDS, token=buyer.token))["myTickets"][0]["id"]
    await tickets.transfer(gql, buyer, ticket, factories.unique_email("friend"))
    until = commerce.iso(dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
    hold = {
        "ticketTypeId": sale.ticket_type_id,
        "quantity": 1,
        "seatIds": [seats[1]],
        "expiresAt": until,
    }
    assert (await gql(HOLD, {"i": hold}, token=owner))["createHold"]["errors"] == []
    report = {"e": sale.event_id, "k": "ORDERS_CSV"}
    assert (await gql(REPORT, report, token=owner))["requestReport"]["errors"] == []
    await factories.create_api_key(gql, crew.org, ["events:read"])
    async with job_context(state, settings) as ctx:
        await dispatch_outbox(ctx.state)  # the order's events become deliveries
    waitlisted = await waitlist.waitlisted_sale(gql, quantity=1)
    await waitlist.sell_out(gql, waitlisted, 1)
    joined = await waitlist.join(gql, waitlisted, token=buyer.token)
    assert joined["errors"] == [], joined["errors"]

    ids: dict[str, str] = {}
    async with state.db.read() as session:
        for table in {*ID_TABLES.values(), *NAMED_TABLES.values()}:
            query = PICK.get(table, f"SELECT id FROM {table}")  # noqa: S608 (our table names)
            found = await session.scalar(text(query + " LIMIT 1"))
            if found is not None:
                ids[table] = str(found)
    # Every id the operations take is probed with a real row, or a leak could hide.
    assert set(ids) == {*ID_TABLES.values(), *NAMED_TABLES.values()}
    return ids


async def test_anonymous_callers_get_the_same_answer_for_real_and_random_ids(
    gql: GraphQLClient, client: httpx.AsyncClient, state: AppState, settings: Settings
) -> None:
    ids = await build_world(gql, client, state, settings)
    leaks = []
    probed = 0
    for kind, name, field in OPERATIONS:
        if not takes_an_id(field) or name == "addEventAsset":  # uploads need multipart
            continue
        query = document(kind, name, field)
        answers = []
        for real in (True, False):
            values = Values(name, ids, real)
            variables = {a: values.of(a, arg.type) for a, arg in field.args.items()}
            response = await gql.raw(query, variables)
            answers.append(answer(response.json(), name))
        probed += 1
        if answers[0] != answers[1]:
            leaks.append((name, *answers))

    assert probed >= 40
    assert leaks == [], "\n".join(map(str, leaks))
