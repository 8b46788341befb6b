"""deploy/k8s/: the manifests parse, hang together (names, labels, ports), probe /healthz and
/readyz, run non-root on a read-only root, drain before stopping, keep WebSockets open past the
heartbeat, schedule the retention purge, and the Secret template holds no real secret."""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from service.app import MAX_BODY_BYTES
from service.retention import add_purge_command
from service.settings import Settings
from tests.deploy.support import (
    COMFORT_VAR,
    DEPLOY,
    K8S,
    ROOT,
    SETTING_VARS,
    default_port,
    heartbeat_seconds,
    k8s_object,
    k8s_objects,
    load_yaml_documents,
    secret_like,
)

# The most `comfort serve` waits for its shutdown (service/__main__.py, shutdown_timeout).
SHUTDOWN_SECONDS = 10


def deployment() -> dict[str, Any]:
    return k8s_object("Deployment", "comfort")


def container() -> dict[str, Any]:
    (only,) = deployment()["spec"]["template"]["spec"]["containers"]
    return only


def configmap() -> dict[str, str]:
    data: dict[str, str] = k8s_object("ConfigMap", "comfort-config")["data"]
    return data


@pytest.mark.parametrize(
    "path", sorted(DEPLOY.rglob("*.yaml")), ids=lambda p: str(p.relative_to(DEPLOY))
)
def test_every_yaml_file_parses(path: Path) -> None:
    assert load_yaml_documents(path)


def test_the_kustomization_lists_every_manifest() -> None:
    (kustomization,) = load_yaml_documents(K8S / "kustomization.yaml")
    manifests = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == manifests
    images = {i["name"] for i in kustomization["images"]}
    for obj in k8s_objects():
        spec = obj.get("spec", {})
        pod = spec.get("template", spec.get("jobTemplate", {}).get("spec", {}).get("template"))
        for c in (pod or {}).get("spec", {}).get("containers", []):
            assert c["image"] in images, f"{obj['kind']} image {c['image']} is not set by kustomize"


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kustomize_renders_the_manifests() -> None:
    result = subprocess.run(
        ["kubectl", "kustomize", str(K8S)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    kinds = {d["kind"] for d in yaml.safe_load_all(result.stdout) if d}
    assert {"Deployment", "Service", "Ingress", "PodDisruptionBudget"} <= kinds
    assert {"HorizontalPodAutoscaler", "ConfigMap", "Secret", "CronJob"} <= kinds


def test_every_comfort_variable_in_deploy_is_a_real_setting() -> None:
    """A typo in a variable name is silently ignored by the service: catch it here, in the
    manifests, compose, the Dockerfile and the operator's guide alike."""
    for path in [*DEPLOY.rglob("*.yaml"), DEPLOY / "Dockerfile", DEPLOY / "README.md"]:
        names = set(COMFORT_VAR.findall(path.read_text()))
        unknown = names - SETTING_VARS - {"COMFORT_IMAGE_TAG", "COMFORT_HTTP_PORT"}
        assert not unknown, f"{path.relative_to(ROOT)}: {sorted(unknown)}"


def container_port(name: str) -> dict[str, Any]:
    (port,) = [p for p in container()["ports"] if p["name"] == name]
    return port


def test_the_deployment_runs_two_replicas_that_probe_healthz_and_readyz() -> None:
    assert deployment()["spec"]["replicas"] >= 2
    c = container()
    assert [p["name"] for p in c["ports"]] == ["http", "metrics"]
    port = container_port("http")
    assert port["containerPort"] == default_port()
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port["name"]}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port["name"]}
    assert c["args"] == ["serve", "--host", "0.0.0.0"]


