"""The pacing rules over one session's log: pure state, folded event by event.

`PacingState.apply(event)` folds one logged event and returns the timers it calls for (every
cue, immediate or not, is a timer keyed by its deterministic event id, so it is claimed once in
the store and logged once; a departure in distress waits on a timer keyed by the departure, since
several departures may lead to the same cue). When a timer is due, `cue_for(key, now)` says which
cue to log, or None when its condition no longer holds (a pause acknowledged meanwhile, a client
back, the session over). Nothing here does I/O: the same log always gives the same timers and the
same cues.

What the fold keeps is bounded by time, not by the log's length (issue 18): every `FORGET_EVERY`
events it forgets what no rule can look at any more (`Horizons`), measured from the newest
event's time so the same log forgets the same things: pauses older than the rules that look
back at pauses, distress marks older than the departure rule's window, the cues' severities
older than `time_remaining`'s lookback, check-ins answered or expired, and logged ids and cues
derived but not logged whose deadline is behind — each plus `FORGET_MARGIN_S`. A timer that
fires later than that finds nothing and logs nothing: a cue that late would mislead more than
help. Forgetting a logged id costs nothing but a timer: the store keeps every id, so a cue is
never logged twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..cues import CueSettings
from ..events import (
    RETRACT_WINDOW_S,
    CheckinExpiredData,
    CheckinResponseData,
    CueData,
    Event,
    PresenceData,
    Role,
    SeqData,
    Severity,
    Zone,
    ZoneData,
)
from ..session import OUT_OF_WINDOW, parse_time

URGENT: Severity = "urgent"
WARN: Severity = "warn"
INFO: Severity = "info"
CHECKIN_PREFIX = "checkin:"
LEFT_PREFIX = "left:"  # + the seq of a client's `participant_left`
FORGET_EVERY = 32  # events between two looks for what can be forgotten
FORGET_MARGIN_S = 300.0  # kept beyond the longest rule window (a timer fired late, a slow clock)
LATE_ANSWER_S = 3600.0  # an answer this late to an expired check-in still counts as distress


def unix(at: str) -> float:
    return parse_time(at).timestamp()


def _span(seconds: float) -> str:
    """Seconds in plain words: "20 s", "2 min", "1 h 30 min"."""
    if seconds < 90:
        return f"{round(seconds)} s"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"{hours} h {rest} min" if rest else f"{hours} h"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


@dataclass(frozen=True, slots=True)
class Cue:
    """One cue to log: its deterministic event id and the contract's `cue` data."""

    event_id: str
    rule: str
    severity: Severity
    client_id: str
    related_seq: tuple[int, ...]
    message: str

    def as_data(self) -> CueData:
        return CueData(
            rule=self.rule,
            severity=self.severity,
            client_id=self.client_id,
            related_seq=list(self.related_seq),
            message=self.message,
        )


@dataclass(frozen=True, slots=True)
class Timer:
    key: str
    due_at: float


@dataclass(slots=True)
class Pause:
    seq: int
    at: float
    retracted: bool = False
    acknowledged: bool = False


@dataclass(slots=True)
class Mark:
    """A distress event of a client: a SUDS answer at or over the threshold, an out-of-window
    zone (signal or answer), or a call for help (`help_now`)."""

    seq: int
    at: float
    retracted: bool = False
    help: bool = False  # a `help_now`


@dataclass(slots=True)
class ClientTrack:
    pauses: dict[int, Pause] = field(default_factory=dict)
    open_pause: int | None = None  # the pause this client is in, if any
    last_suds: tuple[int, int] | None = None  # (seq, value) of the latest answer
    distress: dict[int, Mark] = field(default_factory=dict)
    cues: list[tuple[float, str]] = field(default_factory=list)  # (at, severity) logged
    returned_seq: int = 0  # the client's latest `participant_joined`, by any route


@dataclass(frozen=True, slots=True)
class Departure:
    """A client's leave while in distress: its cue, if the client is not back in time."""

    left_seq: int
    cue: Cue
    due_at: float


@dataclass(slots=True)
class Checkin:
    seq: int
    at: float
    addressed: tuple[str, ...]
    to: tuple[str, ...] | None
    answered: set[str] = field(default_factory=set)
    expired: bool = False


