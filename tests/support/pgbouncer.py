"""Debian's PgBouncer in front of the embedded PostgreSQL, with deploy/pgbouncer/pgbouncer.ini:
the same pooling settings as production, the addresses and authentication of the test
machine (a free loopback port, trust). Skips when pgbouncer is not installed."""

from __future__ import annotations

import configparser
import os
import pwd
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from server.embedded import PG_PORT, EmbeddedPostgres
from server.embedded import _open_path_to as open_path_to
from tests.support.live import ROOT, debian_binary, free_port

CONFIG = ROOT / "deploy" / "pgbouncer" / "pgbouncer.ini"


@dataclass
class PgBouncer:
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    def url(self, database: str = "eventapi") -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def log_text(self) -> str:
        texts = [
            path.read_text(errors="replace")
            for path in (self.log_path, self.log_path.with_suffix(".out"))
            if path.exists()
        ]
        return "\n".join(texts)


def render(primary: EmbeddedPostgres, directory: Path, port: int, **overrides: str) -> Path:
    parser = configparser.ConfigParser(comment_prefixes=(";", "#"), inline_comment_prefixes=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(CONFIG.read_text())
    parser["databases"] = {
        "eventapi": f"host={primary.socket_dir} port={PG_PORT} dbname=eventapi user=postgres"
    }
    settings = parser["pgbouncer"]
    settings.update(
        listen_addr="127.0.0.1",
        listen_port=str(port),
        auth_type="trust",
        auth_file=str(directory / "userlist.txt"),
        admin_users="postgres",
        stats_users="postgres",
        logfile=str(directory / "pgbouncer.log"),
        pidfile=str(directory / "pgbouncer.pid"),
    )
    settings.update(overrides)
    (directory / "userlist.txt").write_text('"postgres" ""\n')
    path = directory / "pgbouncer.ini"
    with path.open("w") as handle:
        parser.write(handle)
    return path


@contextmanager
def pgbouncer(primary: EmbeddedPostgres, directory: Path, **overrides: str) -> Iterator[PgBouncer]:
    binary = debian_binary("pgbouncer")
    if binary is None:
        pytest.skip("pgbouncer is not installed (CI installs Debian's package)")
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = render(primary, directory, port, **overrides)
    # PgBouncer refuses to run as root: run it as the user the embedded PostgreSQL runs as.
    user = None
    if os.geteuid() == 0:
        user = primary._run_as or "nobody"
        entry = pwd.getpwnam(user)
        open_path_to(directory)
        for path in (directory, *directory.iterdir()):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    output = (directory / "pgbouncer.out").open("wb")
    process = subprocess.Popen(
        [binary, str(config)],
        stdout=output,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        user=user,
    )
    bouncer = PgBouncer(port, process, directory / "pgbouncer.log")
    try:
        _wait_listening(bouncer)
        yield bouncer
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
        output.close()


def _wait_listening(bouncer: PgBouncer, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if bouncer.process.poll() is not None:
            raise RuntimeError(f"pgbouncer exited: {bouncer.log_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", bouncer.port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"pgbouncer did not listen: {bouncer.log_text()[-2000:]}")
