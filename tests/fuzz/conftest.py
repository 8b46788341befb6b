"""Fuzz suites: the hypothesis profiles live in `profiles.py` (HYPOTHESIS_PROFILE=quick|deep);
importing it here registers them before any test module is collected. At the end of a run, the
suites' figures (`figures.report`) and the time each test file took."""

from __future__ import annotations

from collections import defaultdict

import pytest

from tests.fuzz import figures, profiles

SECONDS: defaultdict[str, float] = defaultdict(float)
FAILED: set[str] = set()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.nodeid.startswith("tests/fuzz/"):
        SECONDS[report.nodeid.split("::")[0]] += report.duration
        if report.failed:
            FAILED.add(report.nodeid)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not SECONDS:
        return
    terminalreporter.section(f"fuzz figures ({profiles.PROFILE} profile)")
    for line in figures.LINES:
        terminalreporter.write_line(line)
    for path, seconds in sorted(SECONDS.items()):
        terminalreporter.write_line(f"{path}: {seconds:,.0f} s")
    terminalreporter.write_line(f"in all: {sum(SECONDS.values()) / 60:,.1f} min")
    for nodeid in sorted(FAILED):
        terminalreporter.write_line(f"failed: {nodeid}")
