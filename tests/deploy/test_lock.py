"""requirements/*.txt, the lock files `make lock` writes: every range of pyproject.toml is locked
within itself, each package is pinned to one version with its hashes and comes from the index
alone, the image's runtime lock holds the versions the tests run with, and the environment these
tests run in is the lock (`make install` installs it)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.deploy.support import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LOCK_DEV = ROOT / "requirements" / "dev.txt"
LOCK_RUNTIME = ROOT / "requirements" / "runtime.txt"
DEV_ONLY = ("pytest", "hypothesis", "playwright", "schemathesis", "ruff", "mypy", "uv")
STALE = "the lock does not match pyproject.toml: run `make lock`, then commit both"


@dataclass(frozen=True)
class Pin:
    name: str
    version: str
    marker: str
    hashes: tuple[str, ...]

    def applies_here(self) -> bool:
        return not self.marker or Marker(self.marker).evaluate()


def read_lock(path: Path) -> list[Pin]:
    """The pins of a lock file, with continuation lines joined and comments dropped."""
    entries: list[str] = []
    for line in path.read_text().splitlines():
        text = line.split(" #", 1)[0].rstrip() if not line.lstrip().startswith("#") else ""
        if not text:
            continue
        if entries and entries[-1].endswith("\\"):
            entries[-1] = entries[-1][:-1] + " " + text.strip()
        else:
            entries.append(text)
    pins = []
    for entry in entries:
        assert not entry.startswith("-"), f"{path.name}: an option in a lock file: {entry}"
        hashes = tuple(re.findall(r"--hash=(\S+)", entry))
        requirement = Requirement(re.sub(r"\s*--hash=\S+", "", entry))
        (spec,) = requirement.specifier
        assert spec.operator == "==", entry
        marker = str(requirement.marker or "")
        assert not requirement.url and not requirement.extras, entry
        pins.append(Pin(canonicalize_name(requirement.name), spec.version, marker, hashes))
    return pins


def pins_here(path: Path) -> dict[str, Pin]:
    """The pins that apply to this interpreter and platform, one per package."""
    here: dict[str, Pin] = {}
    for pin in read_lock(path):
        if pin.applies_here():
            assert pin.name not in here, f"{path.name}: {pin.name} pinned twice here"
            here[pin.name] = pin
    return here


def direct(*, dev: bool) -> list[Requirement]:
    names = list(PYPROJECT["project"]["dependencies"])
    names += PYPROJECT["build-system"]["requires"]
    if dev:
        names += PYPROJECT["project"]["optional-dependencies"]["dev"]
    return [Requirement(n) for n in names]


@pytest.mark.parametrize(
    ("lock", "dev"), [(LOCK_DEV, True), (LOCK_RUNTIME, False)], ids=["dev", "runtime"]
)
def test_every_direct_requirement_is_locked_within_its_range(lock: Path, dev: bool) -> None:
    here = pins_here(lock)
    for requirement in direct(dev=dev):
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        pin = here.get(canonicalize_name(requirement.name))
        assert pin is not None, f"{requirement.name} is not in {lock.name}: {STALE}"
        assert requirement.specifier.contains(pin.version, prereleases=True), (
            f"{lock.name} has {pin.name}=={pin.version}, outside {requirement}: {STALE}"
        )


@pytest.mark.parametrize("lock", [LOCK_DEV, LOCK_RUNTIME], ids=["dev", "runtime"])
def test_every_pin_is_one_version_with_its_hashes_from_the_index(lock: Path) -> None:
    """Hash-checking mode needs a hash for every package; a URL, a path or an index option in
    the file would make an install depend on more than the package index."""
    text = lock.read_text()
    assert "make lock" in text.splitlines()[1], "the header names the command that wrote it"
    for forbidden in ("file:", "--index-url", "--extra-index-url", "--find-links", "-e ", " @ "):
        assert forbidden not in text, forbidden
    pins = read_lock(lock)
    assert pins
    for pin in pins:
        assert pin.hashes and all(h.startswith("sha256:") for h in pin.hashes), pin.name


def test_the_runtime_lock_is_the_dev_lock_without_the_dev_tools() -> None:
    """The image runs the versions the tests ran with."""
    dev = {(p.name, p.marker): p.version for p in read_lock(LOCK_DEV)}
    runtime = read_lock(LOCK_RUNTIME)
    for pin in runtime:
        assert dev.get((pin.name, pin.marker)) == pin.version, (
            f"runtime {pin.name}=={pin.version} ({pin.marker}) is not in dev.txt: {STALE}"
        )
    names = {p.name for p in runtime}
    assert not names & set(DEV_ONLY), names & set(DEV_ONLY)
    for requirement in direct(dev=False):
        assert canonicalize_name(requirement.name) in names, requirement.name


def test_these_tests_run_in_the_locked_environment() -> None:
    """`make install` installs dev.txt: every package it pins for this platform is installed at
    that version (a venv made otherwise fails here: run `make install`)."""
    wrong = {}
    for name, pin in pins_here(LOCK_DEV).items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = "missing"
        if canonicalize_name(installed) != canonicalize_name(pin.version):
            wrong[name] = f"{installed}, locked {pin.version}"
    assert not wrong, f"run `make install`: {wrong}"


def test_make_install_and_ci_install_from_the_lock() -> None:
    makefile = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^\$\(STAMP\)/python:([^\n]*)\n((?:\t[^\n]*\n)+)", makefile, re.M)
    assert recipe, "the Makefile's python install rule"
    prerequisites, commands = recipe.group(1), recipe.group(2)
    assert "$(LOCK_DEV)" in prerequisites and "pyproject.toml" in prerequisites
    assert re.search(r"^LOCK_DEV := requirements/dev.txt$", makefile, re.M)
    installs = [c for c in commands.splitlines() if re.search(r"(\$\(PIP\)|pip) install", c)]
    assert any("--require-hashes -r $(LOCK_DEV)" in c for c in installs), installs
    for command in installs:
        assert "--require-hashes" in command or "--no-deps" in command, command
    assert re.search(r"^lock:", makefile, re.M), "`make lock` rewrites the lock files"
    # CI is `make test`, which installs first.
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^test: install\b", makefile, re.M)
