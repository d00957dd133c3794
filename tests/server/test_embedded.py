"""`eventapi serve` on the embedded default, as a real process: it starts PostgreSQL and Redis
under DATA_DIR, serves, keeps data across restarts, stops its children on Ctrl-C, leaves no
orphans when killed, and recovers from what a crash leaves behind."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from tests.support.live import ROOT, free_port

pytestmark = [pytest.mark.live, pytest.mark.slow]

REGISTER = (
    'mutation { register(input: {email: "keep@example.com", password: "long enough pw",'
    ' name: "Keep"}) { user { id } errors { code } } }'
)
LOGIN = (
    'mutation { login(input: {email: "keep@example.com", password: "long enough pw"})'
    " { user { id } errors { code } } }"
)


class Serve:
    """One `eventapi serve` process on a DATA_DIR, and every process it started."""

    def __init__(self, data_dir: Path, log: Path, *arguments: str) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("DATABASE_URL", "REDIS_URL", "JWT_SECRET")
        }
        env.update(
            DATA_DIR=str(data_dir),
            PORT=str(self.port),
            BCRYPT_ROUNDS="4",
            LOG_FORMAT="json",
            ENVIRONMENT="development",
        )
        self.log = log
        self._log = log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", *arguments],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.children: list[psutil.Process] = []

    def wait_healthy(self, timeout: float = 180) -> dict[str, object]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"serve exited early:\n{self.log.read_text()[-4000:]}")
            try:
                response = httpx.get(f"{self.url}/health", timeout=2)
                if response.status_code == 200:
                    self.children = psutil.Process(self.process.pid).children(recursive=True)
                    return response.json()  # type: ignore[no-any-return]
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"serve never became healthy:\n{self.log.read_text()[-4000:]}")

    def graphql(self, query: str, **headers: str) -> httpx.Response:
        return httpx.post(f"{self.url}/graphql", json={"query": query}, headers=headers, timeout=30)

    def wait_exit(self, timeout: float = 60) -> int:
        try:
            return self.process.wait(timeout)
        finally:
            self._log.close()

    def survivors(self, timeout: float = 60) -> list[str]:
        """Processes this serve started that are still alive after `timeout` seconds of
        waiting for them (a bounded wait for shutdown, not a timing assertion)."""
        deadline = time.monotonic() + timeout
        while True:
            alive = [p for p in self.children if _alive(p)]
            if not alive or time.monotonic() > deadline:
                return [" ".join(p.cmdline()[:3]) for p in alive if _alive(p)]
            time.sleep(0.1)

    def kill_children(self) -> None:
        for proc in self.children:
            if _alive(proc):
                proc.kill()


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.fixture(scope="module")
def initialized(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DATA_DIR that one clean run has initialized and migrated (copied by each test, so
    each starts fast and on its own)."""
    data_dir = tmp_path_factory.mktemp("embedded") / "data"
    serve = Serve(data_dir, data_dir.parent / "init.log")
    try:
        serve.wait_healthy()
        assert serve.graphql(REGISTER).json()["data"]["register"]["errors"] == []
    finally:
        serve.process.send_signal(signal.SIGINT)
        serve.wait_exit()
        serve.kill_children()
    return data_dir


@pytest.fixture
def data_dir(initialized: Path, tmp_path: Path) -> Iterator[Path]:
    # Short, so the Unix sockets fit in DATA_DIR/run.
    target = tmp_path / "d"
    # Unix sockets cannot be copied (a stop that had to fall back to SIGQUIT leaves them).
    shutil.copytree(
        initialized,
        target,
        symlinks=True,
        ignore=shutil.ignore_patterns(".s.PGSQL.*", "redis.sock", "runtime.json"),
    )
    yield target


@pytest.fixture
def serves() -> Iterator[list[Serve]]:
    started: list[Serve] = []
    yield started
    for serve in started:
        if serve.process.poll() is None:
            serve.process.kill()
            serve.wait_exit()
        serve.kill_children()


def start(serves: list[Serve], data_dir: Path, name: str, *arguments: str) -> Serve:
    serve = Serve(data_dir, data_dir.parent / f"{name}.log", *arguments)
    serves.append(serve)
    return serve


