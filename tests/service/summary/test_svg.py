"""`?format=svg`: an accessible SVG timeline of the same data, with a key in which each client
has a colour AND a line pattern, marker and pause fill; one lane per client with its pauses,
zones and cues; display names where the vendor gave them; served with a Content-Security-Policy
and nosniff; well-formed XML whatever the ids and names hold (issue 13, finding 11)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from service.appkeys import LIFECYCLE, STORE
from service.cues import resolve_cues
from service.store.base import ParticipantRecord
from service.summary.svg import LOOKS, clean_text
from tests.conftest import LiveServer
from tests.service.pacing_helpers import cues_of
from tests.service.summary.support import play, sent_seq, summary_as
from tests.store.support import new_session
from tests.support import Peer

pytest_plugins = ["tests.service.pacing_fixtures"]
SVG = "{http://www.w3.org/2000/svg}"


async def svg_of(server: LiveServer, sid: str) -> tuple[ET.Element, Mapping[str, str]]:
    raw, headers = await summary_as(server, sid, "svg", "image/svg+xml")
    return ET.fromstring(raw.decode()), headers


def lanes(root: ET.Element) -> dict[str, ET.Element]:
    return {g.get("data-client", ""): g for g in root.iter(f"{SVG}g") if g.get("class") == "lane"}


def texts(element: ET.Element) -> str:
    return " ".join("".join(t.itertext()) for t in element.iter(f"{SVG}text"))


async def test_the_timeline_is_an_accessible_chart_of_the_same_data_with_a_key(
    pacing_server: LiveServer,
) -> None:
    played = await play(pacing_server)
    root, headers = await svg_of(pacing_server, played.sid)
    assert headers["Content-Security-Policy"] == "default-src 'none'; style-src 'unsafe-inline'"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    assert root.find(f"{SVG}title") is not None
    desc = root.find(f"{SVG}desc")
    assert desc is not None and "Clara Client1: SUDS 2, 5, 8" in (desc.text or "")
    # SUDS: c-1's three answers on one line; c-2 answered none.
    suds = {g.get("data-client"): g for g in root.iter(f"{SVG}g") if g.get("class") == "suds"}
    assert len(suds["c-1"].findall(f"{SVG}g[@class='answer']")) == len(played.suds)
    assert len(suds["c-1"].findall(f"{SVG}polyline")) == 1
    assert suds["c-2"].findall(f"{SVG}g[@class='answer']") == []
    # One lane per client, named by its display name, holding its own pauses, zones and cues.
    by_client = lanes(root)
    assert set(by_client) == {"c-1", "c-2"}
    assert "Clara Client1" in texts(by_client["c-1"])
    assert len(by_client["c-1"].findall(f"{SVG}g[@class='pauses']/{SVG}rect")) == 2
    assert len(by_client["c-2"].findall(f"{SVG}g[@class='pauses']/{SVG}rect")) == 1
    assert len(by_client["c-1"].findall(f"{SVG}g[@class='zone']")) == len(played.zones)
    assert len(by_client["c-2"].findall(f"{SVG}g[@class='zone']")) == 1
    fills = {
        cid: {r.get("fill") for r in lane.findall(f"{SVG}g[@class='pauses']/{SVG}rect")}
        for cid, lane in by_client.items()
    }
    assert fills == {"c-1": {"url(#fill-0)"}, "c-2": {"url(#fill-1)"}}
    _, body = await pacing_server.api.call("GET", f"/api/v1/sessions/{played.sid}/summary")
    for cid, lane in by_client.items():
        mine = [c for c in body["cues"] if c["data"]["client_id"] == cid]
        marks = [g for g in lane.iter(f"{SVG}g") if (g.get("class") or "").startswith("cue ")]
        assert len(marks) == len(mine) > 0
    every = [g for g in root.iter(f"{SVG}g") if (g.get("class") or "").startswith("cue ")]
    assert len(every) == len(body["cues"])
    # The key: a row per client, each with its own fill, line pattern and marker shape.
    rows = [g for g in root.iter(f"{SVG}g") if g.get("class") == "key-client"]
    assert [texts(r) for r in rows] == ["Clara Client1", "Clara Client2"]
    looks = []
    for row in rows:
        line = row.find(f"{SVG}line")
        assert line is not None
        marker = list(row)[2]
        looks.append((row.find(f"{SVG}rect").get("fill"), line.get("stroke-dasharray"), marker.tag))
    assert len({look[0] for look in looks}) == len({look[1] for look in looks}) == 2
    assert len({look[2] for look in looks}) == 2
    patterns = {p.get("id"): p for p in root.iter(f"{SVG}pattern")}
    assert set(patterns) == {"fill-0", "fill-1"}
    shapes = [[child.tag for child in p][1] for p in patterns.values()]
    assert shapes[0] != shapes[1]  # diagonal lines and dots, not only two colours


def test_every_client_look_differs_from_the_others_in_each_part() -> None:
    for part in ("colour", "dash", "marker", "fill"):
        values = [getattr(look, part) for look in LOOKS]
        assert len(set(values)) == len(values), part


WEIRD_IDS = ["<c&1>", "__proto__", "c\u202e2", "c\x01\x1f\x7f\x853"]
WEIRD_NAMES = ['<b>Ann & "Bo"</b>', "\u202eevil", "ctrl\x00\x08\x0b\x1b]]>", None]


async def test_the_svg_is_well_formed_whatever_the_ids_and_names_hold(
    pacing_server: LiveServer,
) -> None:
    """Created in the store directly: REST refuses such ids and names (contract §9.5), but a
    session stored before that rule, or by another path, must still draw."""
    app = pacing_server.app
    record = replace(
        new_session(tenant_id="demo", platform="generic"),
        participants=(
            ParticipantRecord("t-\x07<1>", "therapist", "Dr <T> & \x1b"),
            *(
                ParticipantRecord(cid, "client", name)
                for cid, name in zip(WEIRD_IDS, WEIRD_NAMES, strict=True)
            ),
        ),
        settings={"cues": resolve_cues({}, {}).model_dump()},
    )
    await app[STORE].create_session(record)
    tokens = app[LIFECYCLE].tokens
    therapist = await pacing_server.join(tokens.mint(record.id, "t-\x07<1>", "therapist"))
    clients = [await pacing_server.join(tokens.mint(record.id, cid, "client")) for cid in WEIRD_IDS]
    await therapist.wait_type("session_started")
    for client in clients:
        await sent_seq((therapist, client), client, "pause")
        await sent_seq((therapist, client), client, "zone", {"zone": "too_much"})
    await therapist.wait_for(lambda: len(cues_of(therapist, "out_of_window")) == len(clients))
    root, _ = await svg_of(pacing_server, record.id)  # ET.fromstring: well-formed, or it raises
    by_client = lanes(root)
    assert set(by_client) == {clean_text(cid) for cid in WEIRD_IDS}
    assert "__proto__" in by_client and "<c&1>" in by_client
    drawn = texts(root)
    assert '<b>Ann & "Bo"</b>' in drawn  # escaped in the document, itself once parsed
    for forbidden in ("\u202e", "\x00", "\x01", "\x08", "\x1b", "\x7f", "\x85"):
        assert forbidden not in drawn and all(forbidden not in k for k in by_client)
    assert "evil" in drawn and "c3" in drawn  # names where given, else the cleaned id
    for lane in by_client.values():
        assert len(lane.findall(f"{SVG}g[@class='pauses']/{SVG}rect")) == 1
    await _close(therapist, *clients)


async def _close(*peers: Peer) -> None:
    for peer in peers:
        await peer.close()


ANY_TEXT = st.text(alphabet=st.characters(codec=None, categories=None), max_size=60)


@settings(max_examples=300, deadline=None)
@given(ANY_TEXT)
def test_any_text_cleaned_and_escaped_is_well_formed_xml(value: str) -> None:
    """All of Unicode, lone surrogates included: text and attribute values survive a parse."""
    from service.summary.svg import _attr, _text

    doc = f"<svg xmlns='http://www.w3.org/2000/svg' data-x={_attr(value)}><text>{_text(value)}</text></svg>"
    root = ET.fromstring(doc)
    cleaned = clean_text(value)
    assert (root.find(f"{SVG}text").text or "") == cleaned.replace("\r\n", "\n").replace("\r", "\n")
    assert root.get("data-x") == cleaned


async def test_a_pause_still_open_is_told_by_when_it_began(pacing_server: LiveServer) -> None:
    """While the session runs, c-1's open pause (its second, a moment old) reads "paused since
    …", never "0 s paused"; once the session has ended it reads as a total, not resumed before
    the end."""
    played = await play(pacing_server, end=False)
    root, _ = await svg_of(pacing_server, played.sid)
    desc = root.find(f"{SVG}desc")
    assert desc is not None and desc.text is not None
    one = desc.text.split("Clara Client1: ")[1].split("Clara Client2: ")[0]
    assert "2 pause(s), paused since " in one and " s paused" not in one
    status, _ = await pacing_server.api.call("POST", f"/api/v1/sessions/{played.sid}/end")
    assert status == 200
    root, _ = await svg_of(pacing_server, played.sid)
    desc = root.find(f"{SVG}desc")
    assert desc is not None and "paused (not resumed before the end)" in (desc.text or "")
