"""One typed Settings object, read from the environment (or `.env`).

The variable names in DESIGN.md are part of the contract with operators: they are the
field names here, upper-cased by pydantic-settings.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

WEAK_SECRETS = {"", "secret", "changeme", "change-me", "dev", "development", "test"}
MIN_SECRET_LENGTH = 32


class Settings(BaseSettings):
    # An empty variable (`STRIPE_SECRET_KEY=`, as compose files and .env templates write
    # them) means unset, not an empty secret.
    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", frozen=False, env_ignore_empty=True
    )

    # Where things live
    database_url: str | None = None
    # Streaming replicas for read-heavy work (docs/scale.md): a JSON list or commas.
    database_replica_urls: Annotated[list[str], NoDecode] = []
    # Seconds a replica may trail the primary and still serve reads.
    replica_max_lag: float = Field(5.0, gt=0)
    replica_poll_interval: float = Field(0.5, gt=0, le=10)  # seconds between lag checks
    # DATABASE_URL (and the replica URLs) go through a transaction-pooling proxy (PgBouncer
    # with pool_mode = transaction): no statement may outlive its transaction, so the
    # driver's named, cached prepared statements are turned off (docs/scale.md).
    database_transaction_pooling: bool = False
    redis_url: str | None = None
    data_dir: Path = Path(".data")
    host: str = "127.0.0.1"
    port: int = 8000
    environment: Literal["development", "production"] = "development"
    public_base_url: str | None = None  # used in mails and links; defaults to http://HOST:PORT

    # Identity
    jwt_secret: SecretStr | None = None
    ticket_secret: SecretStr | None = None
    access_token_ttl: int = Field(900, gt=0)
    refresh_token_ttl: int = Field(604800, gt=0)
    bcrypt_rounds: int = Field(10, ge=4, le=16)
    cookie_secure: bool | None = None  # None: Secure unless plain-http development
    allowed_origins: list[str] = []  # browser origins allowed to use the refresh cookie
    # Sign-in attempts per account (docs/identity.md): this many freely, then each further
    # attempt waits for a lock that doubles from LOGIN_BACKOFF_BASE up to LOGIN_BACKOFF_MAX
    # seconds; the count is forgotten after LOGIN_FAILURE_MEMORY quiet seconds.
    login_free_attempts: int = Field(5, ge=1)
    login_backoff_base: int = Field(1, ge=1)
    login_backoff_max: int = Field(900, ge=1)
    login_failure_memory: int = Field(43200, ge=1)
    login_device_ttl: int = Field(365 * 86400, ge=0)  # how long a device stays known

    # Guards
    rate_limit_authenticated: int = Field(1000, gt=0)
    rate_limit_anonymous: int = Field(100, gt=0)
    rate_limit_window: int = Field(3600, gt=0)
    max_body_size: int = Field(1_000_000, gt=0)
    max_upload_size: int = Field(50_000_000, gt=0)
    # Largest event asset per kind, bytes (each also bounded by MAX_UPLOAD_SIZE)
    asset_max_image_size: int = Field(10_000_000, gt=0)
    asset_max_seatmap_render_size: int = Field(20_000_000, gt=0)
    asset_max_pdf_size: int = Field(20_000_000, gt=0)
    asset_max_video_size: int = Field(50_000_000, gt=0)
    introspection: bool | None = None  # None: on in development, off in production
    graphiql: bool | None = None
    query_max_depth: int = 12
    query_max_aliases: int = 30
    query_max_tokens: int = 5000
    query_max_cost: int = 50_000
    query_max_fields: int = Field(500, gt=0)  # fields written in one document
    # Memory the parse/validation cache may hold per app process, bytes
    query_cache_bytes: int = Field(64 * 2**20, ge=0)
    persisted_queries_only_for_api_keys: bool = False

    # Commerce
    order_ttl: int = Field(900, gt=0)
    # Milliseconds an order waits for a row another transaction holds before it is answered
    # CONFLICT (try again) rather than hanging.
    order_lock_timeout: int = Field(5000, gt=0)
    platform_fee_percent: str = "0"  # decimal percent, e.g. "2.5"
    platform_fee_fixed: int = Field(0, ge=0)  # minor units, in the order's currency
    stripe_secret_key: SecretStr | None = None
    stripe_webhook_secret: SecretStr | None = None
    stripe_api_base: str | None = None
    paystack_secret_key: SecretStr | None = None
    paystack_api_base: str = "https://api.paystack.co"
    test_payments: bool | None = None  # None: on in development

    # Mail and outbound webhooks
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "tickets@eventapi.local"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    webhook_allow_private_urls: bool = False
    webhook_timeout: float = Field(10.0, gt=0)  # seconds per delivery attempt
    webhook_max_attempts: int = Field(10, ge=1, le=50)  # then the delivery is dead-lettered
    webhook_retry_base: float = Field(30.0, ge=0)  # seconds; doubles per attempt, full jitter
    webhook_retry_max: float = Field(21600.0, gt=0)  # cap on one retry delay (6 hours)

    # Runtime
    db_pool_size: int = Field(20, gt=0)
    db_max_overflow: int = Field(20, ge=0)
    worker_in_process: bool | None = None  # None: on when running embedded
    # App processes `eventapi serve` runs (one Python process uses one core at most).
    web_concurrency: int = Field(1, ge=1, le=64)
    worker_concurrency: int = Field(10, gt=0)
    job_timeout: float = Field(300.0, gt=0)  # seconds a job may run before it counts as failed
    worker_metrics_port: int | None = None  # `eventapi worker` serves /metrics here when set
    # Bearer token a scraper presents for the app's /metrics; without it, production has none
    metrics_token: SecretStr | None = None
    log_level: str = "INFO"
    log_format: Literal["json", "console"] = "json"

    @field_validator("database_replica_urls", mode="before")
    @classmethod
    def _replica_list(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                import json

                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _login_backoff_is_bounded(self) -> Settings:
        if self.login_backoff_base > self.login_backoff_max:
            raise ValueError("LOGIN_BACKOFF_BASE may not exceed LOGIN_BACKOFF_MAX")
        if self.login_failure_memory <= self.login_backoff_max:
            # A count forgotten while its lock still runs would restart the doubling.
            raise ValueError("LOGIN_FAILURE_MEMORY must exceed LOGIN_BACKOFF_MAX")
        return self

    @model_validator(mode="after")
    def _refuse_weak_secrets_in_production(self) -> Settings:
        if self.environment != "production":
            return self
        problems = []
        secret = self.jwt_secret.get_secret_value() if self.jwt_secret else ""
        if secret.lower() in WEAK_SECRETS or len(secret) < MIN_SECRET_LENGTH:
            problems.append(f"JWT_SECRET must be set to at least {MIN_SECRET_LENGTH} characters")
        if not self.database_url:
            problems.append("DATABASE_URL must be set in production")
        if not self.redis_url:
            problems.append("REDIS_URL must be set in production")
        if self.test_payments:
            problems.append("TEST_PAYMENTS must be off in production")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def embedded(self) -> bool:
        return not self.database_url or not self.redis_url

    @property
    def introspection_enabled(self) -> bool:
        return self.introspection if self.introspection is not None else not self.is_production

    @property
    def graphiql_enabled(self) -> bool:
        return self.graphiql if self.graphiql is not None else not self.is_production

    @property
    def test_payments_enabled(self) -> bool:
        return self.test_payments if self.test_payments is not None else not self.is_production

    @property
    def base_url(self) -> str:
        return (self.public_base_url or f"http://{self.host}:{self.port}").rstrip("/")

    @cached_property
    def jwt_key(self) -> str:
        """The access-token signing key; in development generated once into DATA_DIR."""
        if self.jwt_secret is not None and self.jwt_secret.get_secret_value():
            return self.jwt_secret.get_secret_value()
        return _generated_secret(self.data_dir / "secrets" / "jwt_secret")

    @cached_property
    def ticket_signing_key(self) -> bytes:
        """HMAC key for ticket QR payloads: TICKET_SECRET, else derived from the JWT key, so
        every app instance of one deployment verifies the same codes."""
        if self.ticket_secret is not None and self.ticket_secret.get_secret_value():
            return self.ticket_secret.get_secret_value().encode()
        return hmac.new(self.jwt_key.encode(), b"eventapi ticket qr v1", hashlib.sha256).digest()


def _generated_secret(path: Path) -> str:
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    # O_EXCL so two processes starting at once agree on one secret.
    try:
        with path.open("x") as handle:
            handle.write(value)
        path.chmod(0o600)
    except FileExistsError:
        return path.read_text().strip()
    return value


def get_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
