"""Tenants: who may call the REST API, with which key, and how each platform signs for them.

API keys are kept only as SHA-256 digests and compared in constant time. Without a tenants file
the service runs in demo mode with one tenant, `demo`, whose random key is printed once at start.
The registry also holds the rules its tenants' `webhook_url`s must follow (contract §9.5), checked
as the file is read and again by the vendor outbox at each delivery, and a `webhook_secret` must
yield a Standard Webhooks signing key (§9.6: `whsec_` and base64, or plain text).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import tomllib
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from .cues import CueSettings
from .errors import validation_message
from .safety import SafetyPlan
from .webhook_targets import WebhookTargetRefused, WebhookTargets

DEMO_TENANT = "demo"
WHSEC_PREFIX = "whsec_"  # a Standard Webhooks secret: base64 of the key follows

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


def standard_webhooks_key(webhook_secret: str) -> bytes:
    """The key of the `webhook-signature` HMAC (contract §9.6): the base64-decoded remainder of a
    `whsec_` secret (a Standard Webhooks or Svix secret, pasted as given), else the UTF-8 bytes.

    Only canonical, padded standard base64 is taken: the `standardwebhooks` libraries do not read
    anything else alike (Python's drops characters outside the alphabet and pads what is short;
    npm's refuses some of it and reads the rest its own way), so it would verify with some of them
    and not others.

    Raises:
        ValueError: the secret is empty, is not UTF-8 text (a lone surrogate), or starts with
            `whsec_` and the rest is not base64 of a key; the message never quotes the secret.
    """
    if not webhook_secret:
        raise ValueError("is empty; deliveries cannot be signed with it")
    try:
        as_written = webhook_secret.encode()  # the key of Comfort-Signature, whatever the form
    except UnicodeEncodeError:
        raise ValueError("holds a lone surrogate, which has no UTF-8 bytes") from None
    if not webhook_secret.startswith(WHSEC_PREFIX):
        return as_written
    encoded = webhook_secret.removeprefix(WHSEC_PREFIX)
    try:
        key = base64.b64decode(encoded, validate=True)
    except ValueError:  # binascii.Error, or a character beyond ASCII
        key = b""
    if not key or base64.b64encode(key).decode() != encoded:
        raise ValueError(
            "starts with whsec_, so the rest must be the signing key in standard base64 "
            "(A-Z a-z 0-9 + /, padded with =, no spaces), as a Standard Webhooks secret is; "
            "paste it exactly as given, or use a secret without the whsec_ prefix"
        )
    return key


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
    # The default `settings.safety` (contract §9.2); a session's own plan replaces it whole.
    safety: SafetyPlan | None = None

    @field_validator("webhook_secret")
    @classmethod
    def _check_webhook_secret(cls, secret: SecretStr | None) -> SecretStr | None:
        if secret is not None:
            standard_webhooks_key(secret.get_secret_value())
        return secret

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
        try:  # a bad default would refuse every session of the tenant
            CueSettings.model_validate(self.cues)
        except ValidationError as exc:
            raise ValueError(f"cues: {validation_message(exc, subject='cues')}") from None
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
            raw = tomllib.loads(path.read_bytes().decode())  # TOML is UTF-8, whatever the locale
        except OSError as exc:
            raise TenantsFileError(f"cannot read tenants file {path}: {exc.strerror}") from exc
        except UnicodeDecodeError as exc:  # a secret pasted in another encoding, say: not quoted
            raise TenantsFileError(
                f"tenants file {path} is not UTF-8 text (byte {exc.start})"
            ) from None
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
