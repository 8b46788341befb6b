"""The therapist panel with two clients in headless Chromium against a real service (issue 15;
contract §7, §9.2-§9.4, §9.7): what needs the therapist sits first, in *Needs attention*, within
the first 400 px of a 380 x 800 side panel, urgent before warn; each thing is one row, cleared by
acknowledging or by the client's own return to okay; informational signals carry no
Acknowledge; no event is shown twice; the panel equals what a reload shows; the Summary view
draws the service's JSON summary with a key, prints and copies as text.

Every test runs against the service: the `disconnected_in_distress` grace, `help_now` and
`location_shared`, late answers, and the Summary view, which reads the service's own summary
route with the therapist's join token.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import re
import time
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from service.tokens import TokenIssuer
from tests.support import SECRET, Peer
from tests.widgets.conftest import Service, open_outage_proof_page
from tests.widgets.test_browser import (
    SUDS_CHECK_IN,
    events_of,
    feed_items,
    open_widget,
    run_axe,
    shown_seqs,
    wait_for_events,
)
from tests.widgets.test_client_states import SOCKET_IO

pytestmark = pytest.mark.browser

SIDE_PANEL = {"width": 380, "height": 800}
SUMMARY_ROUTE = re.compile(r".*/api/v1/sessions/[^/]+/summary$")


@pytest.fixture
def side_panel(browser: Any) -> Any:
    """A browser profile whose pages are 380 x 800, the size of Zoom's and Daily's side panels."""
    ctx = browser.new_context(viewport=SIDE_PANEL)
    ctx.set_default_timeout(10_000)
    yield ctx
    ctx.close()


def two_clients(
    service: Service, context: Any, **settings: Any
) -> tuple[dict[str, Any], Page, Page, Page]:
    body: dict[str, Any] = {"settings": {"cues": settings}} if settings else {}
    session = service.create_session(clients=2, **body)
    c1 = open_widget(context, service, "client", session["tokens"]["c-1"])
    c2 = open_widget(context, service, "client", session["tokens"]["c-2"])
    panel = open_widget(context, service, "therapist", session["tokens"]["t-1"])
    return session, c1, c2, panel


def press(page: Page, name: str) -> None:
    page.get_by_role("button", name=name, exact=True).click()
    time.sleep(0.15)  # presses are sent one at a time; keep the log's order the pressing order


def check_in_suds(panel: Page, answers: list[tuple[Page, int]]) -> None:
    panel.get_by_role("button", name="Check in").click()
    panel.get_by_role("button", name=SUDS_CHECK_IN).click()
    for client, value in answers:
        client.get_by_role("radio", name=str(value), exact=True).check()
        client.get_by_role("button", name="Send").click()
        expect(client.get_by_text("Thank you. Your therapist has your answer.")).to_be_visible()


def attention_of(panel: Page) -> Any:
    return panel.get_by_role("region", name="Needs attention")


def attention_row(panel: Page, client: str, what: str) -> Any:
    return attention_of(panel).locator("li[data-key]").filter(has_text=client).filter(has_text=what)


def send_as(service: Service, token: str, kind: str, data: Any) -> dict[str, Any]:
    """Send one event over a real Socket.IO connection, as the token's participant. `data` may
    be a function of the events that participant sees (in its own numbering, contract §9.1)."""

    async def run() -> dict[str, Any]:
        peer = await Peer(service.url, token).connect()
        try:
            await asyncio.sleep(0.3)  # the replay arrives after the welcome
            return await peer.send(kind, data(peer.events) if callable(data) else data)
        finally:
            await peer.close()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


def summary_requests(page: Page) -> list[Any]:
    """The summary requests the panel makes, as they go to the service's token-authorised
    summary route (nothing stands in for it). Returns the list they are recorded in."""
    seen: list[Any] = []
    page.on(
        "request",
        lambda request: seen.append(request) if SUMMARY_ROUTE.match(request.url) else None,
    )
    return seen


# ---- Needs attention ------------------------------------------------------------------------


def test_a_suds_8_needs_attention_within_the_first_400_px_of_a_side_panel(
    side_panel: Any, service: Service
) -> None:
    session, c1, c2, panel = two_clients(service, side_panel)
    press(c1, "Keep going")
    press(c2, "Grounding")
    press(c2, "Box breathing")
    press(c2, "Stop exercise")
    press(c2, "Pause")
    check_in_suds(panel, [(c1, 8), (c2, 3)])
    wait_for_events(service, session["session"]["id"], "cue")

    distress = attention_row(panel, "Client 1", "Distress 8 of 10")
    expect(distress).to_be_visible()
    expect(distress.get_by_text("Attention")).to_be_visible()  # a word, not colour alone
    box = distress.bounding_box()
    assert box is not None and box["y"] + box["height"] <= 400, box
    assert panel.evaluate("() => window.scrollY") == 0

    # Urgent before warn: the pause of Client 2 comes first, the calm answer not at all.
    pause = attention_row(panel, "Client 2", "Pause")
    expect(pause.get_by_text("Urgent")).to_be_visible()
    pause_box = pause.bounding_box()
    assert pause_box is not None and pause_box["y"] < box["y"]
    expect(attention_of(panel).locator("li[data-key]")).to_have_count(2)
    expect(attention_of(panel).get_by_text("3 of 10")).to_have_count(0)


def test_no_event_is_shown_twice_with_two_clients_and_their_cues(
    context: Any, service: Service
) -> None:
    """Answers and their cues, pauses and their reminders: one row each, across a reload."""
    session, c1, c2, panel = two_clients(service, context, pause_unacknowledged={"after_s": 1})
    sid = session["session"]["id"]
    check_in_suds(panel, [(c1, 2), (c2, 4)])
    press(c2, "Pause")
    press(c1, "Too much")
    check_in_suds(panel, [(c1, 8), (c2, 4)])
    wait_for_events(service, sid, "cue", count=4)  # distress high + rising, out of window, pause

    expected = sorted(
        e["seq"]
        for e in service.events(sid)
        if e["type"] not in ("acknowledge", "retract", "checkin_expired")
        and e["data"].get("participant", {}).get("role") != "therapist"
    )
    assert sorted(shown_seqs(panel)) == expected
    expect(panel.get_by_text("Distress 8 of 10")).to_have_count(1)
    expect(panel.get_by_text("Distress answer: 8 of 10")).to_have_count(0)  # not in the feed too
    expect(panel.get_by_text("High distress")).to_have_count(0)  # the row says it already

    before = feed_items(panel)
    panel.reload()
    expect(panel.locator("comfort-therapist [part~=status]")).to_have_text("Connected")
    expect(panel.locator("comfort-therapist li[data-seq]")).to_have_count(len(before))
    assert feed_items(panel) == before
    assert sorted(shown_seqs(panel)) == expected


def test_acknowledge_only_where_a_response_is_owed_and_focus_stays_in_the_panel(
    context: Any, service: Service
) -> None:
    session, c1, _c2, panel = two_clients(service, context)
    press(c1, "Pause")
    press(c1, "Ready to go on")
    press(c1, "Keep going")
    press(c1, "Grounding")
    press(c1, "5-4-3-2-1 senses")
    press(c1, "Stop exercise")
    wait_for_events(service, session["session"]["id"], "grounding_finished")

    feed = panel.get_by_role("region", name="Feed")
    for label in ("Ready to go on", "Keep going", "Grounding started", "Grounding finished"):
        row = feed.locator("li[data-seq]").filter(has_text=label)
        expect(row).to_have_count(1)
        expect(row.get_by_role("button")).to_have_count(0)
    # One button in the whole panel's rows: the pause's, still owed after the resume.
    expect(panel.locator("li[data-seq]").get_by_role("button")).to_have_count(1)
    pause = attention_row(panel, "Client 1", "Pause")
    expect(pause.get_by_text(re.compile("Ready to go on since"))).to_be_visible()

    pause.get_by_role("button", name="Acknowledge").focus()
    panel.keyboard.press("Enter")
    expect(attention_of(panel).get_by_text("Nothing needs attention.")).to_be_visible()
    expect(panel.get_by_role("heading", name="Needs attention")).to_be_focused()
    pause_seq = events_of(service, session["session"]["id"], "pause")[0]["seq"]
    acks = wait_for_events(service, session["session"]["id"], "acknowledge")
    assert [a["data"]["seq"] for a in acks] == [pause_seq]


def test_the_clients_own_return_to_okay_clears_its_row(context: Any, service: Service) -> None:
    session, c1, c2, panel = two_clients(service, context)
    press(c1, "Too much")
    press(c2, "Slow down")
    expect(attention_row(panel, "Client 1", "Zone: Too much")).to_be_visible()
    expect(attention_row(panel, "Client 2", "Slow down")).to_be_visible()

    press(c1, "Okay")
    press(c2, "Keep going")
    expect(attention_of(panel).get_by_text("Nothing needs attention.")).to_be_visible()
    # Still not acknowledged on the service: the feed keeps a quiet Acknowledge for the client.
    feed = panel.get_by_role("region", name="Feed")
    expect(feed.get_by_role("button", name="Acknowledge")).to_have_count(2)
    zone = events_of(service, session["session"]["id"], "zone")[0]
    feed.locator(f'li[data-seq="{zone["seq"]}"]').get_by_role("button").click()
    acks = wait_for_events(service, session["session"]["id"], "acknowledge")
    assert [a["data"]["seq"] for a in acks] == [zone["seq"]]
    expect(feed.get_by_role("button", name="Acknowledge")).to_have_count(1)


def test_got_it_and_withdrawals_stay_as_they_are_after_a_reload(
    context: Any, service: Service
) -> None:
    """A withdrawn Keep going is no pace (not "Keep going", not the pace before it), live and
    after a reload; a distress row put away with Got it stays away in this tab."""
    session, c1, _c2, panel = two_clients(service, context)
    press(c1, "Slow down")
    panel.get_by_role("button", name="Acknowledge").click()
    press(c1, "Keep going")
    c1.get_by_role("button", name="Undo").click()
    wait_for_events(service, session["session"]["id"], "retract")
    check_in_suds(panel, [(c1, 9)])
    attention_row(panel, "Client 1", "Distress 9 of 10").get_by_role(
        "button", name="Got it"
    ).click()

    card = panel.locator("[part~=client-row]").filter(has_text="Client 1")
    pace = card.get_by_role("definition").nth(1)
    expect(pace).to_have_text("—")
    before = feed_items(panel)
    expect(attention_of(panel).get_by_text("Nothing needs attention.")).to_be_visible()

    panel.reload()
    expect(panel.locator("comfort-therapist [part~=status]")).to_have_text("Connected")
    expect(pace).to_have_text("—")
    expect(attention_of(panel).get_by_text("Nothing needs attention.")).to_be_visible()
    assert feed_items(panel) == before


def test_spanish_acknowledge_and_its_done_state_are_different_words(
    context: Any, service: Service
) -> None:
    session = service.create_session()
    client = open_widget(context, service, "client", session["tokens"]["c-1"], lang="es")
    panel = open_widget(context, service, "therapist", session["tokens"]["t-1"], lang="es")
    press(client, "Pausa")
    attention = panel.get_by_role("region", name="Requiere atención")
    attention.get_by_role("button", name="Confirmar", exact=True).click()
    expect(attention.get_by_text("Nada requiere atención.")).to_be_visible()
    feed = panel.get_by_role("region", name="Actividad")
    expect(
        feed.locator("li[data-seq]").filter(has_text="Pausa").get_by_text("Confirmado")
    ).to_be_visible()
    expect(panel.get_by_role("button", name="Confirmado")).to_have_count(0)
    expect(client.get_by_text("Tu terapeuta lo vio")).to_be_visible()


# ---- the Summary view -----------------------------------------------------------------------


def test_the_summary_view_draws_the_services_summary_with_a_key_and_copies_as_text(
    context: Any, service: Service
) -> None:
    session, c1, c2, panel = two_clients(service, context)
    press(c2, "Pause")
    press(c1, "Too much")
    check_in_suds(panel, [(c1, 8), (c2, 3)])
    press(c2, "Ready to go on")
    wait_for_events(service, session["session"]["id"], "cue")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=service.url)
    requests = summary_requests(panel)

    panel.get_by_role("button", name="Summary", exact=True).click()
    summary = panel.get_by_role("region", name="Session summary")
    expect(summary.get_by_text("Live: updates as the session goes on")).to_be_visible()
    # The therapist's own join token, never the vendor's key, in a header (not the URL).
    sid = session["session"]["id"]
    assert requests[0].url == f"{service.url}/api/v1/sessions/{sid}/summary"
    assert requests[0].headers["authorization"] == f"Bearer {session['tokens']['t-1']}"

    key = summary.get_by_role("list", name="Key")
    expect(key.get_by_role("listitem")).to_have_count(2)
    expect(key).to_contain_text("Client 1")
    expect(key).to_contain_text("Client 2")
    one = summary.get_by_role("region", name="Client 1")
    expect(one).to_contain_text("8")
    expect(one).to_contain_text("Too much")
    expect(one).to_contain_text("(pressed)")
    two = summary.get_by_role("region", name="Client 2")
    expect(two.get_by_role("definition").nth(2)).to_contain_text("1 ·")  # one pause, timed
    expect(
        summary.get_by_role("img", name=re.compile("Timeline of the session for 2 clients"))
    ).to_be_visible()
    # Each client its own line pattern, marker and pause fill, not only its own colour.
    looks = panel.locator("comfort-summary").evaluate(
        """el => [...el.shadowRoot.querySelectorAll('.key li svg')].map(s => ({
             dash: s.querySelector('line').getAttribute('stroke-dasharray'),
             marker: s.lastElementChild.tagName,
             fill: s.querySelector('pattern').lastElementChild.outerHTML
               .replace(/#[0-9a-f]{6}/gi, '')}))"""
    )
    assert len(looks) == 2
    for part in ("dash", "marker", "fill"):
        assert looks[0][part] != looks[1][part], looks
    expect(summary.get_by_role("region", name="Cues")).to_contain_text("High distress")

    summary.get_by_role("button", name="Copy as text").click()
    expect(summary.get_by_text("Copied. Paste it into your note.")).to_be_visible()
    text = panel.evaluate("() => navigator.clipboard.readText()")
    assert "Session summary (Live" in text
    assert "Client 1\n  SUDS: 8" in text and "Client 2\n  SUDS: 3" in text
    assert "Too much" in text and "Pauses: 1" in text

    # Printed, the summary is the page: Needs attention and the controls stay off paper.
    panel.emulate_media(media="print")
    expect(attention_of(panel)).to_be_hidden()
    expect(summary.get_by_role("button", name="Print")).to_be_hidden()
    expect(summary.get_by_role("list", name="Key")).to_be_visible()
    panel.emulate_media(media="screen")

    # Live: a new event brings a fresh summary a moment later.
    press(c1, "Pause")
    expect(two.get_by_role("definition").nth(2)).to_contain_text("1 ·")
    expect(one.get_by_role("definition").nth(2)).to_contain_text("1 ·", timeout=10_000)
    assert len(requests) >= 2

    # Needs attention stays on top of the summary; "Live" goes back.
    expect(attention_of(panel)).to_be_visible()
    panel.get_by_role("button", name="Live", exact=True).click()
    expect(panel.get_by_role("region", name="Feed")).to_be_visible()


def test_the_summary_view_and_a_busy_side_panel_have_no_serious_axe_violation(
    browser: Any, service: Service
) -> None:
    ctx = browser.new_context(bypass_csp=True, viewport=SIDE_PANEL)
    ctx.set_default_timeout(10_000)
    try:
        session, c1, c2, panel = two_clients(service, ctx)
        press(c2, "Pause")
        press(c1, "Shut down")
        check_in_suds(panel, [(c1, 8), (c2, 2)])
        wait_for_events(service, session["session"]["id"], "cue", count=2)
        problems = {"busy side panel": run_axe(panel)}
        panel.get_by_role("button", name="Summary", exact=True).click()
        expect(panel.get_by_role("list", name="Key")).to_be_visible()
        problems["summary"] = run_axe(panel)
        assert {k: v for k, v in problems.items() if v} == {}
    finally:
        ctx.close()


def test_the_summary_opens_with_a_therapist_token_and_not_with_a_client_token(
    context: Any, service: Service
) -> None:
    session, c1, _c2, panel = two_clients(service, context)
    press(c1, "Pause")
    panel.get_by_role("button", name="Summary", exact=True).click()
    summary = panel.get_by_role("region", name="Session summary")
    expect(summary.get_by_role("list", name="Key")).to_contain_text("Client 1")

    sid = session["session"]["id"]
    fetch = """async ([sid, token]) => (await fetch(`/api/v1/sessions/${sid}/summary`,
                 {headers: {Authorization: `Bearer ${token}`}})).status"""
    assert panel.evaluate(fetch, [sid, session["tokens"]["t-1"]]) == 200
    assert panel.evaluate(fetch, [sid, session["tokens"]["c-1"]]) in (401, 403)
    other = service.create_session()
    assert panel.evaluate(fetch, [sid, other["tokens"]["t-1"]]) in (401, 403, 404)

    # A panel given a client's token cannot open it either, and says so.
    page = context.new_page()
    page.goto(service.embed("therapist", session["tokens"]["c-1"]))
    page.get_by_role("button", name="Summary", exact=True).click()
    expect(page.get_by_text("This link cannot open the summary.")).to_be_visible()


# ---- with issue 15's service side -----------------------------------------------------------


def test_a_reload_while_paused_raises_no_urgent_cue(context: Any, service: Service) -> None:
    session, c1, _c2, panel = two_clients(
        service,
        context,
        pause_unacknowledged={"enabled": False},
        disconnected_in_distress={"grace_s": 3},
    )
    press(c1, "Pause")
    c1.reload()
    expect(c1.locator("comfort-client [part~=status]")).to_have_text("Connected")
    time.sleep(5)  # past the grace
    assert [
        c
        for c in events_of(service, session["session"]["id"], "cue")
        if c["data"]["rule"] == "disconnected_in_distress"
    ] == []
    expect(attention_of(panel).get_by_text("Left while in distress")).to_have_count(0)


def test_a_drop_longer_than_the_grace_is_urgent_and_clears_when_the_client_is_back(
    browser: Any, context: Any, service: Service
) -> None:
    session = service.create_session(
        clients=2, settings={"cues": {"disconnected_in_distress": {"grace_s": 2}}}
    )
    away = browser.new_context()
    try:
        c1 = open_widget(away, service, "client", session["tokens"]["c-1"])
        panel = open_widget(context, service, "therapist", session["tokens"]["t-1"])
        press(c1, "Pause")
        panel.get_by_role("button", name="Acknowledge").click()
        away.close()
        row = attention_row(panel, "Client 1", "Left while in distress")
        expect(row).to_be_visible(timeout=15_000)
        expect(row.get_by_text("Urgent")).to_be_visible()
        expect(row.get_by_text("while paused")).to_be_visible()
        expect(attention_of(panel).locator("li[data-key]").first).to_contain_text(
            "Left while in distress"
        )
        open_widget(context, service, "client", session["tokens"]["c-1"])
        expect(attention_of(panel).get_by_text("Nothing needs attention.")).to_be_visible()
    finally:
        away.close()


def test_a_reconnecting_panel_never_says_nothing_needs_attention(
    side_panel: Any, context: Any, service: Service
) -> None:
    """While the therapist's own connection is down, a client may press Pause: the panel cannot
    know, so it shows no all-clear and no "Not paused", only what it knows and since when; when
    it is back, the pause is its first row."""
    session = service.create_session()
    client = open_widget(context, service, "client", session["tokens"]["c-1"])
    panel = open_widget(side_panel, service, "therapist", session["tokens"]["t-1"])
    attention = attention_of(panel)
    card = panel.get_by_role("region", name="Clients")
    expect(attention.get_by_text("Nothing needs attention.")).to_be_visible()
    expect(card).to_contain_text("Not paused")

    side_panel.set_offline(True)
    expect(panel.locator("comfort-therapist [part~=status]").first).to_contain_text("Reconnecting")
    behind = attention.locator("[part~=attention-behind]")
    expect(behind).to_have_text(
        re.compile(
            r"^Reconnecting: anything since \S.* will show here when the connection is back\.$"
        )
    )
    expect(attention).not_to_contain_text("Nothing needs attention")
    expect(attention).not_to_contain_text("✓")
    expect(card.get_by_text("Not known")).to_have_count(1)
    expect(card).not_to_contain_text("Not paused")
    expect(card).to_contain_text(re.compile(r"Connected · as of \S"))
    since = behind.inner_text()
    press(client, "Pause")
    wait_for_events(service, session["session"]["id"], "pause")
    time.sleep(0.5)
    expect(behind).to_have_text(since)  # nothing it could not know
    expect(attention.locator("li[data-key]")).to_have_count(0)

    side_panel.set_offline(False)
    expect(attention_row(panel, "Client 1", "Pause")).to_be_visible(timeout=20_000)
    expect(behind).to_have_count(0)
    expect(card.get_by_text("Paused", exact=True).first).to_be_visible()
    expect(card).not_to_contain_text("as of")


def test_a_panel_that_never_connected_names_no_time_and_no_all_clear(
    context: Any, service: Service
) -> None:
    session = service.create_session()
    page = context.new_page()
    page.route(re.compile(r".*/socket\.io/.*"), lambda route: route.abort())
    page.goto(service.embed("therapist", session["tokens"]["t-1"]))
    attention = attention_of(page)
    expect(attention.locator("[part~=attention-behind]")).to_have_text(
        "Not connected yet: what needs attention will show here once it connects."
    )
    time.sleep(1.5)  # a few refused attempts later it still names no time it cannot know
    expect(attention.locator("[part~=attention-behind]")).to_have_text(
        "Not connected yet: what needs attention will show here once it connects."
    )
    expect(attention).not_to_contain_text("Nothing needs attention")
    expect(page.locator("comfort-therapist")).not_to_contain_text("Nothing yet")
    status = page.locator("comfort-therapist [part~=status]").first
    expect(status).to_have_text("Connecting…")  # never there, so not "Reconnecting"


# ---- the actions: a request says where it stands --------------------------------------------


def request_line(panel: Page) -> Any:
    """The line under Check in and Suggest grounding (a polite live region)."""
    return panel.get_by_role("region", name="Actions").get_by_role("status")


def test_a_check_in_pressed_offline_is_not_sent_yet_until_the_service_has_it(
    side_panel: Any, context: Any, service: Service
) -> None:
    """Pressed while the panel's connection is down, a check-in is kept on this device: the line
    says so for as long as that lasts (not "sent", and it does not fade), and says "sent" only
    once the service has stored it; the client then gets the question."""
    session = service.create_session()
    sid = session["session"]["id"]
    client = open_widget(context, service, "client", session["tokens"]["c-1"])
    panel = open_widget(side_panel, service, "therapist", session["tokens"]["t-1"])
    side_panel.set_offline(True)
    expect(panel.locator("comfort-therapist [part~=status]").first).to_contain_text("Reconnecting")

    panel.get_by_role("button", name="Check in").click()
    panel.get_by_role("combobox", name="Ask").select_option(label="Client 1")
    panel.get_by_role("button", name=SUDS_CHECK_IN).click()
    line = request_line(panel)
    waiting = "Check-in not sent yet: it will go out when the connection is back."
    expect(line).to_have_text(waiting)
    expect(panel.get_by_role("button", name="Check in")).to_be_focused()  # not the page
    time.sleep(11)  # past the 10 s a settled line stays: this one is not settled
    expect(line).to_have_text(waiting)
    assert events_of(service, sid, "checkin_request") == []

    side_panel.set_offline(False)
    expect(line).to_have_text("Check-in sent.", timeout=20_000)
    (request,) = events_of(service, sid, "checkin_request")  # stored before it said so
    assert request["data"] == {"instrument": "suds", "to": ["c-1"]}
    expect(client.get_by_role("form", name="Your therapist is checking in")).to_be_visible()


def test_a_suggestion_kept_across_a_reload_still_says_not_sent_yet(
    context: Any, own_service: Service
) -> None:
    """The service is down: a suggestion is kept, the panel reloaded. The reloaded panel has
    never connected, so it says the suggestion goes out once it connects (not "when the
    connection is back"), and says "sent" once the service has it, stored once."""
    service = own_service
    session = service.create_session()
    sid = session["session"]["id"]
    panel = open_outage_proof_page(context, service.embed("therapist", session["tokens"]["t-1"]))
    expect(panel.locator("comfort-therapist [part~=status]").first).to_have_text("Connected")
    service.stop()
    expect(panel.locator("comfort-therapist [part~=status]").first).to_contain_text("Reconnecting")
    panel.get_by_role("button", name="Suggest grounding").click()
    panel.get_by_role("button", name="Box breathing").click()
    line = request_line(panel)
    expect(line).to_have_text(
        "Suggestion not sent yet: it will go out when the connection is back."
    )

    panel.reload()
    expect(line).to_have_text("Suggestion not sent yet: it will go out once the panel connects.")
    service.start()
    expect(line).to_have_text("Suggestion sent.", timeout=30_000)
    (suggestion,) = events_of(service, sid, "suggest_grounding")
    assert suggestion["data"] == {"exercise": "box_breathing"}


def test_a_check_in_and_a_suggestion_sent_online_end_at_sent(
    context: Any, service: Service
) -> None:
    session = service.create_session()
    sid = session["session"]["id"]
    panel = open_widget(context, service, "therapist", session["tokens"]["t-1"])
    line = request_line(panel)
    panel.get_by_role("button", name="Check in").click()
    panel.get_by_role("button", name="Zone", exact=True).press("Enter")
    expect(line).to_have_text("Check-in sent.")
    assert len(events_of(service, sid, "checkin_request")) == 1  # "sent" means stored
    # The menu closed under the keyboard: focus is back on its button, not on the page.
    expect(panel.get_by_role("button", name="Check in")).to_be_focused()
    expect(panel.get_by_role("button", name="Check in")).to_have_attribute("aria-expanded", "false")

    panel.get_by_role("button", name="Suggest grounding").click()
    expect(line).to_have_text("")  # opening a menu puts the settled line away
    panel.get_by_role("button", name="5-4-3-2-1 senses").click()
    expect(line).to_have_text("Suggestion sent.")
    assert len(events_of(service, sid, "suggest_grounding")) == 1
    expect(panel.get_by_role("button", name="Suggest grounding")).to_be_focused()


def test_a_panel_that_never_connected_offers_its_actions_disabled_with_the_reason(
    context: Any, service: Service
) -> None:
    """Before its first connection the panel knows no client to ask, so Check in and Suggest
    grounding stay in place (and in the tab order) but are disabled, described by why; they
    open nothing and queue nothing. Once it connects they work, and focus stays where it was."""
    session = service.create_session()
    page = context.new_page()
    socket_io = re.compile(r".*/socket\.io/.*")
    page.route(socket_io, lambda route: route.abort())
    page.goto(service.embed("therapist", session["tokens"]["t-1"]))
    actions = page.get_by_role("region", name="Actions")
    why = "Available once the panel connects."
    expect(actions.get_by_text(why)).to_be_visible()
    for name in ("Check in", "Suggest grounding"):
        button = actions.get_by_role("button", name=name)
        expect(button).to_be_disabled()
        expect(button).to_have_accessible_description(why)

    check_in = actions.get_by_role("button", name="Check in")
    check_in.focus()
    page.keyboard.press("Enter")
    page.keyboard.press("Space")
    check_in.click(force=True)
    expect(check_in).to_be_focused()
    expect(check_in).to_have_attribute("aria-expanded", "false")
    expect(actions.get_by_role("button", name=SUDS_CHECK_IN)).to_have_count(0)
    expect(actions.get_by_role("combobox", name="Ask")).to_have_count(0)  # no empty "who"
    expect(request_line(page)).to_have_text("")
    outbox = page.evaluate(
        "(key) => JSON.parse(sessionStorage.getItem(key) || '{\"outbox\": []}').outbox",
        f"comfort:v1:{session['session']['id']}:t-1",
    )
    assert outbox == []

    page.unroute(socket_io)
    expect(page.locator("comfort-therapist [part~=status]").first).to_have_text(
        "Connected", timeout=20_000
    )
    expect(check_in).to_be_enabled()
    expect(check_in).to_have_accessible_description("")
    expect(actions.get_by_text(why)).to_have_count(0)
    expect(check_in).to_be_focused()
    page.keyboard.press("Enter")
    expect(actions.get_by_role("combobox", name="Ask")).to_contain_text("Client 1")


# ---- Acknowledge says where it stands ------------------------------------------------------

NOT_SENT_YET = "Acknowledgement not sent yet: it will go out when the connection is back."


def ack_state(row: Any) -> Any:
    """Where a row's acknowledgement stands (a polite live region on the signal's row)."""
    return row.get_by_role("status")


def test_an_acknowledgement_pressed_offline_keeps_the_signal_in_needs_attention_until_it_is_sent(
    side_panel: Any, context: Any, service: Service
) -> None:
    """Acknowledge pressed while the panel's connection is down is kept on this device: the
    pause stays in Needs attention saying so (never "Sending…"), focus on its row, and the
    client is not told it was seen. Once the connection is back the acknowledgement is stored,
    the row leaves, focus goes to the heading, and the client sees "Your therapist saw this".
    A feed row's quiet Acknowledge (a Slow down the client's Keep going cleared) says the same."""
    session = service.create_session()
    sid = session["session"]["id"]
    client = open_widget(context, service, "client", session["tokens"]["c-1"])
    panel = open_widget(side_panel, service, "therapist", session["tokens"]["t-1"])
    press(client, "Slow down")
    press(client, "Keep going")
    press(client, "Pause")
    pause = attention_row(panel, "Client 1", "Pause")
    expect(pause).to_be_visible()
    (slow,) = events_of(service, sid, "slow_down")
    feed_row = panel.get_by_role("region", name="Feed").locator(f'li[data-seq="{slow["seq"]}"]')
    expect(feed_row.get_by_role("button", name="Acknowledge")).to_be_visible()

    side_panel.set_offline(True)
    expect(panel.locator("comfort-therapist [part~=status]").first).to_contain_text("Reconnecting")
    feed_row.get_by_role("button", name="Acknowledge").click()
    expect(ack_state(feed_row)).to_have_text(NOT_SENT_YET)
    expect(feed_row).to_be_focused()
    pause.get_by_role("button", name="Acknowledge").focus()
    panel.keyboard.press("Enter")
    expect(ack_state(pause)).to_have_text(NOT_SENT_YET)
    expect(pause).to_be_focused()  # the row itself: its button is gone, focus is not
    expect(pause.get_by_role("button")).to_have_count(0)  # nothing more to press
    time.sleep(2)  # however long it waits, it says the same, and nothing left this device
    expect(pause).to_be_visible()
    expect(ack_state(pause)).to_have_text(NOT_SENT_YET)
    expect(panel.locator("comfort-therapist")).not_to_contain_text("Sending")
    expect(attention_of(panel).locator("li[data-key]")).to_have_count(1)
    assert events_of(service, sid, "acknowledge") == []
    expect(client.get_by_text("Your therapist saw this")).to_have_count(0)

    side_panel.set_offline(False)
    expect(attention_of(panel).get_by_text("Nothing needs attention.")).to_be_visible(
        timeout=20_000
    )
    (pause_event,) = events_of(service, sid, "pause")
    acked = sorted(a["data"]["seq"] for a in events_of(service, sid, "acknowledge"))
    assert acked == sorted([slow["seq"], pause_event["seq"]])  # stored, each once
    expect(panel.get_by_role("heading", name="Needs attention")).to_be_focused()
    expect(feed_row).to_contain_text("Acknowledged")
    expect(ack_state(feed_row)).to_have_count(0)
    expect(client.get_by_text("Your therapist saw this").first).to_be_visible()


def reload_unconnected(panel: Page) -> None:
    """Reload the panel with its socket blocked: it shows what its tab kept, and no welcome."""
    panel.route(SOCKET_IO, lambda route: route.abort())
    panel.reload()
    expect(panel.locator("comfort-therapist [part~=status]").first).to_have_text("Connecting…")


def paused_then_reloaded_unconnected(
    context: Any, service: Service
) -> tuple[str, Page, Page, Locator]:
    """A client paused, seen by the panel, then the panel reloaded while it cannot connect: the
    session id, the client, the panel and the pause's row, found by its key (the display names come with the
    welcome, which the reloaded panel has not had)."""
    session = service.create_session()
    client = open_widget(context, service, "client", session["tokens"]["c-1"])
    panel = open_widget(context, service, "therapist", session["tokens"]["t-1"])
    press(client, "Pause")
    pause = attention_of(panel).locator('li[data-key="pause:c-1"]')
    expect(pause).to_be_visible()
    reload_unconnected(panel)
    return session["session"]["id"], client, panel, pause


def test_an_acknowledgement_kept_across_a_reload_goes_out_once_the_panel_connects(
    context: Any, service: Service
) -> None:
    """A panel reloaded while it cannot connect still shows the pause it had (its log is kept
    in this tab) and still offers Acknowledge: the seq is known and the press is kept with the
    same id, so it goes out once the panel connects, stored once; until then the row says so."""
    sid, client, panel, pause = paused_then_reloaded_unconnected(context, service)
    pause.get_by_role("button", name="Acknowledge").click()
    expect(ack_state(pause)).to_have_text(
        "Acknowledgement not sent yet: it will go out once the panel connects."
    )
    time.sleep(1)
    assert events_of(service, sid, "acknowledge") == []

    panel.unroute(SOCKET_IO)
    expect(pause).to_have_count(0, timeout=20_000)
    (pause_event,) = events_of(service, sid, "pause")
    assert [a["data"]["seq"] for a in events_of(service, sid, "acknowledge")] == [
        pause_event["seq"]
    ]
    expect(client.get_by_text("Your therapist saw this")).to_be_visible()


def test_a_refused_acknowledgement_says_so_and_can_be_pressed_again(
    context: Any, service: Service
) -> None:
    """The service refuses an acknowledgement of a signal it does not have (here a pause put
    into the panel's log by hand, as a log out of step would hold): the row stays, says the
    acknowledgement could not be sent, and offers Acknowledge again."""
    session = service.create_session()
    sid = session["session"]["id"]
    panel = open_widget(context, service, "therapist", session["tokens"]["t-1"])
    panel.locator("comfort-therapist").evaluate(
        """el => el.connection.onEvent({seq: 900, id: 'stray', type: 'pause', to: null,
             at: new Date().toISOString(), actor: {id: 'c-1', role: 'client'}, data: {}})"""
    )
    pause = attention_row(panel, "Client 1", "Pause")
    pause.get_by_role("button", name="Acknowledge").click()
    expect(ack_state(pause)).to_have_text("The acknowledgement could not be sent.")
    again = pause.get_by_role("button", name="Acknowledge")
    expect(again).to_be_visible()
    assert events_of(service, sid, "acknowledge") == []
    again.focus()
    panel.keyboard.press("Enter")  # refused again: said again, and the row still there
    expect(ack_state(pause)).to_have_text("The acknowledgement could not be sent.")
    expect(pause.get_by_role("button", name="Acknowledge")).to_be_visible()


def open_unconnected_panel(context: Any, service: Service) -> Page:
    """A new session's panel opened with its socket blocked: it has never connected."""
    session = service.create_session()
    page = context.new_page()
    page.route(SOCKET_IO, lambda route: route.abort())
    page.goto(service.embed("therapist", session["tokens"]["t-1"]))
    expect(page.locator("comfort-therapist [part~=status]").first).to_have_text("Connecting…")
    expect(page.get_by_role("heading", name="Needs attention")).to_be_visible()
    return page


def test_a_panel_that_never_connected_shows_no_empty_clients_heading(
    context: Any, service: Service
) -> None:
    """Before its first connection the panel knows no client: no "Clients" heading over
    nothing (Needs attention and the status line say it is connecting). Once connected, the
    clients are there under it."""
    page = open_unconnected_panel(context, service)
    expect(page.get_by_role("heading", name="Clients")).to_have_count(0)
    expect(page.get_by_role("region", name="Clients")).to_have_count(0)

    page.unroute(SOCKET_IO)
    clients = page.get_by_role("region", name="Clients")
    expect(clients.locator("[part~=client-row]")).to_have_count(1, timeout=20_000)
    expect(clients).to_contain_text("Client 1")


def test_a_panel_that_never_connected_shows_no_empty_feed_heading(
    context: Any, service: Service
) -> None:
    """Before its first connection (and with no log kept from before a reload) the panel cannot
    know what the feed holds: no "Feed" heading over nothing, not even "Nothing yet." (Needs
    attention and the status line say it is connecting). Once connected and caught up it is
    there, and then "Nothing yet." is true."""
    page = open_unconnected_panel(context, service)
    time.sleep(1)  # a few refused attempts later, still none
    expect(page.get_by_role("heading", name="Feed")).to_have_count(0)
    expect(page.get_by_role("region", name="Feed")).to_have_count(0)

    page.unroute(SOCKET_IO)
    feed = page.get_by_role("region", name="Feed")
    expect(feed.get_by_role("heading", name="Feed")).to_be_visible(timeout=20_000)
    expect(feed).to_contain_text("Nothing yet.")  # now it knows: caught up, nothing came in


NOT_CONNECTED_KEPT = (
    "Not connected yet: these came in earlier; anything new will show here once it connects."
)


def test_a_panel_reloaded_before_it_connects_says_its_rows_came_in_earlier(
    context: Any, service: Service
) -> None:
    """A panel reloaded while it cannot connect shows the rows its tab kept, and says they came
    in earlier, never that what needs attention is still to come. Once connected the note goes
    and the row is still there, now known to be current."""
    _, _, panel, pause = paused_then_reloaded_unconnected(context, service)
    behind = attention_of(panel).locator("[part~=attention-behind]")
    expect(behind).to_have_text(NOT_CONNECTED_KEPT)
    expect(pause).to_be_visible()
    time.sleep(1)  # a few refused attempts later it says the same
    expect(behind).to_have_text(NOT_CONNECTED_KEPT)

    panel.unroute(SOCKET_IO)
    expect(behind).to_have_count(0, timeout=20_000)
    expect(pause).to_be_visible()


def named_session(service: Service, *names: str) -> dict[str, Any]:
    """A session whose clients c-1, c-2, … have the display names given (none like "Client 1",
    so a label the panel makes up cannot pass for one)."""
    return service.create_session(
        participants=[{"id": "t-1", "role": "therapist", "display_name": "Dr Tessa"}]
        + [
            {"id": f"c-{i}", "role": "client", "display_name": name}
            for i, name in enumerate(names, 1)
        ]
    )


def test_a_panel_reloaded_before_it_connects_calls_its_client_client_not_by_id(
    context: Any, service: Service
) -> None:
    """Display names come with the welcome and are kept nowhere else: a panel reloaded while it
    cannot connect calls the client "Client" on its row, its card and in the feed (and the
    therapist who asked a check-in "Therapist"), never by an id ("c-1"), and keeps no name in
    its tab; once connected, the names are back."""
    session = named_session(service, "Ana")
    sid = session["session"]["id"]
    client = open_widget(context, service, "client", session["tokens"]["c-1"])
    panel = open_widget(context, service, "therapist", session["tokens"]["t-1"])
    press(client, "Pause")
    pause = attention_of(panel).locator('li[data-key="pause:c-1"]')
    expect(pause.locator(".who")).to_have_text("Ana")
    panel.get_by_role("button", name="Check in").click()
    panel.get_by_role("button", name=SUDS_CHECK_IN).click()
    feed = panel.get_by_role("region", name="Feed")
    expect(feed).to_contain_text("Dr Tessa")  # the check-in's row names who asked

    reload_unconnected(panel)
    expect(pause.locator(".who")).to_have_text("Client")
    card = panel.get_by_role("region", name="Clients").locator("[part~=client-row]")
    expect(card.locator(".client-name strong")).to_have_text("Client")
    expect(feed).to_contain_text("Joined: Client")
    expect(feed.locator("li").filter(has_text="Check-in")).to_contain_text("Therapist")
    text = panel_text(panel)
    for shown in ("c-1", "t-1", "Ana", "Dr Tessa"):
        assert shown not in text, shown
    assert "Ana" not in (storage_entry(panel, sid) or "")  # no name kept in the tab

    panel.unroute(SOCKET_IO)
    expect(pause.locator(".who")).to_have_text("Ana", timeout=20_000)
    expect(card.locator(".client-name strong")).to_have_text("Ana")
    expect(feed).to_contain_text("Joined: Ana")
    expect(feed.locator("li").filter(has_text="Check-in")).to_contain_text("Dr Tessa")


def test_a_panel_reloaded_before_it_connects_numbers_several_clients(
    context: Any, service: Service
) -> None:
    """With two clients in its log, the reloaded panel tells them apart, "Client 1" and "Client
    2" in the order they came, the same on each one's row and card; then their names."""
    session = named_session(service, "Ana", "Ben")
    c1 = open_widget(context, service, "client", session["tokens"]["c-1"])
    c2 = open_widget(context, service, "client", session["tokens"]["c-2"])
    panel = open_widget(context, service, "therapist", session["tokens"]["t-1"])
    press(c2, "Slow down")
    press(c1, "Pause")
    expect(attention_row(panel, "Ben", "Slow down")).to_be_visible()
    expect(attention_row(panel, "Ana", "Pause")).to_be_visible()

    reload_unconnected(panel)
    cards = panel.get_by_role("region", name="Clients").locator("[part~=client-row]")
    expect(attention_row(panel, "Client 1", "Pause")).to_be_visible()
    expect(attention_row(panel, "Client 2", "Slow down")).to_be_visible()
    expect(cards.filter(has_text="Client 1")).to_contain_text("Paused")
    expect(cards.filter(has_text="Client 2")).to_contain_text("Slow down")
    text = panel_text(panel)
    for shown in ("c-1", "c-2", "Ana", "Ben"):
        assert shown not in text, shown

    panel.unroute(SOCKET_IO)
    expect(attention_row(panel, "Ana", "Pause")).to_be_visible(timeout=20_000)
    expect(attention_row(panel, "Ben", "Slow down")).to_be_visible()
    expect(cards.filter(has_text="Ana")).to_contain_text("Paused")


def test_help_now_comes_first_with_the_clients_location(context: Any, service: Service) -> None:
    session, _c1, c2, panel = two_clients(service, context)
    press(c2, "Slow down")
    token = session["tokens"]["c-1"]
    assert send_as(service, token, "location_shared", {"text": "Home — 12 Rue de l'Été"})["ok"]
    assert send_as(service, token, "help_now", {})["ok"]
    rows = attention_of(panel).locator("li[data-key]")
    expect(rows.first).to_contain_text("Client 1")
    expect(rows.first).to_contain_text("Asked for help now")
    expect(rows.first.get_by_text("Urgent")).to_be_visible()
    expect(rows.first).to_contain_text("Location: Home — 12 Rue de l'Été")
    card = panel.locator("[part~=client-row]").filter(has_text="Client 1")
    expect(card).to_contain_text("Home — 12 Rue de l'Été")
    rows.first.get_by_role("button", name="Acknowledge").click()
    expect(rows.first).to_contain_text("Client 2")
    help_now = events_of(service, session["session"]["id"], "help_now")[0]
    acks = wait_for_events(service, session["session"]["id"], "acknowledge")
    assert [a["data"]["seq"] for a in acks] == [help_now["seq"]]


def test_a_late_answer_is_marked_late(context: Any, service: Service) -> None:
    session, _c1, _c2, panel = two_clients(service, context, checkin_unanswered={"after_s": 1})
    sid = session["session"]["id"]
    panel.get_by_role("button", name="Check in").click()
    panel.get_by_role("button", name=SUDS_CHECK_IN).click()
    request = wait_for_events(service, sid, "checkin_request")[0]
    wait_for_events(service, sid, "checkin_expired", timeout=15)
    assert request["data"]["instrument"] == "suds"

    def answer(seen: list[dict[str, Any]]) -> dict[str, Any]:
        # The client's own numbering (§9.1): the request's position in its stream.
        mine = next(e for e in seen if e["type"] == "checkin_request")
        return {"checkin_seq": mine["seq"], "value": 8}

    assert send_as(service, session["tokens"]["c-1"], "checkin_response", answer)["ok"]
    row = attention_row(panel, "Client 1", "Distress 8 of 10")
    expect(row.get_by_text("Late")).to_be_visible()
    stored = events_of(service, sid, "checkin_response")[0]
    assert stored["data"]["late"] is True


# ---- presses that waited, any id, nothing left behind, the words --------------------------


# Every text the panel shows, its shadow roots and the summary's included.
DEEP_TEXT = """(root) => {
  const out = [];
  const walk = (node) => {
    if (node.nodeType === Node.TEXT_NODE) out.push(node.textContent);
    if (node.shadowRoot) walk(node.shadowRoot);
    for (const child of node.childNodes) walk(child);
  };
  walk(root);
  return out.join(' ').replace(/\\s+/g, ' ');
}"""


def panel_text(panel: Page) -> str:
    return str(panel.locator("comfort-therapist").evaluate(DEEP_TEXT))


def storage_entry(panel: Page, sid: str) -> Any:
    """The panel's sessionStorage entry for the session (None when there is none)."""
    return panel.evaluate("(key) => sessionStorage.getItem(key)", f"comfort:v1:{sid}:t-1")


def session_keys(panel: Page, sid: str) -> list[str]:
    return [k for k in panel.evaluate("() => Object.keys(sessionStorage)") if sid in k]


def test_a_press_kept_offline_says_when_it_was_pressed_and_when_it_arrived(
    context: Any, own_service: Service
) -> None:
    service = own_service
    session = service.create_session()
    sid = session["session"]["id"]
    client = open_outage_proof_page(context, service.embed("client", session["tokens"]["c-1"]))
    expect(client.locator("comfort-client [part~=status]")).to_have_text("Connected")
    service.stop()
    client.get_by_role("button", name="Pause", exact=True).click()
    expect(client.locator("comfort-client #feedback")).to_contain_text("Kept on this device")
    time.sleep(6)  # kept longer than the few seconds the panel lets pass without a word
    service.start()
    (pause,) = wait_for_events(service, sid, "pause", timeout=30)
    assert pause["data"]["pressed_at"] < pause["at"], pause
    panel = open_widget(context, service, "therapist", session["tokens"]["t-1"])
    row = attention_row(panel, "Client 1", "Pause")
    said = row.locator(".pressed-arrived")
    expect(said).to_have_text(re.compile(r"^pressed \S.*, arrived \S"))
    expect(said).to_have_attribute("data-pressed-at", pause["data"]["pressed_at"])
    row.get_by_role("button", name="Acknowledge").click()
    feed_row = panel.locator(f"li[data-seq='{pause['seq']}']")
    expect(feed_row.locator(".pressed-arrived")).to_have_text(re.compile("^pressed .*, arrived "))


def test_client_ids_that_name_object_properties_get_their_own_cards(
    context: Any, service: Service
) -> None:
    ids = ["__proto__", "constructor", "toString"]
    session = service.create_session(
        participants=[{"id": "t-1", "role": "therapist", "display_name": "Dr Tessa"}]
        + [{"id": cid, "role": "client"} for cid in ids]
    )
    sid = session["session"]["id"]
    panel = open_widget(context, service, "therapist", session["tokens"]["t-1"])
    cards = panel.locator("[part~=client-row]")
    expect(cards).to_have_count(3)
    for cid in ids:
        expect(cards.filter(has_text=cid)).to_have_count(1)
    tokens = session["tokens"]
    assert send_as(service, tokens["__proto__"], "pause", {})["ok"]
    assert send_as(service, tokens["constructor"], "zone", {"zone": "too_much"})["ok"]
    assert send_as(service, tokens["toString"], "location_shared", {"text": "At home"})["ok"]
    assert send_as(service, tokens["toString"], "help_now", {})["ok"]
    expect(attention_row(panel, "__proto__", "Pause")).to_be_visible()
    expect(attention_row(panel, "constructor", "Zone: Too much")).to_be_visible()
    expect(attention_row(panel, "toString", "Asked for help now")).to_contain_text("At home")
    expect(cards.filter(has_text="toString")).to_contain_text("At home")
    expect(cards.filter(has_text="__proto__")).to_contain_text("Paused")
    expect(cards.filter(has_text="constructor")).not_to_contain_text("At home")
    panel.get_by_role("button", name="Summary", exact=True).click()
    key = panel.get_by_role("region", name="Session summary").get_by_role("list", name="Key")
    expect(key.get_by_role("listitem")).to_have_count(3)
    text = panel_text(panel)
    assert all(cid in text for cid in ids)
    for wrong in ("[object Object]", "function", "native code", "undefined"):
        assert wrong not in text, wrong
    assert len(events_of(service, sid, "pause")) == 1


def test_an_erased_session_leaves_nothing_in_the_panels_storage(
    context: Any, service: Service
) -> None:
    session = service.create_session()
    sid = session["session"]["id"]
    panel = open_widget(context, service, "therapist", session["tokens"]["t-1"])
    assert send_as(service, session["tokens"]["c-1"], "pause", {})["ok"]
    assert send_as(service, session["tokens"]["c-1"], "zone", {"zone": "shut_down"})["ok"]
    expect(attention_row(panel, "Client 1", "Pause")).to_be_visible()
    held = storage_entry(panel, sid)
    assert held is not None and '"shut_down"' in held and '"pause"' in held
    service.call("DELETE", f"/api/v1/sessions/{sid}")
    expect(panel.locator("comfort-therapist [part~=status]").first).to_have_text(
        "This session could not be found."
    )
    panel.wait_for_function(
        "(key) => sessionStorage.getItem(key) === null", arg=f"comfort:v1:{sid}:t-1"
    )
    assert session_keys(panel, sid) == []
    expect(panel.locator("comfort-therapist")).not_to_contain_text("Client 1")


def test_an_ended_session_keeps_its_log_until_it_is_erased(context: Any, service: Service) -> None:
    session = service.create_session()
    sid = session["session"]["id"]
    panel = open_widget(context, service, "therapist", session["tokens"]["t-1"])
    assert send_as(service, session["tokens"]["c-1"], "pause", {})["ok"]
    expect(attention_row(panel, "Client 1", "Pause")).to_be_visible()
    service.call("POST", f"/api/v1/sessions/{sid}/end")
    expect(panel.get_by_role("region", name="Session summary")).to_be_visible()
    assert '"pause"' in storage_entry(panel, sid)  # the summary still reads it
    # Shown again later (another tab was in front meanwhile): the panel asks, and learns the
    # session was erased.
    service.call("DELETE", f"/api/v1/sessions/{sid}")
    panel.evaluate("() => document.dispatchEvent(new Event('visibilitychange'))")
    panel.wait_for_function(
        "(key) => sessionStorage.getItem(key) === null", arg=f"comfort:v1:{sid}:t-1"
    )
    expect(panel.locator("comfort-therapist [part~=status]").first).to_have_text(
        "This session could not be found."
    )


def test_a_refused_link_clears_what_the_tab_held_of_the_session(
    context: Any, service: Service
) -> None:
    session = service.create_session()
    sid = session["session"]["id"]
    panel = open_widget(context, service, "therapist", session["tokens"]["t-1"])
    assert send_as(service, session["tokens"]["c-1"], "pause", {})["ok"]
    expect(attention_row(panel, "Client 1", "Pause")).to_be_visible()
    assert storage_entry(panel, sid) is not None
    expired = TokenIssuer(SECRET, 60).mint(sid, "t-1", "therapist", now=time.time() - 3600)
    panel.goto(service.embed("therapist", expired))  # the same tab, its link now expired
    expect(panel.locator("comfort-therapist [part~=status]").first).to_have_text(
        "This link has expired. Please ask for a new one."
    )
    panel.wait_for_function(
        "(key) => sessionStorage.getItem(key) === null", arg=f"comfort:v1:{sid}:t-1"
    )
    assert session_keys(panel, sid) == []


def test_an_open_pause_reads_paused_just_now_never_zero_seconds(
    context: Any, service: Service
) -> None:
    session = service.create_session()
    panel = open_widget(context, service, "therapist", session["tokens"]["t-1"])
    client = open_widget(context, service, "client", session["tokens"]["c-1"])
    press(client, "Pause")
    panel.get_by_role("button", name="Summary", exact=True).click()
    one = panel.get_by_role("region", name="Session summary").get_by_role("region", name="Client 1")
    expect(one.get_by_role("definition").nth(2)).to_have_text("1 · paused just now")
    expect(one).not_to_contain_text("0 s")


def test_spanish_panel_words_are_neutral(context: Any, service: Service) -> None:
    session = service.create_session()
    client = open_widget(context, service, "client", session["tokens"]["c-1"], lang="es")
    panel = open_widget(context, service, "therapist", session["tokens"]["t-1"], lang="es")
    press(client, "Pausa")
    press(client, "Puedo seguir")
    press(client, "Me apago")
    press(client, "Ayuda ya")
    expect(panel.get_by_role("region", name="Requiere atención")).to_contain_text("Pidió ayuda ya")
    feed = panel.get_by_role("region", name="Actividad")
    expect(feed).to_contain_text("Puedo seguir")
    panel.get_by_role("button", name="Resumen", exact=True).click()
    expect(panel.get_by_role("region", name="Resumen de la sesión")).to_contain_text("Me apago")
    text = panel_text(panel)
    assert "Puedo seguir" in text
    for gendered in ("/o", "/a ", "Lista", "Apagada", "caducad"):
        assert gendered not in text, gendered
