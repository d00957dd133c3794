"""compose.yml describes the production shape (a PostgreSQL primary and a streaming replica,
PgBouncer in front of both, Redis, two app instances behind nginx, a worker), with
healthchecks and settings from the configuration table. Docker is not available where
tests run, so it is checked structurally, by `docker-compose config` when that binary
exists, and the nginx config by `nginx -t` when nginx exists (tests/server/scale run
nginx and PgBouncer with these files)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from server.config import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose.yml"
NGINX = ROOT / "deploy" / "nginx.conf"
APPS = ("app1", "app2")
LONG_RUNNING = ("postgres", "replica", "pgbouncer", "redis", "app1", "app2", "worker", "nginx")
SECRETS = {"JWT_SECRET": "j" * 40, "POSTGRES_PASSWORD": "pw", "REPLICATION_PASSWORD": "rp"}
PGBOUNCER = ROOT / "deploy" / "pgbouncer" / "pgbouncer.ini"
NOT_SETTINGS = {"FORWARDED_ALLOW_IPS"}  # read by uvicorn


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    yaml = pytest.importorskip("yaml")
    return yaml.safe_load(COMPOSE.read_text())  # type: ignore[no-any-return]


def env_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    assert isinstance(env, dict)
    return {k: str(v) for k, v in env.items()}


def test_the_services_of_the_production_shape(compose: dict[str, Any]) -> None:
    services = compose["services"]

    assert set(LONG_RUNNING) <= set(services)
    assert services["postgres"]["image"].startswith("postgres:18")
    assert services["redis"]["image"].startswith("redis:")
    for name in (*APPS, "worker", "migrate"):
        assert services[name]["build"]["dockerfile"] == "deploy/Dockerfile"
    assert (ROOT / "deploy" / "Dockerfile").exists()
    assert services["worker"]["command"] == ["eventapi", "worker"]
    assert services["migrate"]["command"] == ["eventapi", "migrate"]
    for name in APPS:
        assert services[name]["command"][:2] == ["eventapi", "serve"]


def test_every_long_running_service_has_a_healthcheck(compose: dict[str, Any]) -> None:
    for name in LONG_RUNNING:
        check = compose["services"][name].get("healthcheck")
        assert check and check.get("test"), f"{name} has no healthcheck"


def test_apps_start_after_healthy_dependencies_and_migrations(compose: dict[str, Any]) -> None:
    for name in (*APPS, "worker"):
        depends = compose["services"][name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["pgbouncer"]["condition"] == "service_healthy"
        assert depends["redis"]["condition"] == "service_healthy"
        assert depends["migrate"]["condition"] == "service_completed_successfully"
    nginx = compose["services"]["nginx"]["depends_on"]
    assert {name: nginx[name]["condition"] for name in APPS} == {
        "app1": "service_healthy",
        "app2": "service_healthy",
    }


def test_the_apps_are_configured_from_the_configuration_table(compose: dict[str, Any]) -> None:
    known = {name.upper() for name in Settings.model_fields}
    for name in (*APPS, "worker"):
        env = env_of(compose["services"][name])
        assert env["ENVIRONMENT"] == "production"
        # The primary and the replica, both through PgBouncer's transaction pooling.
        assert env["DATABASE_URL"].startswith("postgresql+asyncpg://")
        assert env["DATABASE_URL"].endswith("@pgbouncer:6432/eventapi")
        assert env["DATABASE_TRANSACTION_POOLING"] == "true"
        [replica] = json.loads(env["DATABASE_REPLICA_URLS"])
        assert replica.endswith("@pgbouncer:6432/eventapi_replica")
        assert env["REDIS_URL"].startswith("redis://redis:6379")
        assert "JWT_SECRET" in env and "${JWT_SECRET" in env["JWT_SECRET"]
        assert env["WORKER_IN_PROCESS"] == "false"
        assert env["TEST_PAYMENTS"] == "false"
        unknown = set(env) - known - NOT_SETTINGS
        assert unknown == set(), f"{name} sets variables no setting reads: {unknown}"
    # Both app instances run the same configuration.
    assert env_of(compose["services"]["app1"]) == env_of(compose["services"]["app2"])


def test_the_replica_streams_from_the_primary_and_migrations_bypass_the_pooler(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    replica = services["replica"]
    script = (ROOT / "deploy" / "postgres" / "replica.sh").read_text()
    init = (ROOT / "deploy" / "postgres" / "init-replication.sh").read_text()
    migrate = env_of(services["migrate"])

    assert replica["image"] == services["postgres"]["image"]
    assert replica["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert any(v.endswith("/usr/local/bin/replica.sh:ro") for v in replica["volumes"])
    assert "pg_basebackup" in script and " -R " in script and "hot_standby=on" in script
    assert "REPLICATION" in init and "host replication replicator" in init
    assert migrate["DATABASE_URL"].endswith("@postgres:5432/eventapi")
    assert migrate["DATABASE_TRANSACTION_POOLING"] == "false"


def test_pgbouncer_pools_transactions_and_drops_what_clients_leave_prepared(
    compose: dict[str, Any],
) -> None:
    import configparser

    parser = configparser.ConfigParser(comment_prefixes=(";",))
    parser.read_string(PGBOUNCER.read_text())
    settings = parser["pgbouncer"]
    entrypoint = (ROOT / "deploy" / "pgbouncer" / "entrypoint.sh").read_text()

    assert settings["pool_mode"] == "transaction"
    assert settings["server_reset_query"] == "DEALLOCATE ALL"
    assert settings["server_reset_query_always"] == "1"
    assert "eventapi_replica = host=${REPLICA_HOST}" in entrypoint
    assert "pgbouncer" in (ROOT / "deploy" / "pgbouncer" / "Dockerfile").read_text()
    assert compose["services"]["pgbouncer"]["build"]["context"] == "deploy/pgbouncer"


def test_nginx_balances_both_instances_and_upgrades_websockets(compose: dict[str, Any]) -> None:
    nginx = compose["services"]["nginx"]
    conf = NGINX.read_text()
    mounted = [v for v in nginx["volumes"] if v.startswith("./deploy/nginx.conf:")]

    assert mounted, "nginx does not mount deploy/nginx.conf"
    upstream = re.search(r"upstream eventapi \{(.*?)\}", conf, re.S)
    assert upstream is not None
    servers = re.findall(r"server (\S+?)[ ;]", upstream.group(1))
    assert sorted(servers) == ["app1:8000", "app2:8000"]
    graphql = re.search(r"location = /graphql \{(.*?)\}", conf, re.S)
    assert graphql is not None
    assert "proxy_set_header Upgrade $http_upgrade" in graphql.group(1)
    assert "proxy_set_header Connection $connection_upgrade" in graphql.group(1)
    assert "proxy_http_version 1.1" in graphql.group(1)
    # The apps trust X-Forwarded-For from anyone (FORWARDED_ALLOW_IPS="*"), so nginx must
    # set it, not append a client-sent value to it.
    assert conf.count("proxy_set_header X-Forwarded-For $remote_addr;") == 2
    assert "$proxy_add_x_forwarded_for" not in conf
    # A sent POST (a mutation) is never passed to the other instance: only idempotent
    # requests are retried once sent (nginx's default, as long as `non_idempotent` is off).
    assert conf.count("proxy_next_upstream error timeout http_502 http_503;") == 2
    assert not re.search(r"^\s*proxy_next_upstream[^;]*non_idempotent", conf, re.M)
    app_env = compose["services"]["app1"]["environment"]
    assert app_env["FORWARDED_ALLOW_IPS"] == "*"
    assert any(str(p).endswith(":80") for p in nginx["ports"])


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose not installed")
def test_docker_compose_validates_the_file() -> None:
    result = subprocess.run(
        ["docker-compose", "-f", str(COMPOSE), "config", "--quiet"],
        capture_output=True,
        text=True,
        env={**os.environ, **SECRETS},
        cwd=ROOT,
        check=False,
    )

    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose not installed")
def test_docker_compose_refuses_to_run_without_the_secrets() -> None:
    env = {k: v for k, v in os.environ.items() if k not in SECRETS}

    result = subprocess.run(
        ["docker-compose", "-f", str(COMPOSE), "config", "--quiet"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
    )

    assert result.returncode != 0
    assert "JWT_SECRET" in result.stderr or "POSTGRES_PASSWORD" in result.stderr


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx not installed")
def test_nginx_accepts_its_config(tmp_path: Path) -> None:
    # The upstream names resolve only inside compose; point them at loopback for `-t`.
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        NGINX.read_text().replace("app1:8000", "127.0.0.1:1").replace("app2:8000", "127.0.0.1:2")
    )

    result = subprocess.run(
        ["nginx", "-t", "-c", str(conf), "-g", f"pid {tmp_path / 'nginx.pid'};"],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr


def test_an_empty_variable_means_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    # compose passes optional secrets as `${STRIPE_SECRET_KEY:-}`, i.e. empty when unset.
    monkeypatch.setenv("STRIPE_SECRET_KEY", "")
    monkeypatch.setenv("SMTP_HOST", "")
    monkeypatch.setenv("COOKIE_SECURE", "")

    settings = Settings(_env_file=None)  # type: ignore[call-arg]

    assert settings.stripe_secret_key is None
    assert settings.smtp_host is None
    assert settings.cookie_secure is None
