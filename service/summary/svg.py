"""The SVG timeline of a session (`?format=svg`): SUDS lines, one lane per client with its
pauses, zones, help requests and cues, a time axis and a key.

Each client has one look, told apart without colour: a colour (each ≥ 3:1 on white), a line
pattern, a marker shape and a pause fill (the same looks as the therapist panel's summary view,
`widgets/src/therapist/summary-model.js`). Severity is shown by shape as well as colour.

Whatever participant ids and display names hold, the document is well-formed XML 1.0: every text
and attribute is escaped, and characters XML 1.0 forbids (C0 controls but tab, newline and
carriage return; surrogates; U+FFFE, U+FFFF) are dropped, as are C1 controls and the bidi
controls that would reorder a name as drawn. Ids never become XML ids (patterns are `fill-<n>`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.sax.saxutils import escape, quoteattr

from ..events import CueData, Zone
from ..session import parse_time
from .digest import ClientDigest, SessionDigest


@dataclass(frozen=True, slots=True)
class Look:
    colour: str
    dash: str  # stroke-dasharray of the SUDS line ("" for solid)
    marker: str  # circle, square, diamond, triangle, cross
    fill: str  # the pause fill pattern's shape


LOOKS = (
    Look("#1f5f8b", "", "circle", "diagonal"),
    Look("#8a3b7c", "7 4", "square", "dots"),
    Look("#2e6b45", "2 3", "diamond", "horizontal"),
    Look("#9a4a12", "10 3 2 3", "triangle", "cross"),
    Look("#4b5563", "1 4", "cross", "vertical"),
)
SEVERITY_COLOURS = {"urgent": "#b3261e", "warn": "#8a5300", "info": "#3b6ea8"}
TEXT = "#333333"
GRID = "#d0d4d8"

_W = 720
_LEFT, _RIGHT = 104, 16
_CHART_TOP, _CHART_H = 30, 120
_LANE_H = 42
BAND = "#f2f4f6"
_KEY_ROW = 20

# XML 1.0 Char excludes these; C1 controls and bidi embeddings, overrides and isolates are
# dropped too, so a name cannot hide itself or reorder what is drawn after it.
Scale = Callable[[float], float]

_DROPPED = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff\u202a-\u202e\u2066-\u2069]"
)


def clean_text(value: str) -> str:
    """`value` without the characters XML 1.0 forbids, C1 controls or bidi controls."""
    return _DROPPED.sub("", value)


def _text(value: str) -> str:
    return escape(clean_text(value))


def _attr(value: str) -> str:
    return quoteattr(clean_text(value))


def _short(name: str, size: int) -> str:
    name = clean_text(name)
    return name if len(name) <= size else name[: size - 1] + "…"


def _clock(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%H:%M")


def _ts(at: str) -> float:
    return parse_time(at).timestamp()


def look_of(index: int) -> Look:
    return LOOKS[index % len(LOOKS)]


def _pattern(pid: str, look: Look) -> str:
    c = look.colour
    shapes = {
        "diagonal": (
            f'<path d="M-1,1 l2,-2 M0,6 l6,-6 M5,7 l2,-2" stroke="{c}" stroke-width="1.4"/>'
        ),
        "dots": f'<circle cx="3" cy="3" r="1.3" fill="{c}"/>',
        "horizontal": f'<path d="M0,3 h6" stroke="{c}" stroke-width="1.4"/>',
        "cross": f'<path d="M0,0 l6,6 M6,0 l-6,6" stroke="{c}" stroke-width="1.1"/>',
        "vertical": f'<path d="M3,0 v6" stroke="{c}" stroke-width="1.4"/>',
    }
    return (
        f'<pattern id="{pid}" patternUnits="userSpaceOnUse" width="6" height="6">'
        f'<rect width="6" height="6" fill="#ffffff"/>{shapes[look.fill]}</pattern>'
    )


def _marker(look: Look, cx: float, cy: float, hollow: bool = False) -> str:
    c = look.colour
    fill = "#ffffff" if hollow else c
    paint = f'fill="{fill}" stroke="{c}" stroke-width="1.5"'
    if look.marker == "square":
        return f'<rect x="{cx - 4:.1f}" y="{cy - 4:.1f}" width="8" height="8" {paint}/>'
    if look.marker == "diamond":
        return (
            f'<path d="M{cx:.1f},{cy - 5:.1f} L{cx + 5:.1f},{cy:.1f} L{cx:.1f},{cy + 5:.1f} '
            f'L{cx - 5:.1f},{cy:.1f} Z" {paint}/>'
        )
    if look.marker == "triangle":
        return (
            f'<path d="M{cx:.1f},{cy - 5:.1f} L{cx + 5:.1f},{cy + 4:.1f} '
            f'L{cx - 5:.1f},{cy + 4:.1f} Z" {paint}/>'
        )
    if look.marker == "cross":
        return (
            f'<path d="M{cx - 4:.1f},{cy - 4:.1f} L{cx + 4:.1f},{cy + 4:.1f} '
            f'M{cx + 4:.1f},{cy - 4:.1f} L{cx - 4:.1f},{cy + 4:.1f}" stroke="{c}" '
            'stroke-width="2.2"/>'
        )
    return f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="4.2" {paint}/>'


def _zone_mark(cx: float, cy: float, zone: Zone, colour: str, late: bool) -> str:
    """Too much: a chevron up; shut down: a chevron down; okay: a ring."""
    if zone is Zone.OKAY:
        return (
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="4" fill="#ffffff" stroke="{colour}" '
            'stroke-width="2"/>'
        )
    dy = 1 if zone is Zone.TOO_MUCH else -1
    d = (
        f"M{cx - 5:.1f},{cy + 3 * dy:.1f} L{cx:.1f},{cy - 4 * dy:.1f} "
        f"L{cx + 5:.1f},{cy + 3 * dy:.1f}"
    )
    dash = ' stroke-dasharray="2 2"' if late else ""
    return (
        f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="2.6"{dash} '
        'stroke-linecap="round" stroke-linejoin="round"/>'
    )


def _cue_mark(cx: float, cy: float, severity: str) -> str:
    """Urgent: a disc with !!; warn: a triangle with !; info: a ring."""
    colour = SEVERITY_COLOURS.get(severity, SEVERITY_COLOURS["info"])
    if severity == "urgent":
        return (
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="6.5" fill="{colour}"/>'
            f'<text x="{cx:.1f}" y="{cy + 3.2:.1f}" text-anchor="middle" font-size="8.5" '
            'font-weight="700" fill="#ffffff">!!</text>'
        )
    if severity == "warn":
        return (
            f'<path d="M{cx:.1f},{cy - 6.5:.1f} L{cx + 6.5:.1f},{cy + 5.5:.1f} '
            f'L{cx - 6.5:.1f},{cy + 5.5:.1f} Z" fill="{colour}"/>'
            f'<text x="{cx:.1f}" y="{cy + 4.5:.1f}" text-anchor="middle" font-size="8.5" '
            'font-weight="700" fill="#ffffff">!</text>'
        )
    return (
        f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="4" fill="none" stroke="{colour}" '
        'stroke-width="2"/>'
    )


def _help_mark(cx: float, cy: float) -> str:
    colour = SEVERITY_COLOURS["urgent"]
    return (
        f'<rect x="{cx - 5.5:.1f}" y="{cy - 5.5:.1f}" width="11" height="11" fill="{colour}" '
        f'transform="rotate(45 {cx:.1f} {cy:.1f})"/>'
        f'<text x="{cx:.1f}" y="{cy + 3.2:.1f}" text-anchor="middle" font-size="8.5" '
        'font-weight="700" fill="#ffffff">!</text>'
    )


def _describe(digest: SessionDigest) -> str:
    ended = digest.record.ended_at is not None
    parts = []
    for client in digest.clients.values():
        suds = ", ".join(str(p.value) for p in client.suds) or "none"
        parts.append(
            f"{clean_text(client.name)}: SUDS {suds}; {len(client.zones)} zone(s); "
            f"{client.pauses} pause(s){_paused_words(client, ended)}; "
            f"{len(client.help_now)} help request(s); {len(client.grounding)} grounding."
        )
    return (
        f"From {_clock(digest.start)} to {_clock(digest.end)} UTC, {len(digest.cues)} cue(s). "
        + " ".join(parts)
    )


def _paused_words(client: ClientDigest, ended: bool) -> str:
    """How long the client was paused, true at the moment of the summary: a pause still open
    in a running session is told by when it began, never as "0 s paused"."""
    if not client.spans:
        return ""
    still = next((span for span in client.spans if span.end_at is None), None)
    if still is not None and not ended:
        return f", paused since {_clock(still.start)} UTC"
    minutes, seconds = divmod(round(client.paused_seconds), 60)
    total = f"{minutes} min {seconds} s" if minutes else f"{seconds} s"
    return f", {total} paused" + (" (not resumed before the end)" if still is not None else "")


def timeline_svg(digest: SessionDigest) -> str:
    """The timeline as an SVG document (a string of well-formed XML)."""
    clients = list(digest.clients.values())
    start, end = digest.start, digest.end
    span = max(end - start, 1.0)
    plot_w = _W - _LEFT - _RIGHT
    lanes_top = _CHART_TOP + _CHART_H + 16
    axis_y = lanes_top + _LANE_H * len(clients) + 4
    key_top = axis_y + 30
    height = key_top + _KEY_ROW * (len(clients) + 3) + 10

    def x(ts: float) -> float:
        return _LEFT + (min(max(ts, start), end) - start) / span * plot_w

    def y(value: float) -> float:
        return _CHART_TOP + (10 - value) / 10 * _CHART_H

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {height}" width="{_W}" '
        f'height="{height}" role="img" aria-labelledby="comfort-title comfort-desc" '
        'font-family="system-ui, sans-serif" font-size="11">',
        '<title id="comfort-title">Session timeline</title>',
        f'<desc id="comfort-desc">{_text(_describe(digest))}</desc>',
        "<defs>",
        *(_pattern(f"fill-{i}", look_of(i)) for i in range(len(clients))),
        "</defs>",
        f'<rect x="0" y="0" width="{_W}" height="{height}" fill="#ffffff"/>',
        f'<text x="{_LEFT}" y="16" fill="{TEXT}" font-weight="600">Session timeline, '
        f"{_clock(start)} to {_clock(end)} UTC</text>",
        '<g class="grid">',
    ]
    for value in (0, 5, 10):
        out.append(
            f'<line x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
            f'stroke="{GRID}"/><text x="{_LEFT - 6}" y="{y(value) + 4:.1f}" text-anchor="end" '
            f'fill="{TEXT}">{value}</text>'
        )
    out.append(
        f'<text x="{_LEFT - 26}" y="{_CHART_TOP + _CHART_H / 2 + 4:.1f}" text-anchor="end" '
        f'fill="{TEXT}">SUDS</text></g>'
    )
    for index, client in enumerate(clients):
        out.append(_suds(client, look_of(index), x, y))
    for index, client in enumerate(clients):
        top = lanes_top + _LANE_H * index
        out.append(_lane(client, index, top, digest, x))
    out.append(_axis(start, end, axis_y, x))
    out.append(_key(clients, key_top))
    out.append("</svg>")
    return "".join(out)


def _suds(client: ClientDigest, look: Look, x: Scale, y: Scale) -> str:
    points = [(x(_ts(p.at)), y(p.value), p) for p in client.suds]
    out = [f'<g class="suds" data-client={_attr(client.id)}>']
    if len(points) > 1:
        path = " ".join(f"{px:.1f},{py:.1f}" for px, py, _ in points)
        dash = f' stroke-dasharray="{look.dash}"' if look.dash else ""
        out.append(
            f'<polyline points="{path}" fill="none" stroke="{look.colour}" stroke-width="2"{dash}/>'
        )
    for px, py, point in points:
        late = ", late" if point.late else ""
        label = f"{client.name}: SUDS {point.value} at {_clock(_ts(point.at))} UTC{late}"
        out.append(
            f'<g class="answer"><title>{_text(label)}</title>'
            f"{_marker(look, px, py, hollow=point.late)}</g>"
        )
    out.append("</g>")
    return "".join(out)


def _lane(client: ClientDigest, index: int, top: float, digest: SessionDigest, x: Scale) -> str:
    """One client's lane: pauses (its fill), zones and help requests above, its cues below."""
    look = look_of(index)
    mid, cue_y = top + 13, top + 31
    band = "#ffffff" if index % 2 else BAND  # alternate bands, so a lane's two rows read as one
    out = [
        f'<g class="lane" data-client={_attr(client.id)}><title>{_text(client.name)}</title>',
        f'<rect x="0" y="{top}" width="{_W}" height="{_LANE_H}" fill="{band}"/>',
        f'<text x="{_LEFT - 8}" y="{top + _LANE_H / 2 + 4}" text-anchor="end" fill="{TEXT}">'
        f"{_text(_short(client.name, 14))}</text>",
    ]
    out.append('<g class="pauses">')
    for span in client.spans:
        left = x(span.start)
        until = "not resumed" if span.end_at is None else f"to {_clock(span.end)} UTC"
        label = f"{client.name}: pause from {_clock(span.start)} {until}"
        out.append(
            f'<rect x="{left:.1f}" y="{top + 5}" width="{max(x(span.end) - left, 3):.1f}" '
            f'height="16" fill="url(#fill-{index})" stroke="{look.colour}" stroke-width="1.5">'
            f"<title>{_text(label)}</title></rect>"
        )
    out.append("</g>")
    zone_xs = spread([x(_ts(zone.at)) for zone in client.zones], 12)
    for zone, zx in zip(client.zones, zone_xs, strict=True):
        how = "pressed" if zone.source == "signal" else "answered"
        late = ", late" if zone.late else ""
        label = f"{client.name}: zone {zone.zone.value} ({how}{late}) at {_clock(_ts(zone.at))}"
        mark = _zone_mark(zx, mid, zone.zone, look.colour, zone.late)
        out.append(f'<g class="zone"><title>{_text(label)}</title>{mark}</g>')
    for help_now in client.help_now:
        label = f"{client.name}: help now at {_clock(_ts(help_now.at))} UTC"
        mark = _help_mark(x(_ts(help_now.at)), mid)
        out.append(f'<g class="help"><title>{_text(label)}</title>{mark}</g>')
    out.append('<g class="cues">')
    cues = [
        (cue, data)
        for cue in digest.cues
        if isinstance(data := cue.body, CueData) and data.client_id == client.id
    ]
    cue_xs = spread([x(_ts(cue.at)) for cue, _ in cues], 15)
    for (cue, data), cx in zip(cues, cue_xs, strict=True):
        label = f"{data.severity} cue for {client.name}: {data.rule}, {_clock(_ts(cue.at))} UTC"
        mark = _cue_mark(cx, cue_y, data.severity)
        out.append(f'<g class="cue {data.severity}"><title>{_text(label)}</title>{mark}</g>')
    out.append("</g></g>")
    return "".join(out)


