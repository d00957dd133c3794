"""Shared fixtures: real PostgreSQL and Redis for the session (migrated with Alembic, which
also tests the migrations), the app with its lifespan, an HTTP client, a GraphQL client,
and a clean database and Redis before every test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from starlette.applications import Starlette

from server.app import create_app
from server.app_state import AppState
from server.config import Settings
from server.db import Database
from server.migrate import upgrade
from server.models import Base
from tests.support.gql import GraphQLClient
from tests.support.services import ServiceUrls, test_services

pytest_plugins = ["tests.fakes.plugin"]

TEST_JWT_SECRET = "test-secret-test-secret-test-secret-0123"


@pytest.fixture(scope="session")
def services() -> Iterator[ServiceUrls]:
    with test_services() as urls:
        upgrade(urls.database_url, "heads")
        yield urls


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="session")
def make_settings(services: ServiceUrls, data_dir: Path) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": services.database_url,
            "redis_url": services.redis_url,
            "data_dir": data_dir,
            "jwt_secret": TEST_JWT_SECRET,
            "bcrypt_rounds": 4,
            "rate_limit_authenticated": 1_000_000,
            "rate_limit_anonymous": 1_000_000,
            "worker_in_process": False,
            "log_format": "json",
            "webhook_allow_private_urls": True,
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return make


@pytest.fixture(scope="session")
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    """An app with its lifespan running, and an HTTP client talking to it in-process."""
    app = create_app(settings, run_worker=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield app, client


@pytest.fixture(scope="session")
async def app_and_client(settings: Settings) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    async with running_app(settings) as pair:
        yield pair


@pytest.fixture(scope="session")
def app(app_and_client: tuple[Starlette, httpx.AsyncClient]) -> Starlette:
    return app_and_client[0]


@pytest.fixture(scope="session")
def state(app: Starlette) -> AppState:
    return app.state.eventapi  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def db(state: AppState) -> Database:
    return state.db


@pytest.fixture(scope="session")
def redis(state: AppState) -> Redis:
    return state.redis


@pytest.fixture
def client(app_and_client: tuple[Starlette, httpx.AsyncClient]) -> httpx.AsyncClient:
    client = app_and_client[1]
    client.cookies.clear()
    return client


@pytest.fixture
def gql(client: httpx.AsyncClient) -> GraphQLClient:
    return GraphQLClient(client)


TABLES = ", ".join(t.name for t in reversed(Base.metadata.sorted_tables))


@pytest.fixture(autouse=True)
def state_to_clean(request: pytest.FixtureRequest) -> AppState | None:
    """The app state, when the test uses the services. Looked up from a plain fixture:
    starting the app (an async fixture) from inside `clean_state`, which already runs on
    the event loop, would fail for the first test of a run that asks only for settings."""
    if "services" not in request.fixturenames and "app_and_client" not in request.fixturenames:
        return None
    return request.getfixturevalue("state")  # type: ignore[no-any-return]


@pytest.fixture(autouse=True)
async def clean_state(state_to_clean: AppState | None) -> None:
    """Every test starts from empty tables and an empty Redis."""
    state = state_to_clean
    if state is None:
        return
    for attempt in range(5):
        try:
            async with state.db.engine.begin() as conn:
                await conn.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
            break
        except DBAPIError as error:
            # A live server's background job (its in-process workers) may hold a lock the
            # TRUNCATE needs while it waits for one the TRUNCATE took: PostgreSQL breaks
            # the deadlock by failing one of the two; if it is the TRUNCATE, do it again.
            if getattr(error.orig, "sqlstate", None) != "40P01" or attempt == 4:
                raise
    await state.redis.flushdb()
