"""The benchmark report's targets (bench/report.py): figures only, but a target must never read
as met on an anchor that measured something else."""

from __future__ import annotations

from typing import Any

from bench.report import targets

ANCHOR = "scale-out, 2,000 unpinned: p50 / (1.3 x python relay with AsyncRedisManager)"


def _details(relay: dict[str, Any]) -> dict[str, Any]:
    service = {"server": "service", "sessions": 2000, "pinned": False, "p50_ms": 5.7,
               "p99_ms": 96.6, "lost": 0, "duplicates": 0}  # fmt: skip
    relay = {"server": "python_relay", "sessions": 2000, "pinned": False, **relay}
    return {"latency": {}, "scaleout": [service, relay]}


def _anchor_row(details: dict[str, Any]) -> dict[str, Any]:
    (row,) = [t for t in targets(details) if t["target"] == ANCHOR]
    return row


def test_the_scaleout_median_is_held_against_a_relay_that_lost_nothing() -> None:
    row = _anchor_row(_details({"p50_ms": 5.0, "lost": 0, "duplicates": 0}))
    assert row["limit"] == 6.5
    assert row["met"] is True
    assert "note" not in row


def test_a_relay_that_lost_signals_is_no_anchor_for_the_median() -> None:
    """Round eight's run: the relay lost 24,880 of 30,000 and its p50 was 6.4 s; the service's
    5.7 ms must not read as met against it."""
    row = _anchor_row(_details({"p50_ms": 6390.85, "lost": 24880, "duplicates": 0}))
    assert row["limit"] is None
    assert row["met"] is None
    assert row["note"] == "no anchor: the relay lost 24,880 signals"
