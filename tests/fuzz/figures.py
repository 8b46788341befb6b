"""The figures the fuzz suites report (cases per edge and per outcome), printed where they are
made (`pytest tests/fuzz -s`) and gathered at the end of the run (tests/fuzz/conftest.py), so
that `make fuzz` ends with them and the time each suite took, for docs/security.md."""

from __future__ import annotations

LINES: list[str] = []


def report(line: str) -> None:
    print(f"\n{line}")
    LINES.append(line)
