"""Per endpoint, deliveries follow the order of events: a later event is not sent while an
earlier one waits for a retry, and workers racing on one endpoint never overtake."""

from __future__ import annotations

import asyncio

from server.jobs.context import JobContext
from server.jobs.dispatch import dispatch_outbox
from server.webhooks.jobs import drain_endpoint
from tests.server.webhooks.conftest import Hooks, deliver_all
from tests.server.webhooks.receiver import Receiver, Respond


async def test_a_later_event_waits_until_the_earlier_one_is_delivered(
    hooks: Hooks, ctx: JobContext, receiver: Receiver
) -> None:
    receiver.then(Respond(500), Respond(500))
    endpoint = await hooks.endpoint(receiver.url)
    first, second, third = await hooks.emit("order.created", "order.confirmed", "order.refunded")

    await deliver_all(ctx, hooks, endpoint.id)

    assert [a.event_id for a in receiver.arrivals] == [first, first, first, second, third]


async def test_while_the_head_waits_for_its_retry_nothing_else_is_sent(
    hooks: Hooks, ctx: JobContext, receiver: Receiver
) -> None:
    receiver.then(Respond(500))
    endpoint = await hooks.endpoint(receiver.url)
    first, _second = await hooks.emit("order.created", "order.confirmed")
    await dispatch_outbox(ctx.state)
    slow_retries = ctx.settings.model_copy(
        update={"webhook_retry_base": 3600.0, "webhook_retry_max": 3600.0}
    )
    waiting_ctx = JobContext(
        state=type(ctx.state)(
            settings=slow_retries, db=ctx.db, redis=ctx.redis, queue=ctx.state.queue
        ),
        http=ctx.http,
    )

    assert await drain_endpoint(waiting_ctx, endpoint.id) == 1
    assert await drain_endpoint(waiting_ctx, endpoint.id) == 0

    assert [a.event_id for a in receiver.arrivals] == [first]
    head, later = await hooks.deliveries(endpoint.id)
    assert (head.status, head.attempts, later.status, later.attempts) == (
        "pending",
        1,
        "pending",
        0,
    )
    assert head.next_attempt_at is not None


async def test_a_dead_letter_stops_blocking_the_events_after_it(
    hooks: Hooks, ctx: JobContext, receiver: Receiver
) -> None:
    receiver.then(Respond(500), Respond(500), Respond(500))
    endpoint = await hooks.endpoint(receiver.url)
    first, second = await hooks.emit("order.created", "order.confirmed")

    await deliver_all(ctx, hooks, endpoint.id)

    assert [a.event_id for a in receiver.arrivals] == [first, first, first, second]
    dead, delivered = await hooks.deliveries(endpoint.id)
    assert (dead.status, delivered.status) == ("failed", "delivered")


async def test_concurrent_workers_on_one_endpoint_send_each_event_once_in_order(
    hooks: Hooks, ctx: JobContext, receiver: Receiver
) -> None:
    endpoint = await hooks.endpoint(receiver.url)
    events = await hooks.emit(*["order.created"] * 30)
    await dispatch_outbox(ctx.state)

    await asyncio.gather(*(drain_endpoint(ctx, endpoint.id) for _ in range(6)))
    await deliver_all(ctx, hooks, endpoint.id)

    assert [a.event_id for a in receiver.arrivals] == events
    assert {d.status for d in await hooks.deliveries(endpoint.id)} == {"delivered"}


async def test_endpoints_are_delivered_independently(
    hooks: Hooks, ctx: JobContext, receiver: Receiver
) -> None:
    """One endpoint's failing head does not hold up another endpoint."""
    other = await Receiver().start()
    try:
        receiver.default = Respond(500)
        failing = await hooks.endpoint(receiver.url)
        healthy = await hooks.endpoint(other.url)
        events = await hooks.emit("order.created", "order.confirmed")

        await deliver_all(ctx, hooks, healthy.id)

        assert [a.event_id for a in other.arrivals] == events
        assert {d.status for d in await hooks.deliveries(failing.id)} == {"pending"}
    finally:
        await other.stop()
