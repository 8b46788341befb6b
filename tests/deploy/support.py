"""Readers for the deployment files: they are checked by parsing, since no container engine
runs where the tests do."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    import yaml
except ModuleNotFoundError as exc:  # pragma: no cover - a set-up error, said plainly
    raise ModuleNotFoundError(
        "tests/deploy parse YAML: add pyyaml to the dev extras in pyproject.toml"
    ) from exc

from service.realtime.boundary import create_socket_server
from service.realtime.transport import TransportPatches
from service.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"

# Every COMFORT_* variable the service reads (pydantic-settings: prefix + field name).
SETTING_VARS = frozenset(f"COMFORT_{name.upper()}" for name in Settings.model_fields)
COMFORT_VAR = re.compile(r"\bCOMFORT_[A-Z0-9_]+")
# Placeholders the templates use where a secret goes.
PLACEHOLDER = re.compile(r"REPLACE[A-Za-z0-9_-]*")
# A run of characters that a generated key, password or token is made of.
SECRET_LIKE = re.compile(r"[A-Za-z0-9+/=_-]{20,}")


def default_port() -> int:
    port: int = Settings.model_fields["port"].default
    return port


def heartbeat_seconds() -> float:
    """How long a healthy but quiet Socket.IO connection may stay silent: the server's ping
    interval plus the time it waits for the pong."""
    sio = create_socket_server(Settings(), TransportPatches())
    return float(sio.eio.ping_interval + sio.eio.ping_timeout)


def load_yaml_documents(path: Path) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def k8s_objects() -> list[dict[str, Any]]:
    objects: list[dict[str, Any]] = []
    for path in sorted(K8S.glob("*.yaml")):
        objects += [
            doc for doc in load_yaml_documents(path) if "kind" in doc and "apiVersion" in doc
        ]
    return objects


def k8s_object(kind: str, name: str | None = None) -> dict[str, Any]:
    found = [
        o
        for o in k8s_objects()
        if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)
    ]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def secret_like(*values: str) -> list[str]:
    """Runs of the values that look like a real key or password once placeholders are
    removed: 20 or more characters of what generated keys are made of."""
    return [run for value in values for run in SECRET_LIKE.findall(PLACEHOLDER.sub("", value))]


def toml_strings(value: object) -> list[str]:
    """Every string value in a parsed TOML document."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in toml_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in toml_strings(v)]
    return []


# -- Dockerfile ---------------------------------------------------------------------------------


@dataclass
class Instruction:
    keyword: str
    args: str


@dataclass
class Stage:
    image: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [i.args for i in self.instructions if i.keyword == keyword]


def dockerfile_instructions(text: str) -> list[Instruction]:
    """Instructions with continuation lines joined and comments dropped."""
    logical: list[str] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue  # a comment inside a continued instruction
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    if current:
        logical.append(current)
    result = []
    for line in logical:
        keyword, _, args = line.partition(" ")
        result.append(Instruction(keyword.upper(), " ".join(args.split())))
    return result


def dockerfile_stages(path: Path) -> list[Stage]:
    """The build stages, with global ARG defaults substituted into each FROM image."""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for ins in dockerfile_instructions(path.read_text()):
        if ins.keyword == "ARG" and not stages:
            name, _, default = ins.args.partition("=")
            args[name] = default
        elif ins.keyword == "FROM":
            parts = ins.args.split()
            image = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], parts[0])
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
            stages.append(Stage(image, name))
        elif stages:
            stages[-1].instructions.append(ins)
    return stages


# -- .dockerignore --------------------------------------------------------------------------------


def _pattern(pattern: str) -> re.Pattern[str]:
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out)


def dockerignored(rules_text: str, path: str) -> bool:
    """Whether Docker leaves `path` (relative to the context) out of the build context: the
    last matching rule wins, and a rule that matches a parent directory matches the path."""
    rules = []
    for raw in rules_text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        rules.append((negate, _pattern(line.lstrip("!").strip("/"))))
    parts = path.strip("/").split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    ignored = False
    for negate, pattern in rules:
        if any(pattern.fullmatch(c) for c in candidates):
            ignored = not negate
    return ignored
