"""service/webhook_targets.py and the tenants file: vendor `webhook_url`s must be https and must
not resolve to loopback, link-local, private (RFC 1918, 100.64/10, IPv6 ULA), unspecified or
IPv4-mapped forms of these (contract §9.5), refused when the file is read with a message naming
`webhook_url`; COMFORT_ALLOW_PRIVATE_WEBHOOKS=1 waives the rules. The checks at each delivery are
in tests/service/test_outbox.py."""

from __future__ import annotations

import ipaddress
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from service.app import create_app
from service.settings import Settings
from service.tenants import TenantRegistry, TenantsFileError
from service.webhook_targets import WebhookTargets, refusal
from tests.service.tenants_helpers import refused_with, tenants_file
from tests.support import SECRET

ROOT = Path(__file__).resolve().parents[2]

REFUSED_URLS = [
    "http://hooks.vendor.example/comfort",  # not https
    "ftp://hooks.vendor.example/comfort",
    "https:///comfort",  # no host
    "https://localhost/comfort",  # resolves (/etc/hosts) to loopback
    "https://127.0.0.1/comfort",
    "https://127.1/comfort",  # legacy IPv4 forms, which resolvers read as 127.0.0.1
    "https://2130706433/comfort",
    "https://0x7f.1/comfort",
    "https://[::1]:8443/comfort",
    "https://10.0.0.5/comfort",
    "https://172.16.3.4/comfort",
    "https://192.168.1.1/comfort",
    "https://100.64.0.1/comfort",
    "https://169.254.169.254/latest/meta-data",  # the cloud metadata service
    "https://[fe80::1%25eth0]/comfort",
    "https://[fd00::1]/comfort",
    "https://0.0.0.0/comfort",
    "https://[::]/comfort",
    "https://[::ffff:127.0.0.1]/comfort",
    "https://[::ffff:10.1.2.3]/comfort",
    "https://[::ffff:169.254.169.254]/comfort",
]


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_the_tenants_file_refuses_a_webhook_url_that_is_not_public_https(
    tmp_path: Path, url: str
) -> None:
    message = refused_with(tenants_file(tmp_path, url))
    assert message.startswith("[tenants.acme]: webhook_url: "), message
    assert "COMFORT_ALLOW_PRIVATE_WEBHOOKS" in message or "host" in message, message
    # Waived (development), each is accepted.
    registry = TenantRegistry.from_file(tenants_file(tmp_path, url), allow_private_webhooks=True)
    assert registry.get("acme") is not None and registry.webhook_targets.allow_private


@pytest.mark.parametrize(
    "url",
    [
        "https://8.8.8.8/comfort",
        "https://[2606:4700:4700::1111]/comfort",
        "https://[::ffff:8.8.8.8]/comfort",  # a public IPv4 address written as IPv6
        # A name that does not resolve yet: each delivery resolves it again.
        "https://hooks.vendor.example/comfort",
    ],
)
def test_public_https_webhook_urls_are_accepted(tmp_path: Path, url: str) -> None:
    registry = TenantRegistry.from_file(tenants_file(tmp_path, url))
    tenant = registry.get("acme")
    assert tenant is not None and tenant.webhook_url == url
    assert not registry.webhook_targets.allow_private


def test_the_shipped_example_passes_the_rules() -> None:
    example = tomllib.loads((ROOT / "deploy" / "tenants.example.toml").read_text())
    for tenant in example["tenants"].values():
        WebhookTargets().check_at_load(tenant["webhook_url"])


def test_comfort_serve_and_check_tenants_refuse_it_unless_waived(tmp_path: Path) -> None:
    path = tenants_file(tmp_path, "https://localhost:8443/comfort")
    settings = {"tenants_file": path, "data_dir": tmp_path, "secret_key": SECRET}
    with pytest.raises(TenantsFileError, match="webhook_url"):
        create_app(Settings(**settings))
    assert create_app(Settings(**settings, allow_private_webhooks=True))

    def check_tenants(**env: str) -> subprocess.CompletedProcess[str]:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("COMFORT_")}
        return subprocess.run(
            [sys.executable, "-m", "service", "check-tenants", str(path)],
            env={**environ, **env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    refused = check_tenants()
    assert refused.returncode == 1
    assert "[tenants.acme]: webhook_url: the host localhost resolves to 127.0.0.1" in (
        refused.stderr
    )
    waived = check_tenants(COMFORT_ALLOW_PRIVATE_WEBHOOKS="1")
    assert waived.returncode == 0 and "acme: no platforms; webhook set" in waived.stdout


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.0.9", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("10.0.0.1", "private"),
        ("172.31.255.255", "private"),
        ("192.168.0.1", "private"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("100.64.0.1", "shared"),
        ("100.127.255.254", "shared"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("::ffff:127.0.0.1", "IPv6 form of a loopback"),
        ("::ffff:192.168.1.1", "IPv6 form of a private"),
        ("::ffff:100.64.0.1", "IPv6 form of a shared"),
        ("::ffff:0.0.0.0", "IPv6 form of an unspecified"),
        ("2002:7f00:1::", "IPv6 form of a loopback"),  # 6to4 around 127.0.0.1
        ("64:ff9b::a00:1", "IPv6 form of a private"),  # NAT64 around 10.0.0.1
        ("224.0.0.1", "multicast"),
        ("8.8.8.8", None),
        ("100.128.0.1", None),
        ("172.32.0.1", None),
        ("2606:4700:4700::1111", None),
        ("::ffff:8.8.8.8", None),
        ("64:ff9b::808:808", None),  # DNS64's answer for a public address
    ],
)
def test_every_address_the_contract_names_is_refused_and_public_ones_pass(
    address: str, kind: str | None
) -> None:
    reason = refusal(ipaddress.ip_address(address))
    if kind is None:
        assert reason is None
    else:
        assert reason is not None and kind in reason, reason