def test_resources_and_a_locked_down_security_context() -> None:
    c = container()
    assert c["resources"]["requests"]["cpu"] and c["resources"]["requests"]["memory"]
    assert c["resources"]["limits"]["memory"]
    pod = deployment()["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["securityContext"]["allowPrivilegeEscalation"] is False
    assert c["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert pod["automountServiceAccountToken"] is False


def test_a_stopping_pod_drains_before_sigterm_and_has_time_to_finish() -> None:
    pod = deployment()["spec"]["template"]["spec"]
    command = container()["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep"
    drain = int(command[1])
    assert drain >= 5
    grace = pod["terminationGracePeriodSeconds"]
    assert grace >= 30 and grace > drain + SHUTDOWN_SECONDS
    strategy = deployment()["spec"]["strategy"]["rollingUpdate"]
    assert strategy["maxUnavailable"] == 0


def test_settings_come_from_the_configmap_and_the_secret() -> None:
    refs = container()["envFrom"]
    assert {"configMapRef": {"name": "comfort-config"}} in refs
    assert {"secretRef": {"name": "comfort-secrets"}} in refs
    secret = k8s_object("Secret", "comfort-secrets")["stringData"]
    assert set(secret) == {"COMFORT_SECRET_KEY", "COMFORT_DATABASE_URL"}
    assert not set(configmap()) & set(secret), "a setting is in the ConfigMap and the Secret"
    comfort = {k: v for k, v in {**configmap(), **secret}.items() if k.startswith("COMFORT_")}
    assert set(comfort) <= SETTING_VARS
    settings = Settings(**{k.removeprefix("COMFORT_").lower(): v for k, v in comfort.items()})
    assert settings.database_url.startswith("postgresql://")
    assert settings.redis_url and settings.port == default_port()


def test_the_tenants_file_is_mounted_read_only_from_a_secret() -> None:
    path = Path(configmap()["COMFORT_TENANTS_FILE"])
    mounts = {m["name"]: m for m in container()["volumeMounts"]}
    volumes = {v["name"]: v for v in deployment()["spec"]["template"]["spec"]["volumes"]}
    (name,) = [n for n, m in mounts.items() if m["mountPath"] == str(path.parent)]
    assert mounts[name]["readOnly"] is True
    secret = k8s_object("Secret", volumes[name]["secret"]["secretName"])
    assert path.name in secret["stringData"]


def test_the_secret_template_holds_placeholders_only() -> None:
    for obj in k8s_objects():
        if obj["kind"] != "Secret":
            continue
        assert "data" not in obj, "base64 data hides what is in it: use stringData"
        for key, value in obj["stringData"].items():
            assert "REPLACE_ME" in value, f"{key} has no placeholder"
            assert not secret_like(value), f"{key} looks like a real secret"


def test_the_service_and_ingress_reach_the_pods() -> None:
    service = k8s_object("Service", "comfort")
    labels = deployment()["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    (port,) = service["spec"]["ports"]
    assert port["targetPort"] == container_port("http")["name"]
    ingress = k8s_object("Ingress", "comfort")
    for rule in ingress["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            assert backend["name"] == "comfort" and backend["port"]["name"] == port["name"]
    assert ingress["spec"]["tls"], "TLS terminates at the ingress"


def test_the_ingress_keeps_websockets_open_and_long_polls_sticky() -> None:
    notes = k8s_object("Ingress", "comfort")["metadata"]["annotations"]
    prefix = "nginx.ingress.kubernetes.io/"
    for name in ("proxy-read-timeout", "proxy-send-timeout"):
        assert int(notes[prefix + name]) >= max(75, heartbeat_seconds() + 15), name
    assert notes[prefix + "affinity"] == "cookie"
    body = re.fullmatch(r"(\d+)k", notes[prefix + "proxy-body-size"])
    assert body and int(body.group(1)) * 1024 >= MAX_BODY_BYTES


def test_the_disruption_budget_and_autoscaler_keep_two_pods() -> None:
    labels = deployment()["spec"]["template"]["metadata"]["labels"]
    pdb = k8s_object("PodDisruptionBudget", "comfort")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert pdb["spec"].get("maxUnavailable") == 1 or pdb["spec"].get("minAvailable", 0) >= 1
    hpa = k8s_object("HorizontalPodAutoscaler", "comfort")
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "comfort",
    }
    assert (
        hpa["spec"]["minReplicas"] >= 2 and hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"]
    )


def test_the_purge_cronjob_runs_comfort_purge_with_the_configured_retention() -> None:
    job = k8s_object("CronJob", "comfort-purge")
    assert job["spec"]["concurrencyPolicy"] == "Forbid"
    pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    env = {e["name"]: e for e in c.get("env", [])}
    # $(VAR) in args is expanded by Kubernetes from the container's env.
    args = [
        re.sub(
            r"\$\((\w+)\)",
            lambda m: configmap()[env[m.group(1)]["valueFrom"]["configMapKeyRef"]["key"]],
            a,
        )
        for a in c["args"]
    ]
    parser = argparse.ArgumentParser(prog="comfort")
    add_purge_command(parser.add_subparsers(dest="command", required=True))
    parsed = parser.parse_args(args)
    assert parsed.command == "purge" and parsed.older_than == int(configmap()["RETENTION_DAYS"])
    assert parsed.dry_run is False
    assert {"secretRef": {"name": "comfort-secrets"}} in c["envFrom"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert c["securityContext"]["readOnlyRootFilesystem"] is True


def test_metrics_are_served_on_their_own_port_that_no_service_or_ingress_carries() -> None:
    """Contract §9.5: /metrics tells who just pressed Pause, so it stays off the public path."""
    metrics_port = int(configmap()["COMFORT_METRICS_PORT"])
    settings = Settings(metrics_port=metrics_port, port=int(configmap()["COMFORT_PORT"]))
    assert settings.metrics_port != settings.port
    port = container_port("metrics")
    assert port["containerPort"] == metrics_port
    annotations = deployment()["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(metrics_port)
    assert annotations["prometheus.io/path"] == "/metrics"
    # Neither the Service (the ingress's backend) nor the ingress names the metrics port.
    for service in (o for o in k8s_objects() if o["kind"] == "Service"):
        for p in service["spec"]["ports"]:
            assert p.get("targetPort") not in (metrics_port, "metrics"), p
            assert p["port"] != metrics_port, p
    for rule in k8s_object("Ingress", "comfort")["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            assert path["backend"]["service"]["port"] == {"name": "http"}


def test_the_network_policy_admits_the_ingress_on_http_and_monitoring_on_metrics() -> None:
    policy = k8s_object("NetworkPolicy", "comfort")
    labels = deployment()["spec"]["template"]["metadata"]["labels"]
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
    assert policy["spec"]["policyTypes"] == ["Ingress"]
    rules = policy["spec"]["ingress"]
    by_port = {}
    for rule in rules:
        sources = rule.get("from")
        assert sources, "every rule names who may connect: none is open to all"
        for p in rule["ports"]:
            by_port[p["port"]] = [s["namespaceSelector"]["matchLabels"] for s in sources]
    assert set(by_port) == {"http", "metrics"}
    assert by_port["metrics"] != by_port["http"], "the ingress controller cannot reach metrics"


def test_trusted_proxies_are_a_private_range_the_settings_accept() -> None:
    """Contract §9.5: only from these is X-Forwarded-For believed. Never the whole internet."""
    settings = Settings(trusted_proxies=configmap()["COMFORT_TRUSTED_PROXIES"])
    assert settings.trusted_proxies
    for network in settings.trusted_proxies:
        assert network.is_private and network.prefixlen >= 8, network