def spread(xs: list[float], gap: float) -> list[float]:
    """x positions (in time order) moved apart so that marks close in time do not overlap."""
    out: list[float] = []
    for at in xs:
        out.append(out[-1] + gap if out and at - out[-1] < gap else at)
    return out


def _axis(start: float, end: float, axis_y: float, x: Scale) -> str:
    """The start and the end, and round times between them where they fit."""
    minutes = (end - start) / 60
    step = next((s for s in (1, 5, 10, 15, 30, 60, 120) if minutes / s <= 6), 240) * 60
    ticks = range(int(start // step + 1) * step, int(end) + 1, step)
    out = [
        f'<g class="axis"><line x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{axis_y}" y2="{axis_y}" '
        f'stroke="{TEXT}"/>',
        f'<text x="{_LEFT}" y="{axis_y + 15}" fill="{TEXT}">{_clock(start)}</text>',
        f'<text x="{_W - _RIGHT}" y="{axis_y + 15}" text-anchor="end" fill="{TEXT}">'
        f"{_clock(end)} UTC</text>",
    ]
    for tick in ticks:
        at = x(tick)
        if _LEFT + 50 < at < _W - _RIGHT - 80:
            out.append(
                f'<line x1="{at:.1f}" x2="{at:.1f}" y1="{axis_y}" y2="{axis_y + 4}" '
                f'stroke="{TEXT}"/><text x="{at:.1f}" y="{axis_y + 15}" text-anchor="middle" '
                f'fill="{TEXT}">{_clock(tick)}</text>'
            )
    out.append("</g>")
    return "".join(out)


def _key(clients: list[ClientDigest], top: float) -> str:
    """The key: each client's look and name, then the marks."""
    out = [f'<g class="key"><text x="{_LEFT}" y="{top}" fill="{TEXT}" font-weight="600">Key</text>']
    for index, client in enumerate(clients):
        look = look_of(index)
        row = top + _KEY_ROW * (index + 1)
        dash = f' stroke-dasharray="{look.dash}"' if look.dash else ""
        out.append(
            f'<g class="key-client" data-client={_attr(client.id)}>'
            f'<rect x="{_LEFT}" y="{row - 10}" width="16" height="12" fill="url(#fill-{index})" '
            f'stroke="{look.colour}"/>'
            f'<line x1="{_LEFT + 22}" x2="{_LEFT + 54}" y1="{row - 4}" y2="{row - 4}" '
            f'stroke="{look.colour}" stroke-width="2"{dash}/>'
            f"{_marker(look, _LEFT + 38, row - 4)}"
            f'<text x="{_LEFT + 62}" y="{row}" fill="{TEXT}">{_text(client.name)}</text></g>'
        )
    row = top + _KEY_ROW * (len(clients) + 1)
    for line, words in enumerate(_LEGEND):
        out.append(f'<text x="{_LEFT}" y="{row + _KEY_ROW * line}" fill="{TEXT}">{words}</text>')
    out.append("</g>")
    return "".join(out)


_LEGEND = (
    "SUDS: each client's line and marker (hollow marker: a late answer). Box: a pause.",
    "Zone: chevron up, too much; chevron down, shut down; ring, okay (dashed: late).",
    "Diamond with !: help now. Cues: disc with !!, urgent; triangle with !, warn; ring, info.",
)
