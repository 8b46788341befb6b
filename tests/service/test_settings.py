"""service/settings.py: the §9.5 settings are read from the environment as the contract writes
them, a wrong value stops the service with the setting's name instead of being ignored, and the
README's configuration table lists every setting."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from service.settings import Settings


def test_trusted_proxies_are_comma_separated_addresses_or_cidrs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COMFORT_TRUSTED_PROXIES", " 172.29.0.10, 10.244.0.0/16,fd00::/8 ,")
    assert Settings().trusted_proxies == [
        ipaddress.ip_network("172.29.0.10/32"),
        ipaddress.ip_network("10.244.0.0/16"),
        ipaddress.ip_network("fd00::/8"),
    ]
    monkeypatch.delenv("COMFORT_TRUSTED_PROXIES")
    assert Settings().trusted_proxies == [], "none by default: no forwarded address is believed"


@pytest.mark.parametrize("value", ["10.1.2.3/8", "proxy.internal", "10.0.0.0/33", "*"])
def test_a_trusted_proxy_that_is_not_an_address_or_cidr_is_refused(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    """A typo must not silently trust nothing (or, worse, more than meant)."""
    monkeypatch.setenv("COMFORT_TRUSTED_PROXIES", value)
    with pytest.raises(ValidationError, match="trusted_proxies"):
        Settings()


def test_the_metrics_listener_binds_its_own_port_on_the_service_host_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COMFORT_HOST", "0.0.0.0")
    monkeypatch.setenv("COMFORT_METRICS_PORT", "9090")
    settings = Settings()
    assert (settings.metrics_port, settings.effective_metrics_host) == (9090, "0.0.0.0")
    monkeypatch.setenv("COMFORT_METRICS_HOST", "127.0.0.1")
    assert Settings().effective_metrics_host == "127.0.0.1"
    assert Settings(metrics_port=None).metrics_port is None
    monkeypatch.setenv("COMFORT_METRICS_PORT", "8080")
    with pytest.raises(ValidationError, match="COMFORT_METRICS_PORT must differ"):
        Settings(port=8080)


def test_private_webhooks_are_refused_unless_waived(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().allow_private_webhooks is False
    monkeypatch.setenv("COMFORT_ALLOW_PRIVATE_WEBHOOKS", "1")
    assert Settings().allow_private_webhooks is True


def test_the_body_deadline_and_the_session_quota(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 13's additions: defaults 10 s and 1,000; a quota of 0 is no quota; a deadline of 0
    or a negative quota is refused with the setting's name."""
    assert (Settings().body_timeout_seconds, Settings().max_sessions_per_tenant) == (10.0, 1000)
    monkeypatch.setenv("COMFORT_BODY_TIMEOUT_SECONDS", "2.5")
    monkeypatch.setenv("COMFORT_MAX_SESSIONS_PER_TENANT", "0")
    assert (Settings().body_timeout_seconds, Settings().max_sessions_per_tenant) == (2.5, 0)
    for name, value, field in (
        ("COMFORT_BODY_TIMEOUT_SECONDS", "0", "body_timeout_seconds"),
        ("COMFORT_MAX_SESSIONS_PER_TENANT", "-1", "max_sessions_per_tenant"),
    ):
        monkeypatch.setenv(name, value)
        with pytest.raises(ValidationError, match=field):
            Settings()
        monkeypatch.delenv(name)


README = Path(__file__).resolve().parents[2] / "README.md"


def _readme_settings() -> list[str]:
    """The variables named in the first column of README.md's configuration table."""
    section = README.read_text(encoding="utf-8").split("## Configuration", 1)[1]
    table = "| variable |" + section.split("| variable |", 1)[1]
    rows = []
    for line in table.splitlines()[2:]:
        if not line.startswith("|"):
            break
        rows.append(line.split("|")[1])
    return [name for row in rows for name in re.findall(r"`(COMFORT_[A-Z0-9_]+)`", row)]


def test_the_readme_table_lists_every_setting_and_no_other() -> None:
    """An operator reads the README's table: each `Settings` field is there under its
    environment variable, once, and nothing is there that the service does not read."""
    listed = _readme_settings()
    assert len(listed) == len(set(listed)), "a variable listed twice"
    prefix = Settings.model_config["env_prefix"]
    assert set(listed) == {prefix + name.upper() for name in Settings.model_fields}
