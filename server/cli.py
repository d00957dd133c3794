"""`eventapi serve | worker | migrate | schema`.

With no DATABASE_URL / REDIS_URL, `serve` starts the embedded PostgreSQL and Redis under
DATA_DIR, migrates, runs the workers in-process and serves; Ctrl-C stops it all. The other
commands reuse the embedded services of a running `serve` (found through
DATA_DIR/runtime.json) or start them for their own run."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import structlog

from server.config import Settings
from server.embedded import EmbeddedError, EmbeddedServices, running_urls
from server.logging import configure_logging
from server.persisted import commands as trusted_documents

log = structlog.get_logger("eventapi.cli")


@contextmanager
def services(settings: Settings, *, reuse_running: bool) -> Iterator[Settings]:
    """Settings with DATABASE_URL and REDIS_URL filled: as given, from a running embedded
    instance, or from embedded services started here (stopped when the block ends)."""
    if settings.database_url and settings.redis_url:
        yield settings
        return
    if reuse_running:
        running = running_urls(settings.data_dir)
        if running is not None:
            yield settings.model_copy(update={"database_url": running[0], "redis_url": running[1]})
            return
    embedded = EmbeddedServices(settings.data_dir)
    embedded.start()
    try:
        yield settings.model_copy(
            update={
                "database_url": settings.database_url or embedded.postgres.url,
                "redis_url": settings.redis_url or embedded.redis.url,
                "worker_in_process": True
                if settings.worker_in_process is None
                else settings.worker_in_process,
            }
        )
    finally:
        embedded.stop()


class CommandError(Exception):
    """A failure the user can act on: reported as one log line, exit status 1."""


@contextmanager
def database_errors_explained(url: str) -> Iterator[None]:
    """Turn "cannot connect" (and a refused login, a missing database) into one clear
    line naming the server, instead of a traceback from deep inside the driver."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import DBAPIError

    try:
        yield
    except (OSError, TimeoutError, DBAPIError) as exc:
        where = make_url(url).render_as_string(hide_password=True)
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CommandError(f"cannot use the database {where}: {detail}") from None


class Stopped(Exception):
    """SIGINT or SIGTERM asked us to stop: uvicorn has shut the app down and re-raised
    the signal; unwinding from here stops the embedded services."""


def _raise_stopped(signum: int, frame: object) -> None:
    # Once: a second Ctrl-C must not interrupt the orderly stop of PostgreSQL and Redis.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Stopped(signal.Signals(signum).name)


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    # uvicorn handles both signals while it runs, then re-raises them; with Python's
    # default SIGTERM action the process would die before the services are stopped.
    signal.signal(signal.SIGINT, _raise_stopped)
    signal.signal(signal.SIGTERM, _raise_stopped)

    from server.app import create_app
    from server.migrate import upgrade

    with services(settings, reuse_running=False) as ready:
        assert ready.database_url is not None
        with database_errors_explained(ready.database_url):
            upgrade(ready.database_url)
        host = args.host or ready.host
        port = args.port or ready.port
        processes = args.workers or ready.web_concurrency
        if processes > 1:
            # The processes are started by uvicorn's supervisor and build the app from the
            # environment (server.app:app_from_environment), so they must find the running
            # services there; the database is already migrated.
            os.environ.update(
                {
                    "DATABASE_URL": ready.database_url,
                    "REDIS_URL": str(ready.redis_url),
                    "WORKER_IN_PROCESS": "true" if ready.worker_in_process else "false",
                }
            )
            target: Any = "server.app:app_from_environment"
        else:
            target = create_app(ready)
            tune_gc()
        config = uvicorn.Config(
            target,
            factory=processes > 1,
            workers=processes,
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            proxy_headers=True,
            forwarded_allow_ips=args.forwarded_allow_ips,
            ws_max_size=1_000_000,
            # Live updates are small JSON messages sent to thousands of sockets at once:
            # compressing each costs far more CPU (and per-socket memory) than it saves.
            ws_per_message_deflate=False,
            timeout_graceful_shutdown=10,
        )
        log.info(
            "serving",
            url=f"http://{host}:{port}/graphql",
            embedded=not settings.database_url,
            processes=processes,
        )
        if processes > 1:
            from uvicorn.supervisors import Multiprocess

            Multiprocess(config, sockets=[config.bind_socket()]).run()
        else:
            uvicorn.Server(config).run()
    return 0


