"""Delivering outbox events to webhook endpoints: signature, headers and body, the
delivery log, retries on 500 / timeouts / dropped connections, dead letters. Real HTTP to a
local receiver."""

from __future__ import annotations

import time

from server.jobs.context import JobContext
from server.jobs.dispatch import dispatch_outbox
from server.webhooks.jobs import drain_endpoint
from server.webhooks.secret_store import decrypt_secret
from server.webhooks.signing import verify
from tests.server.webhooks.conftest import Hooks, deliver_all
from tests.server.webhooks.receiver import Close, Hang, Receiver, Respond


async def test_an_event_arrives_signed_with_its_id_type_and_body(
    hooks: Hooks, ctx: JobContext, receiver: Receiver
) -> None:
    endpoint = await hooks.endpoint(receiver.url, ["order.confirmed"])
    [event_id] = await hooks.emit("order.confirmed", payload={"orderId": "o-1", "total": 1250})

    await deliver_all(ctx, hooks, endpoint.id)

    [arrival] = receiver.arrivals
    secret = decrypt_secret(endpoint.secret_encrypted, jwt_key=hooks.settings.jwt_key)
    assert verify(secret, arrival.headers["x-webhook-signature"], arrival.body, now=time.time())
    assert not verify(
        "whsec_other", arrival.headers["x-webhook-signature"], arrival.body, now=time.time()
    )
    assert arrival.headers["x-webhook-id"] == event_id
    assert arrival.headers["x-webhook-event"] == "order.confirmed"
    assert arrival.headers["content-type"] == "application/json"
    assert arrival.headers["user-agent"].startswith("eventapi-webhooks/")
    body = arrival.json
    assert body["id"] == event_id
    assert body["type"] == "order.confirmed"
    assert body["organizationId"] == hooks.org.id
    assert body["data"] == {"orderId": "o-1", "total": 1250}
    assert body["createdAt"]
    [delivery] = await hooks.deliveries(endpoint.id)
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("delivered", 1, 200)
    [attempt] = await hooks.attempts(delivery.id)
    assert (attempt.number, attempt.response_status, attempt.error) == (1, 200, None)
    assert attempt.response_snippet == "ok"


async def test_a_500_is_retried_until_the_receiver_accepts(
    hooks: Hooks, ctx: JobContext, receiver: Receiver
) -> None:
    receiver.then(Respond(500, b"boom"), Respond(503, b"later"))
    endpoint = await hooks.endpoint(receiver.url)
    [event_id] = await hooks.emit("order.created")

    await deliver_all(ctx, hooks, endpoint.id)

    assert [a.event_id for a in receiver.arrivals] == [event_id] * 3
    [delivery] = await hooks.deliveries(endpoint.id)
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("delivered", 3, 200)
    log = await hooks.attempts(delivery.id)
    assert [(a.number, a.response_status, a.error) for a in log] == [
        (1, 500, "HTTP 500"),
        (2, 503, "HTTP 503"),
        (3, 200, None),
    ]
    assert log[0].response_snippet == "boom"


async def test_a_receiver_that_keeps_failing_is_dead_lettered_after_the_last_attempt(
    hooks: Hooks, ctx: JobContext, receiver: Receiver
) -> None:
    receiver.default = Respond(500)
    endpoint = await hooks.endpoint(receiver.url)
    await hooks.emit("order.created")

    await deliver_all(ctx, hooks, endpoint.id)

    assert len(receiver.arrivals) == hooks.settings.webhook_max_attempts == 3
    [delivery] = await hooks.deliveries(endpoint.id)
    assert (delivery.status, delivery.attempts) == ("failed", 3)
    assert delivery.last_error == "HTTP 500"
    assert delivery.next_attempt_at is None
    # Nothing further happens to a dead letter.
    assert await drain_endpoint(ctx, endpoint.id) == 0
    assert len(receiver.arrivals) == 3


async def test_a_receiver_that_times_out_is_retried(
    hooks: Hooks, ctx: JobContext, receiver: Receiver
) -> None:
    receiver.then(Hang())
    endpoint = await hooks.endpoint(receiver.url)
    await hooks.emit("order.created")

    await deliver_all(ctx, hooks, endpoint.id)

    assert len(receiver.arrivals) == 2
    [delivery] = await hooks.deliveries(endpoint.id)
    assert (delivery.status, delivery.attempts) == ("delivered", 2)
    first, second = await hooks.attempts(delivery.id)
    assert first.error == "timed out after 0.5s"
    assert first.response_status is None
    assert first.duration_ms >= 500
    assert (second.response_status, second.error) == (200, None)


async def test_a_connection_closed_mid_request_is_retried(
    hooks: Hooks, ctx: JobContext, receiver: Receiver
) -> None:
    receiver.then(Close())
    endpoint = await hooks.endpoint(receiver.url)
    await hooks.emit("order.created")

    await deliver_all(ctx, hooks, endpoint.id)

    assert len(receiver.arrivals) == 2
    [delivery] = await hooks.deliveries(endpoint.id)
    assert (delivery.status, delivery.attempts) == ("delivered", 2)
    first, second = await hooks.attempts(delivery.id)
    assert first.response_status is None
    assert first.error is not None and "Error" in first.error
    assert second.response_status == 200


async def test_a_redirect_is_not_followed_and_counts_as_a_failure(
    hooks: Hooks, ctx: JobContext, receiver: Receiver
) -> None:
    receiver.then(Respond(302))
    endpoint = await hooks.endpoint(receiver.url)
    await hooks.emit("order.created")

    await deliver_all(ctx, hooks, endpoint.id)

    [delivery] = await hooks.deliveries(endpoint.id)
    first, second = await hooks.attempts(delivery.id)
    assert (first.response_status, first.error) == (302, "HTTP 302")
    assert second.response_status == 200


async def test_endpoints_get_only_their_events_and_only_those_after_they_were_created(
    hooks: Hooks, ctx: JobContext, receiver: Receiver
) -> None:
    await hooks.emit("order.created")  # before the endpoint existed
    endpoint = await hooks.endpoint(receiver.url, ["order.refunded", "event.cancelled"])
    await hooks.emit("order.created", "order.refunded", "ticket.checkedin", "event.cancelled")

    await deliver_all(ctx, hooks, endpoint.id)

    assert [a.headers["x-webhook-event"] for a in receiver.arrivals] == [
        "order.refunded",
        "event.cancelled",
    ]


async def test_dispatching_twice_creates_each_delivery_once(
    hooks: Hooks, ctx: JobContext, receiver: Receiver
) -> None:
    endpoint = await hooks.endpoint(receiver.url)
    await hooks.emit("order.created", "order.confirmed")

    assert await dispatch_outbox(ctx.state) == 2
    assert await dispatch_outbox(ctx.state) == 0
    await deliver_all(ctx, hooks, endpoint.id)

    assert len(await hooks.deliveries(endpoint.id)) == 2
    assert len(receiver.arrivals) == 2