@dataclass(slots=True)
class CheckinExpiry:
    """What a due check-in timer logs: a cue per client that has not answered, then the
    `checkin_expired` event with the request's `to`."""

    cues: list[Cue]
    expired_id: str
    checkin_seq: int
    to: tuple[str, ...] | None


class PacingState:
    """The pacing view of one session, up to `head`."""

    def __init__(
        self,
        session_id: str,
        settings: CueSettings,
        client_ids: tuple[str, ...],
        scheduled_minutes: int,
    ) -> None:
        self.session_id = session_id
        self.settings = settings
        self.client_ids = client_ids
        self.scheduled_minutes = scheduled_minutes
        self.head = 0
        self.started_at: float | None = None
        self.ended = False
        self.clients = {cid: ClientTrack() for cid in client_ids}
        self.checkins: dict[int, Checkin] = {}
        self.logged: dict[str, float] = {}  # ids of system events in the log: when logged
        self.pending: dict[str, tuple[Cue, float]] = {}  # cues derived, not logged yet: when due
        self.departures: dict[str, Departure] = {}  # by timer key (LEFT_PREFIX)
        self.horizons = Horizons.of(settings)

    @classmethod
    def from_settings(
        cls,
        session_id: str,
        raw: dict[str, Any],
        client_ids: tuple[str, ...],
        scheduled_minutes: int,
    ) -> PacingState:
        settings = CueSettings.model_validate(raw.get("cues") or {})
        return cls(session_id, settings, client_ids, scheduled_minutes)

    # -- folding ------------------------------------------------------------------------------

    def apply(self, event: Event) -> list[Timer]:
        """Fold one event (in seq order); returns the timers it calls for."""
        if event.seq <= self.head:
            return []
        self.head = event.seq
        if event.actor.role is Role.SYSTEM:
            self.logged[event.id] = unix(event.at)
            self.pending.pop(event.id, None)
        if event.seq % FORGET_EVERY == 0:
            self._forget(unix(event.at))
        handler = _HANDLERS.get(event.type)
        if handler is None or self.ended:
            return []
        return handler(self, event)

    def _forget(self, now: float) -> None:
        """Drop what no rule can look at any more (`Horizons`), but a pause still open and a
        check-in still awaiting an answer."""
        keep = self.horizons
        pauses, marks, cues = now - keep.pauses, now - keep.distress, now - keep.cues
        for track in self.clients.values():
            track.pauses = {
                s: p for s, p in track.pauses.items() if p.at >= pauses or s == track.open_pause
            }
            track.distress = {s: m for s, m in track.distress.items() if m.at >= marks}
            track.cues = [cue for cue in track.cues if cue[0] >= cues]
        checkins, due = now - keep.checkins, now - FORGET_MARGIN_S
        self.checkins = {
            s: c
            for s, c in self.checkins.items()
            if c.at >= checkins or not (c.expired or c.answered.issuperset(c.addressed))
        }
        self.logged = {key: at for key, at in self.logged.items() if at >= due}
        self.pending = {key: cue for key, cue in self.pending.items() if cue[1] >= due}
        self.departures = {key: d for key, d in self.departures.items() if d.due_at >= due}

    def _track(self, client_id: str) -> ClientTrack | None:
        return self.clients.get(client_id)

    def _schedule(self, cue: Cue, due_at: float) -> list[Timer]:
        if cue.event_id in self.logged:
            return []
        self.pending[cue.event_id] = (cue, due_at)
        return [Timer(cue.event_id, due_at)]

    def _on_pause(self, event: Event) -> list[Timer]:
        track = self._track(event.actor.id)
        if track is None:
            return []
        at, seq, cid = unix(event.at), event.seq, event.actor.id
        track.pauses[seq] = Pause(seq, at)
        if track.open_pause is None:
            track.open_pause = seq
        timers: list[Timer] = []
        rule = self.settings.pause_unacknowledged
        if rule.enabled:
            cue = Cue(
                f"cue:pause_unacknowledged:{seq}",
                "pause_unacknowledged",
                URGENT,
                cid,
                (seq,),
                f"The client paused {_span(rule.after_s)} ago; the pause is not acknowledged yet.",
            )
            timers += self._schedule(cue, at + rule.after_s)
        repeated = self.settings.repeated_pause
        if repeated.enabled:
            recent = self._recent_pauses(track, at, repeated.within_s)
            if len(recent) >= repeated.count:
                cue = Cue(
                    f"cue:repeated_pause:{seq}",
                    "repeated_pause",
                    WARN,
                    cid,
                    tuple(recent),
                    f"{_ordinal(len(recent))} pause within {_span(repeated.within_s)}.",
                )
                timers += self._schedule(cue, at)
        return timers

    @staticmethod
    def _recent_pauses(track: ClientTrack, at: float, within_s: float) -> list[int]:
        return sorted(
            p.seq for p in track.pauses.values() if not p.retracted and at - within_s <= p.at <= at
        )

    def _on_resume(self, event: Event) -> list[Timer]:
        track = self._track(event.actor.id)
        if track is not None:
            track.open_pause = None
        return []

    def _on_retract(self, event: Event) -> list[Timer]:
        track = self._track(event.actor.id)
        body = event.body
        if track is None or not isinstance(body, SeqData):
            return []
        seq = body.seq
        pause = track.pauses.get(seq)
        if pause is not None:
            pause.retracted = True
            if track.open_pause == seq:
                track.open_pause = None
        mark = track.distress.get(seq)
        if mark is not None:
            mark.retracted = True
        return []

    def _on_acknowledge(self, event: Event) -> list[Timer]:
        body = event.body
        if not isinstance(body, SeqData):
            return []
        for track in self.clients.values():
            pause = track.pauses.get(body.seq)
            if pause is not None:
                pause.acknowledged = True
        return []

    def _on_zone_signal(self, event: Event) -> list[Timer]:
        body = event.body
        if not isinstance(body, ZoneData):
            return []
        return self._zone(event.actor.id, event.seq, unix(event.at), body.zone)

    def _zone(self, cid: str, seq: int, at: float, zone: Zone) -> list[Timer]:
        track = self._track(cid)
        if track is None or zone not in OUT_OF_WINDOW:
            return []
        track.distress[seq] = Mark(seq, at)
        if not self.settings.out_of_window.enabled:
            return []
        words = (
            "too much (above the window of tolerance)"
            if zone is Zone.TOO_MUCH
            else "shut down (below the window of tolerance)"
        )
        cue = Cue(
            f"cue:out_of_window:{seq}",
            "out_of_window",
            WARN,
            cid,
            (seq,),
            f"The client feels {words}.",
        )
        return self._schedule(cue, at)

    def _on_help_now(self, event: Event) -> list[Timer]:
        track = self._track(event.actor.id)
        if track is None:
            return []
        seq, at = event.seq, unix(event.at)
        track.distress[seq] = Mark(seq, at, help=True)
        cue = Cue(
            f"cue:help_requested:{seq}",
            "help_requested",
            URGENT,
            event.actor.id,
            (seq,),
            "The client pressed Help now: they may feel unsafe or be in crisis.",
        )
        return self._schedule(cue, at)  # at once, and never switched off (contract §9.2)

    def _on_checkin_request(self, event: Event) -> list[Timer]:
        at = unix(event.at)
        addressed = event.to if event.to is not None else self.client_ids
        self.checkins[event.seq] = Checkin(event.seq, at, tuple(addressed), event.to)
        rule = self.settings.checkin_unanswered
        if not rule.enabled:
            return []
        return [Timer(f"{CHECKIN_PREFIX}{event.seq}", at + rule.after_s)]

    def _on_checkin_response(self, event: Event) -> list[Timer]:
        body = event.body
        if not isinstance(body, CheckinResponseData):
            return []
        checkin = self.checkins.get(body.checkin_seq)
        cid, seq, at = event.actor.id, event.seq, unix(event.at)
        track = self._track(cid)
        if checkin is None or track is None:
            return []
        checkin.answered.add(cid)
        value = body.value
        if isinstance(value, Zone):
            return self._zone(cid, seq, at, value)
        previous, track.last_suds = track.last_suds, (seq, value)
        timers: list[Timer] = []
        high = self.settings.distress_high
        if value >= high.threshold:
            track.distress[seq] = Mark(seq, at)
            if high.enabled:
                cue = Cue(
                    f"cue:distress_high:{seq}",
                    "distress_high",
                    WARN,
                    cid,
                    (seq,),
                    f"Distress (SUDS) is {value} of 10.",
                )
                timers += self._schedule(cue, at)
        rising = self.settings.distress_rising
        if rising.enabled and previous is not None and value - previous[1] >= rising.delta:
            cue = Cue(
                f"cue:distress_rising:{seq}",
                "distress_rising",
                WARN,
                cid,
                (previous[0], seq),
                f"Distress (SUDS) rose from {previous[1]} to {value}.",
            )
            timers += self._schedule(cue, at)
        return timers

    def _on_checkin_expired(self, event: Event) -> list[Timer]:
        body = event.body
        checkin = (
            self.checkins.get(body.checkin_seq) if isinstance(body, CheckinExpiredData) else None
        )
        if checkin is not None:
            checkin.expired = True
        return []

    def _on_cue(self, event: Event) -> list[Timer]:
        body = event.body
        if isinstance(body, CueData) and (track := self._track(body.client_id)) is not None:
            track.cues.append((unix(event.at), body.severity))
        return []

    def _on_joined(self, event: Event) -> list[Timer]:
        body = event.body
        track = self._track(body.participant.id) if isinstance(body, PresenceData) else None
        if track is not None:
            track.returned_seq = event.seq
        return []

    def _on_left(self, event: Event) -> list[Timer]:
        """A client leaving (widget or platform) while paused or soon after distress waits
        `grace_s` for its return by any route (contract §9.3): a reload is not an emergency."""
        body = event.body
        if not isinstance(body, PresenceData):
            return []
        cid = body.participant.id
        track = self._track(cid)
        rule = self.settings.disconnected_in_distress
        if track is None or not rule.enabled:
            return []
        at = unix(event.at)
        if track.open_pause is not None:
            related, words = track.open_pause, "while paused"
        else:
            recent = [
                m
                for m in track.distress.values()
                if not m.retracted and at - rule.within_s <= m.at <= at
            ]
            if not recent:
                return []
            latest = max(recent, key=lambda m: m.seq)
            related = latest.seq
            what = "asking for help" if latest.help else "reporting distress"
            words = f"within {_span(rule.within_s)} of {what}"
        via = "the video call" if body.via == "platform" else "the session"
        back = f" and has not come back after {_span(rule.grace_s)}" if rule.grace_s else ""
        cue = Cue(
            f"cue:disconnected_in_distress:{cid}:{related}",  # one per distress episode
            "disconnected_in_distress",
            URGENT,
            cid,
            (related,),
            f"The client left {via} {words}{back}.",
        )
        if cue.event_id in self.logged:
            return []
        key = f"{LEFT_PREFIX}{event.seq}"
        self.departures[key] = Departure(event.seq, cue, at + rule.grace_s)
        return [Timer(key, at + rule.grace_s)]

    def _on_started(self, event: Event) -> list[Timer]:
        if self.started_at is not None:
            return []
        self.started_at = start = unix(event.at)
        rule = self.settings.time_remaining
        if not rule.enabled:
            return []
        end = start + self.scheduled_minutes * 60
        due = max(start, end - rule.before_end_s)
        return [Timer(f"cue:time_remaining:{cid}", due) for cid in self.client_ids]

    def _on_ended(self, event: Event) -> list[Timer]:
        self.ended = True
        self.pending.clear()
        self.departures.clear()
        return []

    # -- firing -------------------------------------------------------------------------------

    def cue_for(self, key: str, now: float) -> Cue | None:
        """The cue a due timer logs now, or None when there is nothing (left) to log."""
        if self.ended or key in self.logged:
            return None
        if key.startswith(LEFT_PREFIX):
            return self._departure_cue(key)
        rule = key.split(":")[1] if key.startswith("cue:") else ""
        if rule == "time_remaining":
            return self._time_remaining(key, now)
        pending = self.pending.get(key)
        if pending is None:
            return None
        cue = pending[0]
        if rule == "pause_unacknowledged":
            pause = self.clients[cue.client_id].pauses.get(cue.related_seq[0])
            if pause is None or pause.acknowledged or pause.retracted:
                return None
        elif rule == "repeated_pause":
            track = self.clients[cue.client_id]
            if any(track.pauses[s].retracted for s in cue.related_seq if s in track.pauses):
                return None
        elif rule == "help_requested":
            mark = self.clients[cue.client_id].distress.get(cue.related_seq[0])
            if mark is None or mark.retracted:
                return None
        return cue

    def _departure_cue(self, key: str) -> Cue | None:
        """The cue of a departure whose grace is over, unless the client came back (by any
        route) since, the pause or distress event was withdrawn, or the episode's cue is in."""
        departure = self.departures.get(key)
        if departure is None or departure.cue.event_id in self.logged:
            return None
        track = self.clients[departure.cue.client_id]
        if track.returned_seq > departure.left_seq:
            return None
        related = departure.cue.related_seq[0]
        signal = track.pauses.get(related) or track.distress.get(related)
        if signal is not None and signal.retracted:
            return None
        return departure.cue

    def _time_remaining(self, key: str, now: float) -> Cue | None:
        cid = key.split(":", 2)[2]
        track = self._track(cid)
        if track is None or self.started_at is None:
            return None
        rule = self.settings.time_remaining
        end = self.started_at + self.scheduled_minutes * 60
        left = f"About {_span(max(0.0, end - now))} left in the session."
        hard = any(sev in (WARN, URGENT) and now - at <= rule.lookback_s for at, sev in track.cues)
        if hard:
            return Cue(
                key,
                "time_remaining",
                WARN,
                cid,
                (),
                left + " It has been a hard stretch: consider grounding before closing.",
            )
        return Cue(key, "time_remaining", INFO, cid, (), left)

    def checkin_expiry(self, key: str) -> CheckinExpiry | None:
        """What a due check-in timer logs, or None (answered by all, expired, ended)."""
        seq = int(key.removeprefix(CHECKIN_PREFIX))
        checkin = self.checkins.get(seq)
        expired_id = f"checkin_expired:{seq}"
        if checkin is None or checkin.expired or self.ended or expired_id in self.logged:
            return None
        missing = [cid for cid in checkin.addressed if cid not in checkin.answered]
        if not missing:
            return None
        after = _span(self.settings.checkin_unanswered.after_s)
        cues = [
            Cue(
                f"cue:checkin_unanswered:{seq}:{cid}",
                "checkin_unanswered",
                INFO,
                cid,
                (seq,),
                f"No answer to the check-in after {after}.",
            )
            for cid in missing
            if f"cue:checkin_unanswered:{seq}:{cid}" not in self.logged
        ]
        return CheckinExpiry(cues, expired_id, seq, checkin.to)


