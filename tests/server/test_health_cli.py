"""`eventapi healthcheck`, the container healthcheck of the app and the worker."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from server.config import Settings
from tests.support.live import ROOT, free_port, live_servers
from tests.support.services import ServiceUrls

pytestmark = pytest.mark.live


def healthcheck(*args: str, redis_url: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    if redis_url:
        env["REDIS_URL"] = redis_url
    return subprocess.run(
        [sys.executable, "-m", "server.cli", "healthcheck", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_app_check_follows_readiness(services: ServiceUrls, tmp_path: Path) -> None:
    with live_servers(services.database_url, services.redis_url, tmp_path) as [server]:
        up = healthcheck("--url", f"{server.url}/health/ready")
    down = healthcheck("--url", f"http://127.0.0.1:{free_port()}/health/ready")

    assert up.returncode == 0, up.stderr
    assert down.returncode == 1
    assert "/health/ready" in down.stderr


def test_the_worker_check_wants_a_heartbeat_on_every_queue(services: ServiceUrls) -> None:
    result = healthcheck("--worker", redis_url=services.redis_url)

    assert result.returncode == 1
    assert "no worker heartbeat for eventapi:mail" in result.stderr


@pytest.mark.filterwarnings("ignore:Call to deprecated close:DeprecationWarning")
async def test_the_worker_check_passes_while_workers_run(
    services: ServiceUrls, make_settings: Callable[..., Settings]
) -> None:
    import asyncio

    from tests.server.test_health import app_client, health_when

    async with app_client(make_settings(), run_worker=True) as client:
        await health_when(client, "/health", 200)
        result = await asyncio.to_thread(healthcheck, "--worker", redis_url=services.redis_url)

    assert result.returncode == 0, result.stderr
