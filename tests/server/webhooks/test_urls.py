"""Which URLs may receive webhooks: private and local addresses are refused when the
endpoint is created and again at delivery time, after DNS resolution."""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Callable

import pytest

from server.clock import utcnow
from server.config import Settings
from server.db import Database
from server.errors import DomainError, DomainErrors
from server.jobs.context import JobContext
from server.webhooks import service
from server.webhooks.urls import UrlRefused, delivery_target, parse_url, pinned_target
from tests.server.webhooks.conftest import Hooks, deliver_all
from tests.server.webhooks.receiver import Receiver

REFUSED = [
    "http://127.0.0.1/hook",
    "http://127.1.2.3:8080/hook",
    "http://10.0.0.5/hook",
    "http://172.16.0.1/hook",
    "http://192.168.1.10/hook",
    "http://169.254.169.254/latest/meta-data",
    "http://100.64.0.1/hook",
    "http://0.0.0.0/hook",
    "http://224.0.0.1/hook",
    "http://[::1]/hook",
    "http://[fe80::1]/hook",
    "http://[fc00::1]/hook",
    "http://[ff02::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://localhost/hook",
    "http://api.localhost/hook",
    "http://printer.local/hook",
]
MALFORMED = [
    "",
    "not a url",
    "ftp://example.com/hook",
    "https:///nohost",
    "https://user:pass@example.com/hook",
    "https://example.com/" + "x" * 2000,
    "javascript:alert(1)",
]


@pytest.fixture
def strict(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(webhook_allow_private_urls=False)


async def create(db: Database, hooks: Hooks, settings: Settings, url: str) -> None:
    async with db.transaction() as session:
        await service.create_webhook(
            session,
            actor=hooks.owner,
            organization_id=uuid.UUID(hooks.org.id),
            url=url,
            events=["*"],
            settings=settings,
            now=utcnow(),
        )


@pytest.mark.parametrize("url", REFUSED)
async def test_private_and_local_addresses_are_refused(
    db: Database, hooks: Hooks, strict: Settings, url: str
) -> None:
    with pytest.raises(DomainError) as refused:
        await create(db, hooks, strict, url)

    assert refused.value.field == ["url"]
    assert refused.value.code.value == "VALIDATION"


@pytest.mark.parametrize("url", MALFORMED)
def test_malformed_urls_are_refused(url: str) -> None:
    with pytest.raises(UrlRefused):
        parse_url(url)


async def test_public_addresses_are_accepted(db: Database, hooks: Hooks, strict: Settings) -> None:
    await create(db, hooks, strict, "https://93.184.216.34/hooks/eventapi")
    await create(db, hooks, strict, "http://[2001:4860:4860::8888]:8443/hook")


async def test_allow_private_urls_lets_tests_use_loopback(
    db: Database, hooks: Hooks, make_settings: Callable[..., Settings]
) -> None:
    await create(db, hooks, make_settings(webhook_allow_private_urls=True), "http://127.0.0.1:9/x")


async def test_all_bad_fields_are_reported_together(
    db: Database, hooks: Hooks, strict: Settings
) -> None:
    with pytest.raises(DomainErrors) as refused:
        async with db.transaction() as session:
            await service.create_webhook(
                session,
                actor=hooks.owner,
                organization_id=uuid.UUID(hooks.org.id),
                url="http://10.1.1.1/",
                events=["order.created", "order.exploded"],
                settings=strict,
                now=utcnow(),
            )

    assert sorted(tuple(e.field or []) for e in refused.value.errors) == [("events",), ("url",)]


async def test_a_name_resolving_to_loopback_is_refused_at_delivery_time(strict: Settings) -> None:
    """DNS can change after creation (rebinding): the check runs on the resolved address."""
    with pytest.raises(UrlRefused):
        await delivery_target("http://localhost.:8080/hook", allow_private=False)


async def test_delivery_time_refusal_is_logged_and_nothing_is_sent(
    hooks: Hooks, ctx: JobContext, receiver: Receiver, strict: Settings
) -> None:
    # Created while private URLs were allowed; the deployment now refuses them.
    endpoint = await hooks.endpoint(receiver.url.replace("127.0.0.1", "localhost"))
    await hooks.emit("order.created")
    strict_ctx = JobContext(
        state=type(ctx.state)(
            settings=strict.model_copy(
                update={
                    "webhook_retry_base": 0.01,
                    "webhook_retry_max": 0.02,
                    "webhook_max_attempts": 2,
                }
            ),
            db=ctx.db,
            redis=ctx.redis,
            queue=ctx.state.queue,
        ),
        http=ctx.http,
    )

    await deliver_all(strict_ctx, hooks, endpoint.id)

    assert receiver.arrivals == []
    [delivery] = await hooks.deliveries(endpoint.id)
    assert (delivery.status, delivery.attempts) == ("failed", 2)
    assert delivery.last_error is not None and delivery.last_error.startswith("refused:")


def test_a_pinned_target_connects_to_the_checked_address_as_the_host_name() -> None:
    url = parse_url("https://hooks.example.com:8443/in?x=1")

    target = pinned_target(url, ipaddress.ip_address("93.184.216.34"))

    assert str(target.url) == "https://93.184.216.34:8443/in?x=1"
    assert target.host_header == "hooks.example.com:8443"
    assert target.sni_hostname == "hooks.example.com"
