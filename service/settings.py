"""Service settings: one pydantic-settings model read from `COMFORT_*` environment variables.

The secret key is generated once and kept in the data directory when it is not given, so a
single-machine install survives restarts without configuration.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated

import structlog
from pydantic import Field, IPvAnyNetwork, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

log = structlog.get_logger(__name__)


class Settings(BaseSettings):
    """Everything an operator can set; see the README's configuration table."""

    model_config = SettingsConfigDict(env_prefix="COMFORT_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    database_url: str = "sqlite:///./var/comfort.db"
    redis_url: str | None = None
    secret_key: SecretStr | None = None
    tenants_file: Path | None = None
    public_url: str | None = None
    allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    token_ttl_seconds: int = Field(default=14400, ge=60)
    demo: bool | None = None
    max_frame_bytes: int = Field(default=65536, ge=1024)
    # Extension: per-participant send rate (events per second) and burst.
    send_rate: float = Field(default=10.0, gt=0)
    send_burst: int = Field(default=20, ge=1)
    # Extension: how long a process waits before logging a vanished participant as left.
    presence_grace_seconds: float = Field(default=30.0, ge=0)
    # Extension: how often a process checks its sessions' heads against the store.
    catchup_interval_seconds: float = Field(default=2.0, gt=0)
    # Extension: packets queued for one socket before it is closed as too slow (it replays).
    max_socket_queue: int = Field(default=1000, ge=10)
    # Extension: failed API keys allowed per client address a minute before 429.
    auth_failure_limit: int = Field(default=10, ge=1)
    # Extension: false runs python-engineio and aiohttp without the patches of
    # service/realtime/transport.py (no private name touched; slower under load).
    transport_patches: bool = True
    # §9.5: one participant's connections on one process; one more is `too_many_connections`.
    max_sockets_per_participant: int = Field(default=5, ge=1)
    # Extension: a socket must send Socket.IO's CONNECT this soon after it opens, or is closed;
    # at most this many wait for theirs at once, and this many per client address once they
    # have waited a second (a client sends CONNECT at once: only a holder waits that long).
    connect_deadline_seconds: float = Field(default=10.0, gt=0)
    max_pending_sockets: int = Field(default=1000, ge=1)
    max_pending_sockets_per_address: int = Field(default=20, ge=1)
    # Extension: while the median lag of the event loop over its last 50 ticks of 100 ms is at
    # least this, new Socket.IO connections are refused with `busy` and a `retry_after_s`
    # (0: never refused).
    busy_lag_ms: float = Field(default=50.0, ge=0)
    # §9.5: /metrics on a listener of its own (the public one answers 404 there) once set; it
    # binds metrics_host, which defaults to host.
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    metrics_host: str | None = None
    # §9.5: the proxies (addresses or CIDRs) whose X-Forwarded-For / Forwarded name the client.
    trusted_proxies: Annotated[list[IPvAnyNetwork], NoDecode] = Field(default_factory=list)
    # Extension: a request body (REST or webhook) must arrive whole this soon once its handler
    # reads it, or the request is answered 408 `request_timeout`.
    body_timeout_seconds: float = Field(default=10.0, gt=0)
    # Extension: sessions not ended one tenant may hold; one more is 429 `quota_exceeded`
    # (0: no limit).
    max_sessions_per_tenant: int = Field(default=1000, ge=0)
    # §9.5: waives the vendor webhook URL rules (https, no private addresses): development only.
    allow_private_webhooks: bool = False
    # Extension: audit entries older than this are deleted by `comfort purge --audit-archive`
    # (archived first). Six years: HIPAA's documentation retention (45 CFR 164.316(b)(2)(i)).
    audit_retention_days: int = Field(default=2190, ge=1)
    data_dir: Path = Path("./var")
    log_format: str = Field(default="auto", pattern="^(auto|json|console)$")
    log_level: str = "info"

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip().rstrip("/") for part in value.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _scale_out_needs_shared_secret(self) -> Settings:
        shared = self.redis_url is not None or self.database_url.startswith("postgres")
        if shared and self.secret_key is None:
            raise ValueError(
                "COMFORT_SECRET_KEY is required when COMFORT_REDIS_URL or a postgresql:// "
                "store is set: every process of one deployment must share it"
            )
        return self

    @model_validator(mode="after")
    def _metrics_listener_is_another_port(self) -> Settings:
        if self.metrics_port is not None and self.metrics_port == self.port:
            raise ValueError("COMFORT_METRICS_PORT must differ from COMFORT_PORT")
        return self

    @property
    def effective_metrics_host(self) -> str:
        return self.metrics_host or self.host

    @property
    def demo_mode(self) -> bool:
        """Demo mode: no tenants file; serves a `demo` tenant with a random key."""
        return self.tenants_file is None

    @property
    def demo_enabled(self) -> bool:
        return self.demo if self.demo is not None else self.demo_mode

    @property
    def effective_public_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"

    def resolved_secret_key(self) -> str:
        """The key that signs join tokens; generated and kept in `data_dir` when unset."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.touch(mode=0o600)
        path.write_text(key)
        log.warning("secret_key_generated", path=str(path))
        return key
