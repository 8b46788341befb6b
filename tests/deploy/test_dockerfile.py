"""deploy/Dockerfile and .dockerignore, read as text: multi-stage with the widgets built in a
Node stage, the project installed without its dev extras, a slim non-root runtime that exposes
the service's port and checks /healthz without curl."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest

from service.http.web import BUNDLE_CANDIDATES
from tests.deploy.support import (
    DEPLOY,
    ROOT,
    SETTING_VARS,
    Stage,
    default_port,
    dockerfile_stages,
    dockerignored,
    k8s_object,
)

DOCKERFILE = DEPLOY / "Dockerfile"


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return dockerfile_stages(DOCKERFILE)


def runtime(stages: list[Stage]) -> Stage:
    return stages[-1]


def test_the_widgets_are_built_in_a_node_20_stage(stages: list[Stage]) -> None:
    node = [s for s in stages if s.image.startswith("node:")]
    assert len(node) == 1, "one Node stage builds the widgets"
    stage = node[0]
    assert re.match(r"node:20(\b|[.-])", stage.image), stage.image
    runs = " && ".join(stage.all("RUN"))
    assert "npm ci" in runs and "npm run build" in runs
    assert any(
        a.startswith("widgets/package-lock.json") or "package-lock.json" in a
        for a in stage.all("COPY")
    ), "npm ci needs the lock file"


def test_the_project_is_installed_without_dev_extras_into_a_venv(stages: list[Stage]) -> None:
    builders = [s for s in stages if s.image.startswith("python:3.11-slim") and s.all("RUN")]
    installs = [r for s in builders for r in s.all("RUN") if "pip install" in r]
    # The project alone (its dependencies come from the lock), built and installed, not editable.
    assert any(re.search(r"pip install --no-deps (--\S+ )*\.(\s|$)", r) for r in installs), installs
    assert not any("[dev]" in r or "-e " in r for r in installs), "no dev extras, no editable"
    assert any("venv" in r for s in builders for r in s.all("RUN"))


def test_the_dependencies_come_from_the_runtime_lock_with_their_hashes(
    stages: list[Stage],
) -> None:
    """Every pip install in the image is the runtime lock checked against its hashes, or the
    project without its dependencies: nothing is resolved afresh at build time."""
    builders = [s for s in stages if s.image.startswith("python:3.11-slim")]
    commands = [c.strip() for s in builders for run in s.all("RUN") for c in run.split("&&")]
    installs = [c for c in commands if "pip install" in c]
    locked = [r for r in installs if "-r requirements/runtime.txt" in r]
    assert locked and all("--require-hashes" in r for r in locked), installs
    for run in installs:
        assert run in locked or "--no-deps" in run, f"resolves afresh: {run}"
    assert any("requirements/runtime.txt" in c for s in builders for c in s.all("COPY"))


def test_the_bundle_lands_where_the_installed_service_looks_for_it(stages: list[Stage]) -> None:
    """service/http/web.py serves /widgets/comfort.js from service/static first: the Node stage's
    output must be copied there before the package is installed."""
    expected = BUNDLE_CANDIDATES[0].relative_to(ROOT).as_posix()
    widgets = next(s for s in stages if s.image.startswith("node:"))
    copies = [c for s in stages for c in s.all("COPY") if c.startswith(f"--from={widgets.name}")]
    assert any(c.split()[-1] == expected for c in copies), copies
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["service"]
    assert any(p.startswith("static/") for p in package_data), "the wheel must carry static/"


def test_the_runtime_is_slim_and_runs_as_a_numeric_non_root_user(stages: list[Stage]) -> None:
    final = runtime(stages)
    assert final.image.startswith("python:3.11-slim"), final.image
    users = final.all("USER")
    assert users, "the runtime stage sets USER"
    user = users[-1].split(":")[0]
    assert user.isdigit() and int(user) != 0, "numeric, so runAsNonRoot can verify it"
    # The Kubernetes pods run as the same user.
    deployment = k8s_object("Deployment", "comfort")
    assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == int(user)
    assert not any("npm" in r or "gcc" in r for r in final.all("RUN"))


def test_it_exposes_the_default_port_and_starts_comfort_serve_on_every_interface(
    stages: list[Stage],
) -> None:
    final = runtime(stages)
    assert final.all("EXPOSE") == [str(default_port())]
    assert json.loads(final.all("ENTRYPOINT")[-1]) == ["comfort"]
    assert json.loads(final.all("CMD")[-1]) == ["serve", "--host", "0.0.0.0"]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert "comfort" in scripts


def test_the_healthcheck_asks_healthz_with_python_not_curl(stages: list[Stage]) -> None:
    checks = runtime(stages).all("HEALTHCHECK")
    assert len(checks) == 1
    check = checks[0]
    assert "/healthz" in check and "urllib" in check and "python" in check
    assert "curl" not in check and "wget" not in check
    assert re.search(r"--interval=\d+s", check) and re.search(r"--timeout=\d+s", check)


def test_sqlite_lives_in_the_data_volume_and_env_names_are_real_settings(
    stages: list[Stage],
) -> None:
    final = runtime(stages)
    env_text = " ".join(final.all("ENV"))
    names = set(re.findall(r"\b(COMFORT_[A-Z0-9_]+)=", env_text))
    assert names and names <= SETTING_VARS, names - SETTING_VARS
    volume = json.loads(final.all("VOLUME")[-1])[0]
    url = re.search(r"COMFORT_DATABASE_URL=(\S+)", env_text)
    data_dir = re.search(r"COMFORT_DATA_DIR=(\S+)", env_text)
    assert url and data_dir
    assert url.group(1) == f"sqlite:///{volume}/comfort.db"
    assert data_dir.group(1) == volume


DOCKERIGNORE = (ROOT / ".dockerignore").read_text()


@pytest.mark.parametrize(
    "path",
    [
        "var/comfort.db",
        "var/secret_key",
        ".venv/bin/python",
        ".git/HEAD",
        "widgets/node_modules/lit/index.js",
        "widgets/dist/comfort.js",
        "service/__pycache__/app.cpython-311.pyc",
        "deploy/.env",
        "tests/conftest.py",
    ],
)
def test_the_build_context_leaves_out_data_secrets_and_build_output(path: str) -> None:
    assert dockerignored(DOCKERIGNORE, path)


def test_everything_the_dockerfile_copies_is_in_the_build_context(stages: list[Stage]) -> None:
    sources = []
    for stage in stages:
        for copy in stage.all("COPY"):
            parts = [p for p in copy.split() if not p.startswith("--")]
            if copy.startswith("--from="):
                continue
            sources += parts[:-1]
    assert sources
    for source in sources:
        assert (ROOT / source).exists(), source
        sample = source.rstrip("/") + ("/__init__.py" if source.endswith("/") else "")
        if source == "widgets/":
            sample = "widgets/src/index.js"
        assert not dockerignored(DOCKERIGNORE, sample), f"{sample} is left out of the context"


def test_the_ignore_reader_follows_dockers_rules() -> None:
    """The reader above must be able to say "kept" as well as "left out"."""
    rules = "*\n!service/\n**/__pycache__\n"
    assert dockerignored(rules, "var/x") is True
    assert dockerignored(rules, "service/app.py") is False
    assert dockerignored(rules, "service/__pycache__/a.pyc") is True
    assert Path(DOCKERFILE).is_file()