@dataclass(frozen=True, slots=True)
class Horizons:
    """How long (seconds, before the newest event) the fold keeps each kind of thing: the
    longest window of the rules that look at it, plus `FORGET_MARGIN_S`."""

    pauses: float  # repeated_pause counts them; pause_unacknowledged and a retract look back
    distress: float  # disconnected_in_distress looks back for them; a retract too
    cues: float  # time_remaining looks back at the cues' severities
    checkins: float  # a late answer (contract §9.4) still finds its request

    @classmethod
    def of(cls, settings: CueSettings) -> Horizons:
        departure = settings.disconnected_in_distress
        return cls(
            pauses=FORGET_MARGIN_S
            + max(
                settings.repeated_pause.within_s,
                settings.pause_unacknowledged.after_s,
                departure.grace_s,
                RETRACT_WINDOW_S,
            ),
            distress=FORGET_MARGIN_S
            + max(departure.within_s + departure.grace_s, RETRACT_WINDOW_S),
            cues=FORGET_MARGIN_S + settings.time_remaining.lookback_s,
            checkins=max(LATE_ANSWER_S, FORGET_MARGIN_S + settings.checkin_unanswered.after_s),
        )


_HANDLERS = {
    "pause": PacingState._on_pause,
    "resume": PacingState._on_resume,
    "retract": PacingState._on_retract,
    "acknowledge": PacingState._on_acknowledge,
    "zone": PacingState._on_zone_signal,
    "checkin_request": PacingState._on_checkin_request,
    "checkin_response": PacingState._on_checkin_response,
    "checkin_expired": PacingState._on_checkin_expired,
    "cue": PacingState._on_cue,
    "participant_joined": PacingState._on_joined,
    "participant_left": PacingState._on_left,
    "help_now": PacingState._on_help_now,
    "session_started": PacingState._on_started,
    "session_ended": PacingState._on_ended,
}
