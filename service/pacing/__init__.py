"""Pacing: the cue rules of contract §5 and check-in expiry, over each session's log.

`state.PacingState` folds one session's log into the timers and cues it calls for (pure);
`engine.PacingEngine` runs it for every session this process sees: it subscribes to the hub's
`applied` feed, keeps the timers in the store, fires them once per deployment, and fills the
vendor outbox (`service/outbox.py`). `create_app` builds it; the session summary is
`service/summary.py`.
"""

from __future__ import annotations

from .engine import PacingEngine, PacingOptions, process_owner
from .state import Cue, PacingState

__all__ = ["Cue", "PacingEngine", "PacingOptions", "PacingState", "process_owner"]
