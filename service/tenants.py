"""Tenants: who may call the REST API, with which key, and how each platform signs for them.

API keys are kept only as SHA-256 digests and compared in constant time. Without a tenants file
the service runs in demo mode with one tenant, `demo`, whose random key is printed once at start.
The registry also holds the rules its tenants' `webhook_url`s must follow (contract §9.5), checked
as the file is read and again by the vendor outbox at each delivery.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from .webhook_targets import WebhookTargetRefused, WebhookTargets

DEMO_TENANT = "demo"

PLATFORM_KEYS: dict[str, tuple[str, ...]] = {
    "zoom": ("secret_token",),
    "daily": ("hmac",),
    "jaas": ("secret",),
    "jitsi": ("bearer_token",),
    "whereby": ("secret",),
    "livekit": ("api_key", "api_secret"),
    "twilio": ("auth_token",),
    "vonage": ("signature_secret",),
}


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


class TenantsFileError(ValueError):
    """The tenants file is missing, is not TOML, or does not match the documented shape."""


class Tenant(BaseModel):
    """One vendor account, as configured in the tenants file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    api_key_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    integrations: dict[str, dict[str, str]] = Field(default_factory=dict)
    # Extension: tenant-wide defaults for `settings.cues`, overridden per session.
    cues: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check_integrations(self) -> Tenant:
        for platform, keys in self.integrations.items():
            wanted = PLATFORM_KEYS.get(platform)
            if wanted is None:
                raise ValueError(f"unknown platform {platform!r} in integrations")
            missing = [k for k in wanted if not keys.get(k)]
            if missing:
                raise ValueError(f"integration {platform!r} lacks {', '.join(missing)}")
        if self.webhook_url and self.webhook_secret is None:
            raise ValueError("webhook_url needs webhook_secret to sign deliveries")
        return self

    def integration(self, platform: str) -> dict[str, str] | None:
        return self.integrations.get(platform)


class TenantRegistry:
    """Looks tenants up by id and by API key; knows where their webhooks may go."""

    def __init__(
        self, tenants: list[Tenant], webhook_targets: WebhookTargets | None = None
    ) -> None:
        self._by_id = {t.id: t for t in tenants}
        self.webhook_targets = webhook_targets or WebhookTargets()

    def __len__(self) -> int:
        return len(self._by_id)

    def get(self, tenant_id: str) -> Tenant | None:
        return self._by_id.get(tenant_id)

    def all(self) -> list[Tenant]:
        return list(self._by_id.values())

    def authenticate(self, api_key: str) -> Tenant | None:
        """The tenant whose key this is; compares every digest so timing reveals nothing."""
        digest = hash_key(api_key)
        found: Tenant | None = None
        for tenant in self._by_id.values():
            if hmac.compare_digest(digest, tenant.api_key_sha256):
                found = tenant
        return found

    @classmethod
    def from_file(cls, path: Path, *, allow_private_webhooks: bool = False) -> TenantRegistry:
        """Read and check a tenants file (`webhook_url`s resolved now, unless waived).

        Raises:
            TenantsFileError: the file is missing, malformed, or breaks a rule; the message
                names the tenant and the key.
        """
        targets = WebhookTargets(allow_private=allow_private_webhooks)
        try:
            raw = tomllib.loads(path.read_text())
        except OSError as exc:
            raise TenantsFileError(f"cannot read tenants file {path}: {exc.strerror}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise TenantsFileError(f"tenants file {path} is not valid TOML: {exc}") from exc
        table = raw.get("tenants")
        if not isinstance(table, dict) or not table:
            raise TenantsFileError(f"tenants file {path} has no [tenants.<id>] table")
        tenants = []
        for tenant_id, entry in table.items():
            if not isinstance(entry, dict):
                raise TenantsFileError(f"[tenants.{tenant_id}] must be a table")
            entry = dict(entry)
            api_key = entry.pop("api_key", None)
            if api_key is not None and "api_key_sha256" in entry:
                raise TenantsFileError(f"[tenants.{tenant_id}]: give api_key or api_key_sha256")
            if api_key is not None:
                if not isinstance(api_key, str) or len(api_key) < 16:
                    raise TenantsFileError(f"[tenants.{tenant_id}]: api_key of 16+ characters")
                entry["api_key_sha256"] = hash_key(api_key)
            elif isinstance(entry.get("api_key_sha256"), str):
                entry["api_key_sha256"] = entry["api_key_sha256"].lower()
            try:
                tenant = Tenant(id=tenant_id, **entry)
            except ValidationError as exc:
                problems = "; ".join(
                    f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
                )
                raise TenantsFileError(f"[tenants.{tenant_id}]: {problems}") from exc
            if tenant.webhook_url:
                try:
                    targets.check_at_load(tenant.webhook_url)
                except WebhookTargetRefused as exc:
                    raise TenantsFileError(f"[tenants.{tenant_id}]: webhook_url: {exc}") from None
            tenants.append(tenant)
        return cls(tenants, targets)

    @classmethod
    def demo(cls) -> tuple[TenantRegistry, str]:
        """A registry with the single `demo` tenant and its freshly generated key."""
        api_key = "demo_" + secrets.token_urlsafe(24)
        return cls([Tenant(id=DEMO_TENANT, api_key_sha256=hash_key(api_key))]), api_key
