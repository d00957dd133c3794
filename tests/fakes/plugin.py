"""Pytest fixtures for payments against the fake providers (registered from
tests/conftest.py through `pytest_plugins`).

- `fake_stripe`, `fake_paystack`: the fake servers (started once per session, state
  cleared for every test).
- `payment_settings`: Settings pointing Stripe and Paystack at the fakes, TEST payments on.
- `payments_url`: the app with `payment_settings`, served over real HTTP from this process
  (so handlers a test registers are the ones that run, and requests are truly concurrent);
  `payments_http`: an httpx client for it.
- `event_recorder`: the only payment event handler during the test, recording every
  application as a row (see tests.fakes.recorder).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from server.app import create_app
from server.config import Settings
from tests.fakes.paystack_server import FakePaystack
from tests.fakes.recorder import EventRecorder
from tests.fakes.server import BackgroundServer
from tests.fakes.stripe_server import FakeStripe


def pytest_configure(config: pytest.Config) -> None:
    # The stripe SDK hands httpx the form body as `data=`; httpx prefers `content=`.
    config.addinivalue_line("filterwarnings", "ignore:Use 'content=<...>':DeprecationWarning:httpx")


@pytest.fixture(scope="session")
def stripe_server() -> Iterator[FakeStripe]:
    fake = FakeStripe().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def paystack_server() -> Iterator[FakePaystack]:
    fake = FakePaystack().start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_stripe(stripe_server: FakeStripe) -> FakeStripe:
    stripe_server.reset()
    return stripe_server


@pytest.fixture
def fake_paystack(paystack_server: FakePaystack) -> FakePaystack:
    paystack_server.reset()
    return paystack_server


@pytest.fixture(scope="session")
def payment_settings(
    make_settings: Callable[..., Settings], stripe_server: FakeStripe, paystack_server: FakePaystack
) -> Settings:
    overrides: dict[str, Any] = {**stripe_server.settings(), **paystack_server.settings()}
    return make_settings(test_payments=True, **overrides)


@pytest.fixture(scope="module")
def payments_url(payment_settings: Settings) -> Iterator[str]:
    # Per module, so its background tasks (live updates, effects) do not linger into
    # other domains' tests.
    server = BackgroundServer(create_app(payment_settings, run_worker=False), lifespan="on")
    server.start()
    yield server.url
    server.stop()


@pytest.fixture
async def payments_http(
    payments_url: str, fake_stripe: FakeStripe, fake_paystack: FakePaystack
) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=payments_url, timeout=30) as client:
        yield client


@pytest.fixture
def event_recorder() -> Iterator[EventRecorder]:
    recorder = EventRecorder()
    with recorder.installed():
        yield recorder
