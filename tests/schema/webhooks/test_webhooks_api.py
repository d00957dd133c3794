"""The webhooks API over HTTP: createWebhook (secret once), webhooks with deliveries and
attempt logs, deleteWebhook, redeliverWebhookDelivery; bad input; who may do what."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from server.app_state import AppState
from server.config import Settings
from server.jobs.dispatch import dispatch_outbox
from server.outbox.service import emit
from server.webhooks.jobs import drain_endpoint
from tests.conftest import running_app
from tests.server.webhooks.receiver import Receiver, Respond
from tests.support import factories
from tests.support.factories import Cast
from tests.support.factories import TestOrg as Org
from tests.support.gql import GraphQLClient, payload_errors
from tests.support.jobs import emitted_id, job_context

CREATE = """
mutation Create($input: CreateWebhookInput!) {
  createWebhook(input: $input) {
    webhook { id url events active }
    secret
    errors { field message code }
  }
}
"""
LIST = """
query List($org: ID!, $first: Int) {
  webhooks(organizationId: $org) {
    id url events active
    deliveries(first: $first) {
      id eventType status attempts responseStatus createdAt eventId lastError
      attemptLog { number responseStatus error responseSnippet durationMs }
    }
  }
}
"""
LIST_PLAIN = "query List($org: ID!) { webhooks(organizationId: $org) { id url } }"
LIST_FIRST = """
query List($org: ID!, $first: Int) {
  webhooks(organizationId: $org) { deliveries(first: $first) { id } }
}
"""
DELETE = "mutation Delete($id: ID!) { deleteWebhook(id: $id) }"
REDELIVER = """
mutation Redeliver($id: ID!) {
  redeliverWebhookDelivery(id: $id) {
    delivery { id status attempts }
    errors { field message code }
  }
}
"""


def create_input(
    org: Org, url: str = "https://hooks.example.com/in", events: Any = None
) -> dict[str, Any]:
    return {
        "input": {"organizationId": org.id, "url": url, "events": events or ["order.confirmed"]}
    }


async def create(
    gql: GraphQLClient, org: Org, url: str = "https://hooks.example.com/in", **kw: Any
) -> dict[str, Any]:
    data = await gql(CREATE, create_input(org, url, kw.get("events")), token=org.owner.token)
    payload: dict[str, Any] = data["createWebhook"]
    assert payload["errors"] == []
    return payload


async def listed(gql: GraphQLClient, org: Org) -> list[dict[str, Any]]:
    data = await gql(LIST_PLAIN, {"org": org.id}, token=org.owner.token)
    return list(data["webhooks"])


# ---- createWebhook


async def test_an_owner_creates_a_webhook_and_sees_its_secret_once(gql: GraphQLClient) -> None:
    org = await factories.create_org(gql)

    payload = await create(
        gql, org, events=["order.confirmed", "order.refunded", "order.confirmed"]
    )

    assert payload["secret"].startswith("whsec_") and len(payload["secret"]) > 40
    webhook = payload["webhook"]
    assert webhook["url"] == "https://hooks.example.com/in"
    assert webhook["events"] == ["order.confirmed", "order.refunded"]
    assert webhook["active"] is True
    data = await gql(LIST, {"org": org.id}, token=org.owner.token)
    assert [w["id"] for w in data["webhooks"]] == [webhook["id"]]
    assert payload["secret"] not in str(data)


async def test_star_subscribes_to_every_event(gql: GraphQLClient) -> None:
    org = await factories.create_org(gql)

    payload = await create(gql, org, events=["order.created", "*"])

    assert payload["webhook"]["events"] == ["*"]


@pytest.mark.parametrize(
    ("url", "events", "expected"),
    [
        ("not a url", ["order.created"], [("VALIDATION", ["url"])]),
        ("ftp://example.com/x", ["order.created"], [("VALIDATION", ["url"])]),
        ("https://example.com/x", ["order.exploded"], [("VALIDATION", ["events"])]),
        ("nope", ["nope"], [("VALIDATION", ["url"]), ("VALIDATION", ["events"])]),
    ],
)
async def test_bad_input_is_reported_and_nothing_is_created(
    gql: GraphQLClient, url: str, events: list[str], expected: list[tuple[str, list[str]]]
) -> None:
    org = await factories.create_org(gql)

    data = await gql(CREATE, create_input(org, url, events), token=org.owner.token)

    assert sorted(payload_errors(data["createWebhook"])) == sorted(expected)
    assert data["createWebhook"]["webhook"] is None
    assert data["createWebhook"]["secret"] is None
    assert await listed(gql, org) == []


async def test_an_empty_events_list_is_refused(gql: GraphQLClient) -> None:
    org = await factories.create_org(gql)
    variables = {"input": {"organizationId": org.id, "url": "https://example.com/x", "events": []}}

    data = await gql(CREATE, variables, token=org.owner.token)

    assert payload_errors(data["createWebhook"]) == [("VALIDATION", ["events"])]


async def test_a_malformed_organization_id_is_a_field_error(gql: GraphQLClient) -> None:
    org = await factories.create_org(gql)
    variables = {"input": {"organizationId": "x", "url": "https://example.com/", "events": ["*"]}}

    data = await gql(CREATE, variables, token=org.owner.token)

    assert payload_errors(data["createWebhook"]) == [("VALIDATION", ["organizationId"])]


async def test_private_urls_are_refused_when_not_allowed(
    make_settings: Callable[..., Settings],
) -> None:
    async with running_app(make_settings(webhook_allow_private_urls=False)) as (_app, client):
        gql = GraphQLClient(client)
        org = await factories.create_org(gql)

        data = await gql(
            CREATE, create_input(org, "http://169.254.169.254/latest"), token=org.owner.token
        )

        [error] = data["createWebhook"]["errors"]
        assert (error["code"], error["field"]) == ("VALIDATION", ["url"])
        assert "private" in error["message"]


async def test_an_organization_may_have_at_most_twenty_webhooks(gql: GraphQLClient) -> None:
    org = await factories.create_org(gql)
    for i in range(20):
        await create(gql, org, f"https://hooks.example.com/{i}")

    data = await gql(CREATE, create_input(org), token=org.owner.token)

    assert payload_errors(data["createWebhook"]) == [("LIMIT_EXCEEDED", None)]
    assert len(await listed(gql, org)) == 20


# ---- who may do what


async def test_create_webhook_tenancy(gql: GraphQLClient) -> None:
    cast: Cast = await factories.cast(gql)
    variables = create_input(cast.org)

    assert await gql.error_code(CREATE, variables) == "UNAUTHENTICATED"
    assert await gql.error_code(CREATE, variables, token=cast.staff.token) == "FORBIDDEN"
    assert await gql.error_code(CREATE, variables, token=cast.manager.token) == "FORBIDDEN"
    outsider = await gql(CREATE, variables, token=cast.outsider.token)
    assert payload_errors(outsider["createWebhook"]) == [("NOT_FOUND", None)]
    assert await listed(gql, cast.org) == []
    owner = await gql(CREATE, variables, token=cast.owner.token)
    assert owner["createWebhook"]["errors"] == []


async def test_create_webhook_with_api_keys(gql: GraphQLClient) -> None:
    cast = await factories.cast(gql)
    writer = await factories.create_api_key(gql, cast.org, ["webhooks:write"])
    reader = await factories.create_api_key(gql, cast.org, ["webhooks:read"])
    other = await factories.create_api_key(gql, cast.other_org, ["webhooks:write"])
    variables = create_input(cast.org)

    assert await gql.error_code(CREATE, variables, api_key=reader) == "FORBIDDEN"
    foreign = await gql(CREATE, variables, api_key=other)
    assert payload_errors(foreign["createWebhook"]) == [("NOT_FOUND", None)]
    assert await listed(gql, cast.org) == []
    made = await gql(CREATE, variables, api_key=writer)
    assert made["createWebhook"]["errors"] == []
    assert made["createWebhook"]["secret"].startswith("whsec_")


async def test_deliveries_need_the_read_permission_even_under_a_created_webhook(
    gql: GraphQLClient,
) -> None:
    cast = await factories.cast(gql)
    writer = await factories.create_api_key(gql, cast.org, ["webhooks:write"])
    query = """
    mutation Create($input: CreateWebhookInput!) {
      createWebhook(input: $input) { webhook { id deliveries { id } } errors { code } }
    }
    """

    code = await gql.error_code(query, create_input(cast.org), api_key=writer)

    assert code == "FORBIDDEN"


async def test_webhooks_query_tenancy(gql: GraphQLClient) -> None:
    cast = await factories.cast(gql)
    made = await create(gql, cast.org)
    reader = await factories.create_api_key(gql, cast.org, ["webhooks:read"])
    events_only = await factories.create_api_key(gql, cast.org, ["events:read"])
    foreign = await factories.create_api_key(gql, cast.other_org, ["webhooks:read"])
    variables = {"org": cast.org.id}

    assert await gql.error_code(LIST_PLAIN, variables) == "UNAUTHENTICATED"
    assert await gql.error_code(LIST_PLAIN, variables, token=cast.outsider.token) == "NOT_FOUND"
    assert await gql.error_code(LIST_PLAIN, variables, token=cast.staff.token) == "FORBIDDEN"
    assert await gql.error_code(LIST_PLAIN, variables, token=cast.manager.token) == "FORBIDDEN"
    assert await gql.error_code(LIST_PLAIN, variables, api_key=events_only) == "FORBIDDEN"
    assert await gql.error_code(LIST_PLAIN, variables, api_key=foreign) == "NOT_FOUND"
    by_key = await gql(LIST_PLAIN, variables, api_key=reader)
    assert [w["id"] for w in by_key["webhooks"]] == [made["webhook"]["id"]]
    assert (
        await gql.error_code(LIST_PLAIN, {"org": "nope"}, token=cast.owner.token)
        == "BAD_USER_INPUT"
    )


async def test_delete_webhook_tenancy_and_effect(gql: GraphQLClient) -> None:
    cast = await factories.cast(gql)
    webhook_id = (await create(gql, cast.org))["webhook"]["id"]
    variables = {"id": webhook_id}

    assert await gql.error_code(DELETE, variables) == "UNAUTHENTICATED"
    assert await gql.error_code(DELETE, variables, token=cast.outsider.token) == "NOT_FOUND"
    assert await gql.error_code(DELETE, variables, token=cast.staff.token) == "FORBIDDEN"
    assert await gql.error_code(DELETE, variables, token=cast.manager.token) == "FORBIDDEN"
    assert len(await listed(gql, cast.org)) == 1

    assert (await gql(DELETE, variables, token=cast.owner.token))["deleteWebhook"] is True
    assert await listed(gql, cast.org) == []
    assert await gql.error_code(DELETE, variables, token=cast.owner.token) == "NOT_FOUND"


async def test_delete_webhook_bad_ids(gql: GraphQLClient) -> None:
    org = await factories.create_org(gql)

    assert await gql.error_code(DELETE, {"id": "nope"}, token=org.owner.token) == "VALIDATION"
    unknown = {"id": str(uuid.uuid4())}
    assert await gql.error_code(DELETE, unknown, token=org.owner.token) == "NOT_FOUND"


# ---- deliveries, attempt logs and redelivery


async def deliver(state: AppState, settings: Settings, webhook_id: str) -> None:
    async with job_context(state, settings) as ctx:
        await dispatch_outbox(ctx.state)
        await drain_endpoint(ctx, uuid.UUID(webhook_id))


async def emit_event(state: AppState, org: Org, event_type: str) -> str:
    async with state.db.transaction() as session:
        event = await emit(session, event_type, organization_id=uuid.UUID(org.id), payload={})
    return emitted_id(event)


@pytest.fixture
def no_retry(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(webhook_max_attempts=1)


async def test_deliveries_list_newest_first_with_their_attempts(
    gql: GraphQLClient, state: AppState, no_retry: Settings, receiver: Receiver
) -> None:
    org = await factories.create_org(gql)
    webhook_id = (await create(gql, org, receiver.url, events=["*"]))["webhook"]["id"]
    receiver.then(Respond(500, b"down"))
    first = await emit_event(state, org, "order.created")
    second = await emit_event(state, org, "order.confirmed")
    await deliver(state, no_retry, webhook_id)

    data = await gql(LIST, {"org": org.id, "first": 20}, token=org.owner.token)
    one = await gql(LIST, {"org": org.id, "first": 1}, token=org.owner.token)
    default = await gql(LIST, {"org": org.id}, token=org.owner.token)

    deliveries = data["webhooks"][0]["deliveries"]
    assert [
        (d["eventId"], d["eventType"], d["status"], d["attempts"], d["responseStatus"])
        for d in deliveries
    ] == [
        (second, "order.confirmed", "delivered", 1, 200),
        (first, "order.created", "failed", 1, 500),
    ]
    assert deliveries[1]["lastError"] == "HTTP 500"
    assert deliveries[1]["attemptLog"][0] | {"durationMs": 0} == {
        "number": 1,
        "responseStatus": 500,
        "error": "HTTP 500",
        "responseSnippet": "down",
        "durationMs": 0,
    }
    assert [d["eventId"] for d in one["webhooks"][0]["deliveries"]] == [second]
    assert len(default["webhooks"][0]["deliveries"]) == 2


@pytest.mark.parametrize("first", [-1, 101])
async def test_deliveries_first_out_of_range_is_a_client_error(
    gql: GraphQLClient, first: int
) -> None:
    org = await factories.create_org(gql)
    await create(gql, org)

    code = await gql.error_code(LIST_FIRST, {"org": org.id, "first": first}, token=org.owner.token)

    assert code == "BAD_USER_INPUT"


async def test_redelivery_sends_a_delivery_again(
    gql: GraphQLClient, state: AppState, no_retry: Settings, receiver: Receiver
) -> None:
    cast = await factories.cast(gql)
    webhook_id = (await create(gql, cast.org, receiver.url, events=["*"]))["webhook"]["id"]
    receiver.then(Respond(500))
    event_id = await emit_event(state, cast.org, "order.created")
    await deliver(state, no_retry, webhook_id)
    data = await gql(LIST, {"org": cast.org.id}, token=cast.owner.token)
    delivery_id = data["webhooks"][0]["deliveries"][0]["id"]
    variables = {"id": delivery_id}

    assert await gql.error_code(REDELIVER, variables) == "UNAUTHENTICATED"
    assert await gql.error_code(REDELIVER, variables, token=cast.staff.token) == "FORBIDDEN"
    assert await gql.error_code(REDELIVER, variables, token=cast.manager.token) == "FORBIDDEN"
    outsider = await gql(REDELIVER, variables, token=cast.outsider.token)
    assert payload_errors(outsider["redeliverWebhookDelivery"]) == [("NOT_FOUND", ["id"])]
    unknown = await gql(REDELIVER, {"id": str(uuid.uuid4())}, token=cast.owner.token)
    assert payload_errors(unknown["redeliverWebhookDelivery"]) == [("NOT_FOUND", ["id"])]
    assert len(receiver.arrivals) == 1

    redone = await gql(REDELIVER, variables, token=cast.owner.token)
    assert redone["redeliverWebhookDelivery"]["delivery"] == {
        "id": delivery_id,
        "status": "pending",
        "attempts": 0,
    }
    await deliver(state, no_retry, webhook_id)

    assert [a.event_id for a in receiver.arrivals] == [event_id, event_id]
    after = await gql(LIST, {"org": cast.org.id}, token=cast.owner.token)
    [delivery] = after["webhooks"][0]["deliveries"]
    assert (delivery["status"], delivery["attempts"]) == ("delivered", 1)
    assert [a["responseStatus"] for a in delivery["attemptLog"]] == [500, 200]


async def test_deleting_a_webhook_removes_its_deliveries_and_sends_nothing_more(
    gql: GraphQLClient, state: AppState, no_retry: Settings, receiver: Receiver
) -> None:
    org = await factories.create_org(gql)
    webhook_id = (await create(gql, org, receiver.url, events=["*"]))["webhook"]["id"]
    await emit_event(state, org, "order.created")
    async with job_context(state, no_retry) as ctx:
        await dispatch_outbox(ctx.state)

    assert (await gql(DELETE, {"id": webhook_id}, token=org.owner.token))["deleteWebhook"] is True
    await deliver(state, no_retry, webhook_id)

    assert receiver.arrivals == []


ATTEMPTS = """
query List($org: ID!, $last: Int) {
  webhooks(organizationId: $org) { deliveries { attemptLog(last: $last) { responseStatus } } }
}
"""


@pytest.mark.parametrize(
    ("last", "statuses"), [(1, [200]), (2, [500, 200]), (3, [500, 200]), (50, [500, 200]), (0, [])]
)
async def test_the_attempt_log_keeps_every_attempt_when_there_are_fewer_than_asked(
    gql: GraphQLClient,
    state: AppState,
    no_retry: Settings,
    receiver: Receiver,
    last: int,
    statuses: list[int],
) -> None:
    org = await factories.create_org(gql)
    webhook_id = (await create(gql, org, receiver.url, events=["*"]))["webhook"]["id"]
    receiver.then(Respond(500))
    await emit_event(state, org, "order.created")
    await deliver(state, no_retry, webhook_id)
    data = await gql(LIST, {"org": org.id}, token=org.owner.token)
    delivery_id = data["webhooks"][0]["deliveries"][0]["id"]
    await gql(REDELIVER, {"id": delivery_id}, token=org.owner.token)
    await deliver(state, no_retry, webhook_id)

    data = await gql(ATTEMPTS, {"org": org.id, "last": last}, token=org.owner.token)

    [delivery] = data["webhooks"][0]["deliveries"]
    assert [a["responseStatus"] for a in delivery["attemptLog"]] == statuses