def test_serve_runs_everything_and_ctrl_c_stops_it_all(data_dir: Path, serves: list[Serve]) -> None:
    serve = start(serves, data_dir, "first")

    health = serve.wait_healthy()

    assert health["status"] == "ok"
    checks = health["checks"]
    assert isinstance(checks, dict)
    assert checks["database"]["ok"] and checks["redis"]["ok"] and checks["queue"]["ok"]
    page = httpx.get(f"{serve.url}/graphql", headers={"accept": "text/html"}, timeout=10)
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    names = " ".join(" ".join(p.cmdline()) for p in serve.children)
    assert "postgres" in names and "redis-server" in names
    assert (data_dir / "runtime.json").exists()

    serve.process.send_signal(signal.SIGINT)

    assert serve.wait_exit() == 0
    assert serve.survivors() == []
    assert not (data_dir / "runtime.json").exists()
    assert "Traceback" not in serve.log.read_text()


def test_data_survives_a_restart(data_dir: Path, serves: list[Serve]) -> None:
    serve = start(serves, data_dir, "again")
    serve.wait_healthy()

    login = serve.graphql(LOGIN).json()

    assert login["data"]["login"]["errors"] == []
    serve.process.send_signal(signal.SIGINT)
    assert serve.wait_exit() == 0


def test_sigterm_stops_it_all_too(data_dir: Path, serves: list[Serve]) -> None:
    serve = start(serves, data_dir, "term")
    serve.wait_healthy()

    serve.process.terminate()

    assert serve.wait_exit() == 0
    assert serve.survivors() == []


def test_a_killed_serve_leaves_no_orphans_and_the_next_one_recovers(
    data_dir: Path, serves: list[Serve]
) -> None:
    first = start(serves, data_dir, "killed")
    first.wait_healthy()

    first.process.kill()
    first.wait_exit()

    assert first.survivors() == []
    second = start(serves, data_dir, "recovered")
    second.wait_healthy()
    assert second.graphql(LOGIN).json()["data"]["login"]["errors"] == []
    second.process.send_signal(signal.SIGINT)
    assert second.wait_exit() == 0


def test_stale_pid_files_naming_a_live_unrelated_process_are_recovered(
    data_dir: Path, serves: list[Serve]
) -> None:
    # As after a crash and a reboot: the pid files name a pid the system has since given
    # to another process (this test's own).
    pidfile = data_dir / "postgres" / "data" / "postmaster.pid"
    pidfile.write_text(f"{os.getpid()}\n{data_dir / 'postgres' / 'data'}\n0\n5432\n\n\n\n")
    (data_dir / "redis" / "redis.pid").write_text(f"{os.getpid()}\n")
    serve = start(serves, data_dir, "stale")

    serve.wait_healthy()

    assert psutil.pid_exists(os.getpid())  # the unrelated process was left alone
    assert serve.graphql(LOGIN).json()["data"]["login"]["errors"] == []
    serve.process.send_signal(signal.SIGINT)
    assert serve.wait_exit() == 0


def test_a_second_serve_on_the_same_data_dir_refuses_clearly(
    data_dir: Path, serves: list[Serve]
) -> None:
    first = start(serves, data_dir, "owner")
    first.wait_healthy()

    second = start(serves, data_dir, "intruder")

    assert second.wait_exit() == 1
    assert "another eventapi process owns the embedded services" in second.log.read_text()
    assert httpx.get(f"{first.url}/health", timeout=5).status_code == 200
    first.process.send_signal(signal.SIGINT)
    assert first.wait_exit() == 0


def test_a_serve_started_right_after_a_kill_waits_out_the_old_children(
    data_dir: Path, serves: list[Serve]
) -> None:
    first = start(serves, data_dir, "killed-again")
    first.wait_healthy()

    first.process.kill()
    first.wait_exit()
    second = start(serves, data_dir, "impatient")
    second.wait_healthy()

    assert first.survivors() == []
    assert second.graphql(LOGIN).json()["data"]["login"]["errors"] == []
    second.process.send_signal(signal.SIGINT)
    assert second.wait_exit() == 0
    assert second.survivors() == []


def test_several_app_processes_share_the_port_and_stop_together(
    data_dir: Path, serves: list[Serve]
) -> None:
    serve = start(serves, data_dir, "workers", "--workers", "2")

    serve.wait_healthy()

    apps = [p for p in serve.children if "spawn_main" in " ".join(p.cmdline())]
    assert len(apps) == 2
    answers = [serve.graphql(REGISTER if n == 0 else LOGIN) for n in range(6)]
    assert all(a.status_code == 200 and "errors" not in a.json() for a in answers)

    serve.process.send_signal(signal.SIGINT)

    assert serve.wait_exit() == 0
    assert serve.survivors() == []
    assert "Traceback" not in serve.log.read_text()
