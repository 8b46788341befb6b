"""`service/metrics.py`: the garbage collector's pauses timed while the app runs, and not after."""

from __future__ import annotations

import gc

from service.metrics import GcPauses, Metrics


def _collections(metrics: Metrics, generation: str) -> float:
    value = metrics.registry.get_sample_value(
        "comfort_gc_pause_seconds_count", {"generation": generation}
    )
    return value or 0.0


async def test_gc_pauses_are_timed_while_running_and_not_after() -> None:
    metrics = Metrics()
    pauses = GcPauses(metrics)
    await pauses.start()
    try:
        gc.collect()
        assert _collections(metrics, "2") >= 1
        assert (
            metrics.registry.get_sample_value("comfort_gc_pause_seconds_sum", {"generation": "2"})
            > 0
        )
    finally:
        await pauses.stop()
    counted = _collections(metrics, "2")
    gc.collect()
    assert _collections(metrics, "2") == counted
    await pauses.stop()  # stopping twice is harmless
