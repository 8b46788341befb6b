"""What one loaded session holds in memory as its log grows (issue 18's soak: RSS must not grow
without bound).

Folds a synthetic log shaped like the soak's mix (bench/node/soak.js: a signal every 2 s, mostly
keep_going, pauses acknowledged or cued, check-ins answered or expired, reconnects) into the
service's own per-session structures — the hub's `SessionRuntime` (fold, replay buffer,
idempotency keys) and the pacing engine's `PacingState` — for many sessions at once, and prints
the bytes (tracemalloc) and the objects the garbage collector tracks, per session, at each log
length. A bounded session's figures stop growing once its buffers are full.

    python -m bench.session_memory [--sessions 200] [--events 64 256 1024 4096]

Figures are printed and saved to `bench/results/session_memory.json`.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from service.events import SYSTEM_ACTOR, Actor, Event, Role
from service.pacing.state import PacingState
from service.realtime.hub import SessionRuntime
from service.store.base import ParticipantRecord, SessionRecord, SessionStateName

RESULTS = Path(__file__).parent / "results" / "session_memory.json"
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CLIENT = Actor("c-1", Role.CLIENT)
THERAPIST = Actor("t-1", Role.THERAPIST)


def _record(session_id: str) -> SessionRecord:
    return SessionRecord(
        id=session_id,
        tenant_id="bench",
        platform="generic",
        external_id=session_id,
        state=SessionStateName.OPEN,
        created_at=START,
        scheduled_minutes=50,
        participants=(
            ParticipantRecord(id="t-1", role="therapist", display_name=None),
            ParticipantRecord(id="c-1", role="client", display_name=None),
        ),
        settings={},
        epoch="e1",
    )


class _Log:
    """A session's log, written as the soak's mix would write it."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.events: list[Event] = []
        self.clock = START

    def add(self, actor: Actor, kind: str, data: dict[str, Any], to: list[str] | None = None):
        self.clock += timedelta(seconds=self.rng.uniform(0.5, 2.0))
        event = Event(
            seq=len(self.events) + 1,
            id=str(uuid.uuid4()) if actor is not SYSTEM_ACTOR else f"{kind}:{len(self.events)}",
            type=kind,
            at=self.clock.isoformat().replace("+00:00", "Z"),
            actor=actor,
            to=tuple(to) if to is not None else None,
            data=data,
        )
        self.events.append(event)
        return event

    def presence(self, kind: str, who: Actor) -> None:
        ref = {"id": who.id, "role": who.role.value}
        self.add(SYSTEM_ACTOR, kind, {"participant": ref, "via": "widget"})

    def grow(self, n: int) -> list[Event]:
        rng = self.rng
        self.add(SYSTEM_ACTOR, "session_started", {})
        self.presence("participant_joined", THERAPIST)
        self.presence("participant_joined", CLIENT)
        while len(self.events) < n:
            roll = rng.random()
            if roll < 0.50:
                self.add(CLIENT, "keep_going", {})
            elif roll < 0.60:
                self.add(CLIENT, "slow_down", {})
            elif roll < 0.72:
                self.add(CLIENT, "zone", {"zone": "okay"})
            elif roll < 0.75:
                self.add(CLIENT, "zone", {"zone": "too_much"})
            elif roll < 0.80:
                self.add(CLIENT, "grounding_started", {"exercise": "box_breathing"})
                self.add(CLIENT, "grounding_finished", {})
            elif roll < 0.84:
                pause = self.add(CLIENT, "pause", {})
                if rng.random() < 0.6:
                    self.add(THERAPIST, "acknowledge", {"seq": pause.seq})
                self.add(CLIENT, "resume", {})
            elif roll < 0.88:
                request = self.add(THERAPIST, "checkin_request", {"instrument": "suds"})
                if rng.random() < 0.85:
                    self.add(CLIENT, "checkin_response", {"checkin_seq": request.seq, "value": 3})
                else:
                    self.add(SYSTEM_ACTOR, "checkin_expired", {"checkin_seq": request.seq})
            elif roll < 0.90:
                who = CLIENT if rng.random() < 0.5 else THERAPIST
                self.presence("participant_left", who)
                self.presence("participant_joined", who)
            else:
                self.add(CLIENT, "keep_going", {})
        return self.events[:n]


def _fold(session_id: str, events: list[Event]) -> tuple[SessionRuntime, PacingState]:
    runtime = SessionRuntime(_record(session_id), events)
    pacing = PacingState.from_settings(session_id, {}, runtime.state.client_ids, 50)
    for event in events:
        event.wire  # noqa: B018 - made once on the live path, kept with the event
        pacing.apply(event)
    return runtime, pacing


def measure(sessions: int, length: int, seed: int = 7) -> dict[str, Any]:
    gc.collect()
    tracemalloc.start()
    before_bytes = tracemalloc.get_traced_memory()[0]
    before_objects = len(gc.get_objects())
    # Each log is written, folded and dropped: what the session keeps of it is what remains.
    kept = []
    for n in range(sessions):
        log = _Log(random.Random(seed + n)).grow(length)
        kept.append(_fold(f"s-{n}", log))
        del log
    gc.collect()
    after_bytes = tracemalloc.get_traced_memory()[0]
    after_objects = len(gc.get_objects())
    tracemalloc.stop()
    del kept
    return {
        "events": length,
        "sessions": sessions,
        "kb_per_session": round((after_bytes - before_bytes) / sessions / 1024, 1),
        "tracked_objects_per_session": round((after_objects - before_objects) / sessions, 1),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--events", type=int, nargs="+", default=[64, 256, 1024, 4096])
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    rows = [measure(args.sessions, n) for n in args.events]
    print("| events in the log | KB per session | objects tracked per session |")
    print("| ---: | ---: | ---: |")
    for row in rows:
        print(
            f"| {row['events']} | {row['kb_per_session']} | {row['tracked_objects_per_session']} |"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