def tune_gc() -> None:
    """Thousands of long-lived WebSocket connections make a full garbage collection slow
    (over a second with 2,000 live subscribers on a busy machine, stalling every request
    and update). Objects that exist once the app is built live as long as the process, so
    they are left out of collections; and the youngest generation is collected less
    often, so the temporaries of a fan-out die before they are promoted."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    from server.jobs.worker import run_worker_process

    with services(settings, reuse_running=True) as ready:
        metrics_port = args.metrics_port or ready.worker_metrics_port
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run_worker_process(ready, only=args.queue, metrics_port=metrics_port))
    return 0


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    from server.migrate import downgrade, upgrade

    with services(settings, reuse_running=True) as ready:
        assert ready.database_url is not None
        with database_errors_explained(ready.database_url):
            if args.downgrade:
                downgrade(ready.database_url, args.revision or "base")
            else:
                upgrade(ready.database_url, args.revision or "heads")
    return 0


def cmd_schema(settings: Settings, args: argparse.Namespace) -> int:
    from schema.api import sdl

    sys.stdout.write(sdl())
    return 0


def cmd_healthcheck(settings: Settings, args: argparse.Namespace) -> int:
    """Exit 0 when healthy: the app's readiness endpoint, or (--worker) every queue's
    worker heartbeat in Redis. For container healthchecks; prints nothing on success."""
    if args.worker:
        from redis import Redis

        from server.jobs.queues import QUEUES, health_key

        if not settings.redis_url:
            sys.stderr.write("REDIS_URL is not set\n")
            return 1
        client = Redis.from_url(settings.redis_url, socket_timeout=3)
        try:
            missing = [q for q in QUEUES if not client.exists(health_key(q))]
        except OSError as exc:
            sys.stderr.write(f"redis: {exc}\n")
            return 1
        finally:
            client.close()
        if missing:
            sys.stderr.write(f"no worker heartbeat for {', '.join(missing)}\n")
        return 1 if missing else 0
    import urllib.error
    import urllib.request

    url = args.url or f"http://127.0.0.1:{settings.port}/health/ready"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - our own URL
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError) as exc:
        sys.stderr.write(f"{url}: {exc}\n")
        return 1


def cmd_trusted_documents(settings: Settings, args: argparse.Namespace) -> int:
    from schema.api import schema
    from schema.persisted.checks import document_checker

    with services(settings, reuse_running=True) as ready:
        return trusted_documents.run(ready, args, document_checker(schema._schema, ready))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="eventapi", description="Event platform GraphQL API")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the API (embedded PostgreSQL and Redis by default)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument(
        "--forwarded-allow-ips",
        help="proxies whose X-Forwarded-* headers are trusted "
        "(default: FORWARDED_ALLOW_IPS, else 127.0.0.1)",
    )
    serve.add_argument(
        "--workers",
        type=int,
        help="app processes sharing the port (default: WEB_CONCURRENCY, else 1)",
    )
    serve.set_defaults(func=cmd_serve)
    worker = sub.add_parser("worker", help="run the background job workers")
    worker.add_argument("--queue", action="append", help="only this queue (repeatable)")
    worker.add_argument("--metrics-port", type=int, help="serve Prometheus /metrics on this port")
    worker.set_defaults(func=cmd_worker)
    migrate = sub.add_parser("migrate", help="apply database migrations")
    migrate.add_argument("revision", nargs="?")
    migrate.add_argument("--downgrade", action="store_true")
    migrate.set_defaults(func=cmd_migrate)
    schema = sub.add_parser("schema", help="print the GraphQL schema (SDL)")
    schema.set_defaults(func=cmd_schema)
    check = sub.add_parser("healthcheck", help="exit 0 if the app (or --worker) is healthy")
    check.add_argument("--url", help="default: http://127.0.0.1:PORT/health/ready")
    check.add_argument("--worker", action="store_true", help="check the workers' heartbeats")
    check.set_defaults(func=cmd_healthcheck)
    trusted = sub.add_parser("trusted-documents", help="an organization's trusted documents")
    trusted_documents.add_arguments(trusted)
    trusted.set_defaults(func=cmd_trusted_documents)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    try:
        return int(args.func(settings, args))
    except (EmbeddedError, CommandError) as exc:
        log.error(str(exc))
        return 1
    except Stopped as stop:
        log.info("stopped", signal=str(stop))
        return 0
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
