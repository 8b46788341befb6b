"""Helpers for the tenants file tests: one tenant `acme` with a webhook, written as TOML, and what
the service says when it refuses the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.tenants import TenantRegistry, TenantsFileError


def tenants_file(
    tmp_path: Path,
    url: str = "https://hooks.vendor.example/comfort",
    secret: str = "whsec-test-0123456789",
) -> Path:
    """`[tenants.acme]` posting to `url`, signing with `secret` (escaped so that the service
    reads exactly `secret` from the TOML basic string)."""
    escaped = secret.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    path = tmp_path / "tenants.toml"
    path.write_text(
        "[tenants.acme]\n"
        'api_key = "acme-key-0123456789abcdef"\n'
        f'webhook_url = "{url}"\n'
        f'webhook_secret = "{escaped}"\n',
        encoding="utf-8",
    )
    return path


def refused_with(path: Path) -> str:
    """The message with which reading the tenants file at `path` is refused."""
    with pytest.raises(TenantsFileError) as refused:
        TenantRegistry.from_file(path)
    return str(refused.value)
