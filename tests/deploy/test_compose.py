"""deploy/compose.yaml: two service replicas sharing PostgreSQL, Redis and one signing key,
behind nginx; every variable it sets is one the service reads, with a value it accepts."""

from __future__ import annotations

import ipaddress
import re
import secrets
import tomllib
from typing import Any
from urllib.parse import urlsplit

import pytest

from service.settings import Settings
from tests.deploy.support import (
    DEPLOY,
    SETTING_VARS,
    default_port,
    load_yaml_documents,
    secret_like,
    toml_strings,
)

REPLICAS = ("comfort-1", "comfort-2")
INTERPOLATION = re.compile(r"\$\{(\w+)(?::?[-?][^}]*)?\}")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    (doc,) = load_yaml_documents(DEPLOY / "compose.yaml")
    assert isinstance(doc, dict)
    return doc


def env_example() -> dict[str, str]:
    values = {}
    for line in (DEPLOY / "env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def interpolate(value: str, env: dict[str, str]) -> str:
    return INTERPOLATION.sub(lambda m: env.get(m.group(1), ""), value)


def test_the_cluster_has_two_replicas_postgres_redis_and_nginx(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {*REPLICAS, "postgres", "redis", "nginx"}
    assert services["postgres"]["image"].split(":")[1].startswith("15")
    assert services["redis"]["image"].split(":")[1].startswith("7")
    for name in ("postgres", "redis"):
        assert services[name]["healthcheck"]["test"], f"{name} needs a healthcheck"


def test_both_replicas_share_the_store_redis_and_the_same_secret_reference(
    compose: dict[str, Any],
) -> None:
    first, second = (compose["services"][r] for r in REPLICAS)
    assert first["environment"] == second["environment"]
    env = first["environment"]
    database = urlsplit(interpolate(env["COMFORT_DATABASE_URL"], env_example()))
    assert database.scheme == "postgresql" and database.hostname == "postgres"
    assert env["COMFORT_REDIS_URL"] == "redis://redis:6379/0"
    # The key comes from deploy/.env, required (":?"), never written into the file.
    secret = env["COMFORT_SECRET_KEY"]
    assert re.fullmatch(r"\$\{COMFORT_SECRET_KEY:\?[^}]*\}", secret), secret
    assert second["environment"]["COMFORT_SECRET_KEY"] == secret


def test_every_comfort_variable_is_a_setting_and_its_value_is_accepted(
    compose: dict[str, Any],
) -> None:
    env = compose["services"]["comfort-1"]["environment"]
    unknown = set(env) - SETTING_VARS
    assert not unknown, f"not settings of service/settings.py: {unknown}"
    example = env_example()
    values = {
        name.removeprefix("COMFORT_").lower(): interpolate(str(value), example)
        for name, value in env.items()
    }
    settings = Settings(**values)
    assert settings.database_url.startswith("postgresql://comfort:")
    assert settings.port == default_port()
    assert settings.log_format == "json"


def test_the_tenants_file_is_mounted_read_only_where_the_setting_points(
    compose: dict[str, Any],
) -> None:
    for replica in REPLICAS:
        service = compose["services"][replica]
        target = service["environment"]["COMFORT_TENANTS_FILE"]
        mounts = [v for v in service["volumes"] if v["target"] == target]
        assert len(mounts) == 1 and mounts[0]["read_only"] is True
        assert not service.get("ports"), "replicas are reached only through nginx"
        assert str(default_port()) in [str(p) for p in service["expose"]]
        deps = service["depends_on"]
        assert deps["postgres"]["condition"] == deps["redis"]["condition"] == "service_healthy"


def test_postgres_credentials_agree_with_the_database_url(compose: dict[str, Any]) -> None:
    raw = compose["services"]["comfort-1"]["environment"]["COMFORT_DATABASE_URL"]
    postgres = compose["services"]["postgres"]["environment"]
    assert "${POSTGRES_PASSWORD" in raw and "${POSTGRES_PASSWORD" in postgres["POSTGRES_PASSWORD"]
    url = urlsplit(interpolate(raw, env_example()))
    assert url.username == postgres["POSTGRES_USER"]
    assert url.password == env_example()["POSTGRES_PASSWORD"]
    assert url.path.lstrip("/") == postgres["POSTGRES_DB"]


def test_nginx_fronts_both_replicas_with_the_checked_config(compose: dict[str, Any]) -> None:
    nginx = compose["services"]["nginx"]
    assert set(nginx["depends_on"]) == set(REPLICAS)
    (mount,) = nginx["volumes"]
    assert mount["target"] == "/etc/nginx/nginx.conf" and mount["read_only"] is True
    assert (DEPLOY / mount["source"]).resolve() == (DEPLOY / "nginx" / "nginx.conf").resolve()
    for port in nginx["ports"]:
        assert str(port).startswith("127.0.0.1:"), "plain HTTP only on loopback"


def test_every_interpolated_variable_is_in_env_example_with_a_placeholder(
    compose: dict[str, Any],
) -> None:
    text = (DEPLOY / "compose.yaml").read_text()
    used = set(INTERPOLATION.findall(text))
    example = env_example()
    required = set(re.findall(r"\$\{(\w+):\?", text))
    assert required <= set(example), f"missing from env.example: {required - set(example)}"
    assert used - set(example) <= {"COMFORT_IMAGE_TAG"}, used - set(example)
    assert set(example) - SETTING_VARS <= {"POSTGRES_PASSWORD", "COMFORT_HTTP_PORT"}
    for name in ("COMFORT_SECRET_KEY", "POSTGRES_PASSWORD"):
        assert example[name].startswith("REPLACE"), f"{name} must be a placeholder"
    assert not secret_like(*example.values())
    tenants = tomllib.loads((DEPLOY / "tenants.example.toml").read_text())
    assert not secret_like(*toml_strings(tenants))


def test_the_secret_detector_flags_a_generated_key() -> None:
    """The placeholder checks above can fail: a real generated key is caught."""
    assert secret_like(secrets.token_urlsafe(32))
    assert secret_like(f"postgresql://comfort:{secrets.token_hex(16)}@postgres/comfort")
    assert not secret_like("REPLACE_WITH_A_RANDOM_SECRET", "https://vendor.example/comfort")


def replica_settings(compose: dict[str, Any]) -> Settings:
    env = compose["services"]["comfort-1"]["environment"]
    return Settings(
        **{
            name.removeprefix("COMFORT_").lower(): interpolate(str(value), env_example())
            for name, value in env.items()
        }
    )


def test_metrics_have_their_own_port_that_nothing_publishes_or_proxies(
    compose: dict[str, Any],
) -> None:
    """Contract §9.5: /metrics tells who just pressed Pause, so it stays off the public path."""
    settings = replica_settings(compose)
    assert settings.metrics_port is not None and settings.metrics_port != settings.port
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert str(settings.metrics_port) not in str(port).split(":")[-1:], (name, port)
    conf = (DEPLOY / "nginx" / "nginx.conf").read_text()
    assert f":{settings.metrics_port}" not in conf, "nginx proxies the service port only"
    assert re.search(rf"server comfort-1:{settings.port}\b", conf)


def test_trusted_proxies_are_nginxs_fixed_address_and_nothing_wider(
    compose: dict[str, Any],
) -> None:
    """Contract §9.5: the service takes the client's address from X-Forwarded-For only when nginx
    sent it; nginx keeps a fixed address on a fixed range for that."""
    settings = replica_settings(compose)
    nginx = ipaddress.ip_address(
        compose["services"]["nginx"]["networks"]["default"]["ipv4_address"]
    )
    (pool,) = compose["networks"]["default"]["ipam"]["config"]
    assert nginx in ipaddress.ip_network(pool["subnet"])
    assert [str(n) for n in settings.trusted_proxies] == [f"{nginx}/32"]
