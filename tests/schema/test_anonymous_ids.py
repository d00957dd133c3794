"""Every query and mutation that takes an id, asked by an anonymous caller: a real id of
someone's private data and a random id get the same answer, so ids cannot be probed."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

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
from server.db import Database
from tests.support import commerce, factories
from tests.support.gql import GraphQLClient

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


async def build_world(gql: GraphQLClient, db: Database) -> dict[str, str]:
    crew = await factories.cast(gql)
    sale = await commerce.seated_sale(gql, crew.org, seats={"A": (1, 4)})
    await commerce.sale(gql, crew.org, publish=False)
    buyer = await factories.register(gql)
    seat = next(iter((await commerce.seat_ids(gql, sale)).values()))
    await commerce.order(gql, sale, 1, token=buyer.token, item={"seatIds": [seat]})
    await factories.create_api_key(gql, crew.org, ["events:read"])
    ids: dict[str, str] = {}
    async with db.read() as session:
        for table in {*ID_TABLES.values(), *NAMED_TABLES.values()}:
            query = PICK.get(table, f"SELECT id FROM {table}")  # noqa: S608 (our table names)
            found = await session.scalar(text(query + " LIMIT 1"))
            if found is not None:
                ids[table] = str(found)
    return ids


async def test_anonymous_callers_get_the_same_answer_for_real_and_random_ids(
    gql: GraphQLClient, db: Database
) -> None:
    ids = await build_world(gql, db)
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
