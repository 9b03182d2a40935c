"""Settings, read once at start-up from `ULTUDY_*` environment variables (or `.env`)."""

from __future__ import annotations

import logging
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ultudy.db.urls import normalize_database_url
from ultudy.errors import ConfigError
from ultudy.logs import LogFormat

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
MIN_SECRET_KEY_CHARS = 32  # 32 characters of secrets.token_urlsafe: 192 bits


class AuthMode(StrEnum):
    DEV = "dev"
    TOKEN = "token"


class Settings(BaseSettings):
    """Everything configurable. Each field is documented in the README's configuration table."""

    model_config = SettingsConfigDict(env_prefix="ULTUDY_", env_file=".env", extra="ignore")

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8000
    data_dir: Path = Path(".ultudy")
    database_url: str | None = None
    database_system_url: str | None = None
    redis_url: str | None = None
    redis_prefix: str = "ultudy"
    auth: AuthMode = AuthMode.DEV
    secret_key: str | None = None
    token_ttl_s: Annotated[int, Field(gt=0)] = 30 * 24 * 3600
    cors_origins: str = ""  # comma list of other origins allowed to call the API (CORS)

    concurrency_material_upload: Annotated[int, Field(ge=1)] = 5
    concurrency_lesson_generation: Annotated[int, Field(ge=1)] = 5
    concurrency_check_in_evaluation: Annotated[int, Field(ge=1)] = 10
    max_attempts: Annotated[int, Field(ge=1, le=25)] = 3
    backoff_ms: Annotated[int, Field(ge=0)] = 2000
    lock_duration_ms: Annotated[int, Field(ge=1000)] = 30000
    stalled_interval_ms: Annotated[int, Field(ge=1000)] = 30000
    shutdown_grace_s: Annotated[float, Field(ge=0)] = 30.0
    progress_interval_ms: Annotated[int, Field(ge=0)] = 250
    reconcile_interval_s: Annotated[float, Field(gt=0)] = 30.0
    reconcile_min_age_s: Annotated[float, Field(ge=0)] = 10.0
    retention_completed_s: Annotated[int, Field(ge=0)] = 24 * 3600
    retention_completed_count: Annotated[int, Field(ge=0)] = 1000
    retention_failed_s: Annotated[int, Field(ge=0)] = 7 * 24 * 3600
    event_stream_maxlen: Annotated[int, Field(ge=10)] = 1000
    event_stream_ttl_s: Annotated[int, Field(ge=60)] = 24 * 3600
    # minutes of per-minute completed/failed counts BullMQ keeps per queue (0: none)
    metrics_history_min: Annotated[int, Field(ge=0, le=20160)] = 1440

    processors: str = "ultudy.processors:REGISTRY"
    max_upload_mb: Annotated[int, Field(ge=1)] = 50
    pdf_max_pages: Annotated[int, Field(ge=1)] = 2000
    pdf_max_chars_per_page: Annotated[int, Field(ge=1)] = 100_000
    pdf_max_chars: Annotated[int, Field(ge=1)] = 5_000_000
    pdf_max_render_pixels: Annotated[int, Field(ge=10_000)] = 4096 * 4096
    pdf_time_limit_s: Annotated[float, Field(gt=0)] = 120.0
    pdf_memory_limit_mb: Annotated[int, Field(ge=128)] = 1024
    max_json_kb: Annotated[int, Field(ge=1)] = 1024
    max_stored_mb_per_user: Annotated[int, Field(ge=1)] = 500
    max_pending_jobs_per_user: Annotated[int, Field(ge=1)] = 100
    max_streams_per_user: Annotated[int, Field(ge=1)] = 5
    fair_sharing: bool = True
    job_row_retention_days: Annotated[int, Field(ge=0)] = 90  # 0: keep forever
    llm_provider: str = "offline"
    llm_base_url: str | None = None
    llm_api_key: str | None = None
    llm_model: str | None = None
    poll_interval_ms: Annotated[int, Field(ge=100)] = 2000
    sse_ping_s: Annotated[float, Field(gt=0)] = 15.0
    log_level: str = "INFO"
    log_format: LogFormat = LogFormat.TEXT
    # A worker's own /metrics (prometheus_client's server); unset: none. 0 picks a free port.
    metrics_port: Annotated[int | None, Field(ge=0, le=65535)] = None
    metrics_host: str = "127.0.0.1"
    access_log: bool = False

    schedule_poll_s: Annotated[float, Field(gt=0)] = 1.0
    schedule_min_interval_s: Annotated[int, Field(ge=1)] = 60
    max_schedules_per_user: Annotated[int, Field(ge=1)] = 20
    notify_after_s: Annotated[float, Field(ge=0)] = 60.0
    notify_digest_s: Annotated[float, Field(ge=0)] = 10.0
    smtp_url: str | None = None  # smtp://user:pw@host:587 (STARTTLS) or smtps://…:465 (TLS)
    smtp_from: str = "Ultudy <noreply@localhost>"
    smtp_timeout_s: Annotated[float, Field(gt=0)] = 30.0
    smtp_ca_file: Path | None = None  # CA bundle for a relay whose certificate is private
    public_url: str = ""  # base of the links in emails; default http://HOST:PORT

    @field_validator("database_url", "database_system_url")
    @classmethod
    def _normalize_database_url(cls, value: str | None) -> str | None:
        return normalize_database_url(value) if value else None

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        if value.upper() not in logging.getLevelNamesMapping():
            raise ValueError("is not a logging level (DEBUG, INFO, WARNING, ERROR)")
        return value

    @model_validator(mode="after")
    def _check_auth(self) -> Settings:
        if self.auth is AuthMode.TOKEN and not self.secret_key:
            raise ValueError("ULTUDY_AUTH=token needs ULTUDY_SECRET_KEY (a long random string)")
        if self.secret_key and len(self.secret_key) < MIN_SECRET_KEY_CHARS:
            raise ValueError(
                f"ULTUDY_SECRET_KEY is too short ({len(self.secret_key)} characters; at least "
                f"{MIN_SECRET_KEY_CHARS}): make one with "
                "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
            )
        return self

    @property
    def resolved_public_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'ultudy.db').resolve()}"

    @property
    def resolved_system_database_url(self) -> str:
        """The login for cross-owner work (worker writes, reconciler, admin): on PostgreSQL
        the tables' owner, which row-level security does not bind; see `db.roles`."""
        return self.database_system_url or self.resolved_database_url

    def check_bind(self) -> None:
        """Dev auth trusts a header, so it must never listen beyond this machine."""
        if self.auth is AuthMode.DEV and self.host not in LOOPBACK_HOSTS:
            raise ConfigError(
                f"ULTUDY_AUTH=dev trusts the x-user-id header and only binds to loopback; "
                f"refusing ULTUDY_HOST={self.host}. Use ULTUDY_AUTH=token to serve a network."
            )
