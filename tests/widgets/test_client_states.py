"""The client widget tells the truth and is there in a crisis (issue 14; contract §7, §9.2, §9.4,
§9.7), in headless Chromium against a real service: a press says where it stands (kept on this
device, sent, seen) and never more; the offline notice says what to do meanwhile; a refused
connection says why, stops, and tells the host page; an answer says what happened to it; an
ended session leaves a closing screen, not a blank; Help now and the resources are always there;
Pause stays in view at 200 % zoom and 320 px; focus never drops to <body>; and the widget's
boundaries and focus ring hold 3:1.

The therapist's side is played by a real Socket.IO client (tests.support.Peer), so these tests
do not depend on the therapist panel's layout. The service side of issue 14 (help_now,
location_shared, settings.safety, late answers) is in the service: those tests run against it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import re
import subprocess
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from service.tokens import TokenIssuer
from tests.support import SECRET, Peer
from tests.widgets.conftest import WIDGETS, Service, VendorSite, open_outage_proof_page
from tests.widgets.helpers import (
    FOCUSED,
    INSTALL_CAMERA_ADAPTER,
    events_of,
    open_widget,
    run_axe,
    wait_for_events,
)

pytestmark = pytest.mark.browser

SAFETY = {
    "ask_location": True,
    "resources": [
        {"label": "Crisis line", "phone": "988", "sms": "988", "url": "https://988lifeline.org"},
        {"label": "Clinic after hours", "phone": "+1 555 010 0199"},
    ],
}


# ---- helpers ------------------------------------------------------------------------------


def as_therapist(service: Service, token: str, act: Callable[[Peer], Awaitable[Any]]) -> Any:
    """Run `act` with a connected therapist (a real Socket.IO client) in a thread of its own:
    Playwright's sync API holds this thread's event loop."""

    async def run() -> Any:
        peer = Peer(service.url, token)
        await peer.connect()
        try:
            return await act(peer)
        finally:
            await peer.close()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


def therapist_sends(service: Service, session: dict[str, Any], kind: str, **data: Any) -> None:
    ack = as_therapist(
        service, session["tokens"]["t-1"], lambda peer: peer.send(kind, data or None)
    )
    assert ack["ok"], ack


def focused(page: Page) -> str:
    """The accessible name of the focused element, '' when focus is on <body>."""
    return str(page.evaluate(FOCUSED))


def assert_focus_kept(page: Page, after: str) -> None:
    """Focus is somewhere in the widget, never dropped to <body> (WCAG 2.4.3)."""
    page.wait_for_timeout(100)
    assert page.evaluate(
        "() => document.activeElement === document.querySelector('comfort-client')"
    ), f"focus left the widget after {after}"
    assert focused(page), f"focus dropped to <body> after {after}"


def feedback(page: Page) -> Any:
    return page.locator("comfort-client #feedback")


def status_line(page: Page) -> Any:
    return page.locator("comfort-client [part~=status]")


# What the host page hears: every comfort:error, recorded from before the widget loads.
RECORD_ERRORS = """window.__errors = [];
document.addEventListener('comfort:error', (e) => window.__errors.push(
  {code: e.detail.code, message: e.detail.message, bubbles: e.bubbles, composed: e.composed}));"""


# ---- truthful states ----------------------------------------------------------------------


def test_an_offline_press_is_kept_here_says_what_to_do_and_is_sent_later(
    context: Any, own_service: Service
) -> None:
    """Offline, a Pause is "kept on this device" with the time it was pressed, the notice says
    what to do meanwhile and offers the host's camera control; it says "sent" only once the
    service has it, and it is stored once."""
    service = own_service
    session = service.create_session()
    sid = session["session"]["id"]
    page = open_outage_proof_page(context, service.embed("client", session["tokens"]["c-1"]))
    expect(status_line(page)).to_have_text("Connected")
    page.evaluate(INSTALL_CAMERA_ADAPTER, True)

    service.stop()
    expect(status_line(page)).to_have_text("Reconnecting…")
    notice = page.locator("comfort-client [part~=offline]")
    expect(notice).to_contain_text(
        "If you need to stop now, say so out loud or turn your camera off."
    )
    notice.get_by_role("button", name="Turn my camera off").click()
    expect(notice.get_by_role("button", name="Turn my camera back on")).to_be_visible()
    assert page.evaluate("() => window.__calls") == [False]
    notice.get_by_role("button", name="Turn my camera back on").click()
    page.wait_for_function("() => window.__calls.length === 2")

    page.get_by_role("button", name="Pause", exact=True).click()
    pressed_at = time.strftime("%-I:%M", time.localtime())
    expect(feedback(page)).to_contain_text("You asked for a pause. Kept on this device since")
    expect(feedback(page)).to_contain_text("It will be sent as soon as we are connected.")
    assert pressed_at in feedback(page).inner_text()
    for claim in ("Sent to your therapist", "saw this", "has been told"):
        expect(page.locator("comfort-client")).not_to_contain_text(claim)
    expect(page.get_by_text("It's okay to take a moment.")).to_be_visible()

    service.start()
    expect(status_line(page)).to_have_text("Connected", timeout=20_000)
    expect(feedback(page)).to_contain_text("Sent to your therapist", timeout=10_000)
    expect(notice).to_have_count(0)
    (pause,) = events_of(service, sid, "pause")
    # It went with the time it was pressed here (pressed_at, docs/protocol.md), before it arrived.
    assert pause["data"]["pressed_at"] < pause["at"], pause


SOCKET_IO = re.compile(r".*/socket\.io/.*")


def test_a_page_that_never_connected_says_not_connected_yet_and_only_a_drop_says_dropped(
    context: Any, service: Service
) -> None:
    """A page whose connection never came up (the service unreachable from the first load) says
    "Connecting…" and "Not connected yet.", never "Reconnecting" or "dropped": nothing dropped.
    A Pause pressed then is kept on this device, never "sent". Once it connects the Pause is
    sent, and a real drop after that still says the drop's words."""
    session = service.create_session()
    page = context.new_page()
    page.route(SOCKET_IO, lambda route: route.abort())
    page.goto(service.embed("client", session["tokens"]["c-1"]))
    page.evaluate(INSTALL_CAMERA_ADAPTER, True)
    widget = page.locator("comfort-client")
    notice = page.locator("comfort-client [part~=offline]")
    expect(notice).to_be_visible()  # after 3 s offline: the status is offline by then
    expect(notice.locator("strong")).to_have_text("Not connected yet.")
    expect(notice).to_contain_text(
        "We're still trying to connect. Anything you press is kept on this device and sent as "
        "soon as we're connected."
    )
    expect(notice).to_contain_text(
        "If you need to stop now, say so out loud or turn your camera off."
    )
    expect(notice.get_by_role("button", name="Turn my camera off")).to_be_visible()
    expect(status_line(page)).to_have_text("Connecting…")
    for claim in ("Reconnecting", "dropped", "reconnect", "we're back"):
        expect(widget).not_to_contain_text(claim)

    page.get_by_role("button", name="Pause", exact=True).click()
    expect(feedback(page)).to_contain_text("You asked for a pause. Kept on this device since")
    expect(feedback(page)).to_contain_text("It will be sent as soon as we are connected.")
    for claim in ("Sent to your therapist", "saw this", "Reconnecting", "dropped"):
        expect(widget).not_to_contain_text(claim)

    page.unroute(SOCKET_IO)
    expect(status_line(page)).to_have_text("Connected", timeout=20_000)
    expect(feedback(page)).to_contain_text("Sent to your therapist", timeout=10_000)
    expect(notice).to_have_count(0)

    context.set_offline(True)  # a real drop, after a real welcome
    expect(status_line(page)).to_have_text("Reconnecting…")
    expect(notice.locator("strong")).to_have_text("The connection dropped.")
    expect(notice).to_contain_text("We're trying to reconnect.")
    expect(widget).not_to_contain_text("Not connected yet")
    context.set_offline(False)
    expect(status_line(page)).to_have_text("Connected", timeout=20_000)


def test_undo_is_not_offered_once_the_therapist_saw_it(context: Any, service: Service) -> None:
    session = service.create_session()
    sid = session["session"]["id"]
    client = open_widget(context, service, "client", session["tokens"]["c-1"])
    client.get_by_role("button", name="Slow down", exact=True).click()
    expect(feedback(client)).to_contain_text("Sent to your therapist.")
    expect(client.get_by_role("button", name="Undo")).to_be_visible()
    slow = wait_for_events(service, sid, "slow_down")[0]
    therapist_sends(service, session, "acknowledge", seq=slow["seq"])
    expect(client.get_by_text("Your therapist saw this")).to_be_visible()
    expect(client.get_by_role("button", name="Undo")).to_have_count(0)


# ---- refused connections (contract §9.7) ---------------------------------------------------


def vendor_page(context: Any, service: Service, site: VendorSite, origin: str, token: str) -> Page:
    """A vendor's page on `origin` embedding the client widget from the service by script tag."""
    site.html = f"""<!doctype html><html lang="en"><head><title>Vendor</title>
      <script type="module" src="{service.url}/widgets/comfort.js"></script></head>
      <body><main><h1>Vendor video call</h1>
      <comfort-client token="{token}" server="{service.url}"></comfort-client></main></body></html>"""
    page = context.new_page()
    page.goto(f"{origin}/call")
    return page


def test_a_refused_origin_says_so_stops_retrying_and_tells_the_host_page(
    context: Any, vendor_service: Service, vendor_site: VendorSite
) -> None:
    service = vendor_service
    session = service.create_session()
    warnings: list[str] = []
    attempts: list[str] = []
    context.on("console", lambda m: warnings.append(m.text) if m.type == "warning" else None)
    context.on("request", lambda r: attempts.append(r.url) if "/socket.io/" in r.url else None)
    context.add_init_script(RECORD_ERRORS)
    page = vendor_page(
        context, service, vendor_site, vendor_site.other_origin, session["tokens"]["c-1"]
    )
    expect(status_line(page)).to_have_text(
        "This page can't reach your therapist's comfort service yet, so nothing can be sent "
        "from here. Please let your therapist or the clinic know.",
        timeout=15_000,
    )
    expect(page.locator("comfort-client").get_by_role("button")).to_have_count(0)
    expect(page.locator("comfort-client")).to_contain_text("say so out loud")
    page.wait_for_function("() => window.__errors.length > 0")
    errors = page.evaluate("() => window.__errors")
    assert [(e["code"], e["bubbles"], e["composed"]) for e in errors] == [
        ("origin_not_allowed", True, True)
    ]
    assert "COMFORT_ALLOWED_ORIGINS" in errors[0]["message"]
    tried = len(attempts)
    page.wait_for_timeout(6_000)  # socket.io would retry within 0.5 to 4 s
    assert len(attempts) == tried, "no retry where it cannot help"
    assert len([w for w in warnings if "origin_not_allowed" in w]) == 1, warnings


def test_an_allowed_vendor_origin_connects(
    context: Any, vendor_service: Service, vendor_site: VendorSite
) -> None:
    service = vendor_service
    session = service.create_session()
    page = vendor_page(
        context, service, vendor_site, vendor_site.allowed_origin, session["tokens"]["c-1"]
    )
    expect(status_line(page)).to_have_text("Connected")
    page.get_by_role("button", name="Pause", exact=True).click()
    wait_for_events(service, session["session"]["id"], "pause")
    assert len(events_of(service, session["session"]["id"], "pause")) == 1


def expired_token(session: dict[str, Any]) -> str:
    issuer = TokenIssuer(SECRET, 60)
    return issuer.mint(session["session"]["id"], "c-1", "client", now=time.time() - 3600)


@pytest.mark.parametrize(
    ("case", "code", "words"),
    [
        ("invalid", "invalid_token", "This link is not valid. Please ask for a new one."),
        (
            "expired",
            "token_expired",
            "This link has expired. Please ask your therapist or the clinic",
        ),
        ("erased", "session_not_found", "This session is no longer available."),
    ],
)
def test_a_refused_link_says_so_in_plain_words_and_stops(
    context: Any, service: Service, case: str, code: str, words: str
) -> None:
    session = service.create_session()
    token = session["tokens"]["c-1"]
    if case == "invalid":
        token = "not-a-valid-token"
    elif case == "expired":
        token = expired_token(session)
    else:
        service.call("DELETE", f"/api/v1/sessions/{session['session']['id']}")
    warnings: list[str] = []
    attempts: list[str] = []
    context.on("console", lambda m: warnings.append(m.text) if m.type == "warning" else None)
    context.on("request", lambda r: attempts.append(r.url) if "/socket.io/" in r.url else None)
    context.add_init_script(RECORD_ERRORS)
    page = context.new_page()
    page.goto(service.embed("client", token))
    expect(status_line(page)).to_contain_text(words)
    expect(page.locator("comfort-client").get_by_role("button")).to_have_count(0)
    page.wait_for_function("() => window.__errors.length > 0")
    errors = page.evaluate("() => window.__errors")
    assert [(e["code"], e["bubbles"], e["composed"]) for e in errors] == [(code, True, True)]
    tried = len(attempts)
    page.wait_for_timeout(5_000)
    assert len(attempts) == tried
    assert len([w for w in warnings if code in w]) == 1, warnings


def test_the_therapist_panel_tells_the_host_page_too(context: Any, service: Service) -> None:
    """Both elements dispatch comfort:error (contract §9.7): the connection lifecycle they share
    (ConnectionController) reports it."""
    context.add_init_script(RECORD_ERRORS)
    page = context.new_page()
    page.goto(service.embed("therapist", "not-a-valid-token"))
    page.wait_for_function("() => window.__errors.length > 0")
    errors = page.evaluate("() => window.__errors")
    assert [(e["code"], e["bubbles"], e["composed"]) for e in errors] == [
        ("invalid_token", True, True)
    ]


# ---- answers (contract §9.4) ---------------------------------------------------------------


def test_a_check_in_answered_offline_after_it_expired_says_what_happened(
    context: Any, service: Service
) -> None:
    """SUDS 9 answered offline after the check-in expired: "kept on this device" while offline,
    never "Your therapist has your answer" unless the log has it; then what the service did."""
    session = service.create_session(settings={"cues": {"checkin_unanswered": {"after_s": 2}}})
    sid = session["session"]["id"]
    client = open_widget(context, service, "client", session["tokens"]["c-1"])
    therapist_sends(service, session, "checkin_request", instrument="suds")
    form = client.get_by_role("form", name="Your therapist is checking in")
    expect(form).to_be_visible()
    context.set_offline(True)
    expect(status_line(client)).to_have_text("Reconnecting…")
    wait_for_events(service, sid, "checkin_expired", timeout=15)
    form.get_by_role("radio", name="9", exact=True).check()
    form.get_by_role("button", name="Send").click()
    expect(feedback(client)).to_contain_text("Your answer is kept on this device.")
    expect(client.locator("comfort-client")).not_to_contain_text("Thank you")

    context.set_offline(False)
    expect(status_line(client)).to_have_text("Connected", timeout=20_000)
    expect(feedback(client)).not_to_contain_text("kept on this device", timeout=10_000)
    answers = events_of(service, sid, "checkin_response")
    if answers:  # the service keeps late answers (§9.4)
        assert answers[0]["data"]["late"] is True
        expect(feedback(client)).to_contain_text("arrived after the question had closed")
    else:  # the service refused it: the client is told, kindly, and nothing claims otherwise
        expect(feedback(client)).to_have_text(
            "Your answer could not be delivered: the question had already closed. "
            "That's okay — you can tell your therapist any time."
        )
    expect(client.locator("comfort-client")).not_to_contain_text("has your answer")


def test_a_late_answer_is_kept_and_the_client_is_told(context: Any, service: Service) -> None:
    """A check-in on the client's screen, answered offline after it expired: the answer goes
    out once the connection is back, is stored late (§9.4), and the client is told."""
    session = service.create_session(settings={"cues": {"checkin_unanswered": {"after_s": 1}}})
    sid = session["session"]["id"]
    client = open_widget(context, service, "client", session["tokens"]["c-1"])
    therapist_sends(service, session, "checkin_request", instrument="suds")
    # The therapist's ack says the request is stored, not that it reached the client: go
    # offline only once the question is on the client's screen (else it never gets there).
    form = client.get_by_role("form", name="Your therapist is checking in")
    expect(form).to_be_visible()
    context.set_offline(True)
    expect(status_line(client)).to_have_text("Reconnecting…")
    wait_for_events(service, sid, "checkin_expired", timeout=15)
    form.get_by_role("radio", name="9", exact=True).check()
    form.get_by_role("button", name="Send").click()
    expect(feedback(client)).to_contain_text("Your answer is kept on this device.")
    context.set_offline(False)
    expect(feedback(client)).to_contain_text(
        "Thank you. Your answer arrived after the question had closed", timeout=20_000
    )
    answers = events_of(service, sid, "checkin_response")
    assert [(a["data"]["value"], a["data"]["late"]) for a in answers] == [(9, True)]


# ---- a graceful end -----------------------------------------------------------------------


def test_a_session_ended_mid_pause_leaves_a_closing_screen_with_exercises_and_support(
    context: Any, service: Service
) -> None:
    session = service.create_session()
    sid = session["session"]["id"]
    client = open_widget(context, service, "client", session["tokens"]["c-1"])
    client.get_by_role("button", name="Pause", exact=True).click()
    expect(client.get_by_role("button", name="Ready to go on")).to_be_focused()
    wait_for_events(service, sid, "pause")
    service.call("POST", f"/api/v1/sessions/{sid}/end")

    closing = client.locator("comfort-client [part~=closing]")
    expect(closing.get_by_role("heading", name="The session has ended")).to_be_visible()
    expect(closing).to_contain_text("The session ended while you had paused.")
    expect(status_line(client)).to_have_text("This session has ended.")
    # Focus was on "Ready to go on", which is gone: it moves to the closing words, not <body>.
    expect(closing.get_by_role("heading")).to_be_focused()
    support = client.locator("comfort-client [part~=support]")
    expect(support).to_contain_text(
        "If you are in danger right now, call your local emergency number."
    )

    # The exercises still work, here only: nothing is logged after the end.
    client.get_by_role("button", name="Box breathing").click()
    expect(client.locator("[part~=breath-circle]")).to_be_visible()
    expect(client.get_by_role("button", name="Wait")).to_be_visible()
    assert_focus_kept(client, "starting an exercise after the end")
    client.get_by_role("button", name="Stop exercise").click()
    assert_focus_kept(client, "stopping it")
    assert service.events(sid)[-1]["type"] == "session_ended"

    # A reload shows the same closing screen, never a blank.
    client.reload()
    expect(closing.get_by_role("heading", name="The session has ended")).to_be_visible()
    expect(closing).to_contain_text("The session ended while you had paused.")


# ---- help now and the safety plan (contract §9.2) ------------------------------------------


def test_help_now_is_always_there_shows_support_at_once_and_tells_the_truth(
    context: Any, service: Service
) -> None:
    """Help now sits beside Pause; pressing it moves to Help and support at once, whose first
    line says where the request stands, as the log does."""
    session = service.create_session()
    sid = session["session"]["id"]
    client = open_widget(context, service, "client", session["tokens"]["c-1"])
    client.get_by_role("button", name="Help now").click()
    support = client.locator("comfort-client [part~=support]")
    expect(support.get_by_role("heading", name="Help and support")).to_be_focused()
    expect(support).to_contain_text(
        "If you are in danger right now, call your local emergency number."
    )
    said = support.get_by_role("status")
    expect(said).not_to_have_text("")
    expect(said).not_to_contain_text("Sending", timeout=10_000)
    # The service takes help_now (contract §9.2): the words follow the log, never ahead of it.
    assert len(wait_for_events(service, sid, "help_now")) == 1
    expect(said).to_have_text("Your request for help was sent to your therapist.")


def test_help_now_reaches_the_log_and_offers_each_resource_by_its_label(
    context: Any, service: Service
) -> None:
    session = service.create_session(settings={"safety": {**SAFETY, "ask_location": False}})
    sid = session["session"]["id"]
    client = open_widget(context, service, "client", session["tokens"]["c-1"])
    support = client.locator("comfort-client [part~=support]")
    expect(support.get_by_text("Crisis line", exact=True)).to_be_visible()
    expect(support.get_by_text("Clinic after hours", exact=True)).to_be_visible()
    client.get_by_role("button", name="Help now").click()
    help_now = wait_for_events(service, sid, "help_now")
    assert len(help_now) == 1
    expect(support.get_by_role("status")).to_have_text(
        "Your request for help was sent to your therapist."
    )
    links = {
        link.get_attribute("href")
        for link in support.get_by_role("link", name=re.compile("Crisis line")).all()
    }
    assert links == {"tel:988", "sms:988", "https://988lifeline.org/"}
    expect(support.get_by_role("link", name=re.compile("Clinic after hours"))).to_have_attribute(
        "href", "tel:+15550100199"
    )
    therapist_sends(service, session, "acknowledge", seq=help_now[0]["seq"])
    expect(support.get_by_role("status")).to_have_text("Your therapist saw your request for help.")


def test_the_location_question_is_asked_at_the_start_skippable_and_askable_again(
    context: Any, service: Service
) -> None:
    session = service.create_session(settings={"safety": SAFETY})
    sid = session["session"]["id"]
    client = open_widget(context, service, "client", session["tokens"]["c-1"])
    where = client.get_by_role("textbox", name=re.compile(r"^Where are you"))
    expect(where).to_be_visible()
    client.get_by_role("button", name="Skip").click()
    expect(where).to_have_count(0)
    assert_focus_kept(client, "Skip")
    client.reload()
    expect(status_line(client)).to_have_text("Connected")
    expect(where).to_have_count(0)  # asked once per session
    client.get_by_role("button", name="Tell my therapist where I am").click()
    expect(where).to_be_focused()
    where.fill("Home, 12 Elm Street")
    client.get_by_role("button", name="Share", exact=True).click()
    shared = wait_for_events(service, sid, "location_shared")
    assert [e["data"] for e in shared] == [{"text": "Home, 12 Elm Street"}]
    expect(feedback(client)).to_have_text("Where you are was sent to your therapist.")
    expect(client.get_by_text("You shared: “Home, 12 Elm Street”")).to_be_visible()


# ---- always reachable ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("viewport", "scale"),
    [({"width": 640, "height": 400}, 2), ({"width": 320, "height": 640}, 1)],
    ids=["200-percent-zoom", "320px"],
)
def test_pause_and_help_now_stay_in_view_whatever_is_open(
    browser: Any, service: Service, viewport: dict[str, int], scale: int
) -> None:
    """A 1280x800 screen at 200 % zoom lays out as 640x400 CSS pixels; 320 px is WCAG's reflow
    width. With a check-in, a suggestion and the exercises open, scrolled to the end, Pause and
    Help now are on screen, and nothing scrolls sideways."""
    ctx = browser.new_context(viewport=viewport, device_scale_factor=scale)
    ctx.set_default_timeout(10_000)
    try:
        session = service.create_session()
        client = open_widget(ctx, service, "client", session["tokens"]["c-1"])
        therapist_sends(service, session, "checkin_request", instrument="suds")
        therapist_sends(service, session, "suggest_grounding", exercise="paced_breathing")
        expect(client.get_by_role("form", name="Your therapist is checking in")).to_be_visible()
        expect(client.get_by_text("Your therapist suggests Paced breathing.")).to_be_visible()
        client.get_by_role("button", name="Grounding", exact=True).click()
        for where in ("top", "middle", "bottom"):
            client.evaluate(
                """(where) => {
                  const max = document.documentElement.scrollHeight - innerHeight;
                  scrollTo(0, where === 'top' ? 0 : where === 'middle' ? max / 2 : max);
                }""",
                where,
            )
            client.wait_for_timeout(100)
            for name in ("Pause", "Help now"):
                box = client.get_by_role("button", name=name, exact=True).bounding_box()
                assert box is not None
                assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"], (
                    where,
                    name,
                    box,
                )
        assert client.evaluate("() => document.documentElement.scrollWidth") <= viewport["width"]
    finally:
        ctx.close()


def test_alt_shift_p_pauses_from_anywhere_on_the_page(context: Any, service: Service) -> None:
    session = service.create_session()
    sid = session["session"]["id"]
    client = open_widget(context, service, "client", session["tokens"]["c-1"])
    pause = client.get_by_role("button", name="Pause", exact=True)
    expect(pause).to_have_attribute("aria-keyshortcuts", "Alt+Shift+P")
    expect(client.get_by_text("Shortcut: Alt+Shift+P")).to_be_visible()
    client.evaluate("() => document.activeElement && document.activeElement.blur()")
    client.keyboard.press("Alt+Shift+KeyP")
    expect(client.get_by_role("button", name="Ready to go on")).to_be_focused()
    wait_for_events(service, sid, "pause")
    client.keyboard.press("Alt+Shift+KeyP")  # already paused: nothing more is sent
    client.wait_for_timeout(500)
    assert len(events_of(service, sid, "pause")) == 1
    client.keyboard.press("Alt+KeyP")  # another combination does nothing
    client.keyboard.press("Shift+KeyP")
    client.wait_for_timeout(300)
    assert len(events_of(service, sid, "pause")) == 1


# ---- focus, words and announcements --------------------------------------------------------


def test_focus_never_drops_to_the_page_after_any_action(context: Any, service: Service) -> None:
    session = service.create_session(settings={"cues": {"checkin_unanswered": {"after_s": 5}}})
    client = open_widget(context, service, "client", session["tokens"]["c-1"])
    grounding = client.get_by_role("button", name="Grounding", exact=True)
    expect(grounding).to_have_attribute("aria-expanded", "false")
    grounding.click()
    expect(grounding).to_have_attribute("aria-expanded", "true")
    expect(grounding).to_be_focused()
    client.get_by_role("button", name="Box breathing").click()
    expect(client.get_by_role("heading", name="Box breathing")).to_be_focused()
    client.get_by_role("button", name="Stop exercise").click()
    assert_focus_kept(client, "Stop exercise")
    client.get_by_role("button", name="5-4-3-2-1 senses").click()
    for _ in range(4):
        client.get_by_role("button", name="Next").click()
    client.get_by_role("button", name="Done").click()  # finished: "Well done" and its Done
    assert_focus_kept(client, "the last step")
    client.get_by_role("button", name="Done").click()
    assert_focus_kept(client, "Done")
    client.get_by_role("button", name="Hide exercises").click()
    expect(grounding).to_be_focused()

    therapist_sends(service, session, "checkin_request", instrument="zone")
    client.get_by_role("radio", name="Okay").check()
    client.get_by_role("button", name="Send").click()
    expect(feedback(client)).to_be_focused()

    client.get_by_role("button", name="Slow down", exact=True).click()
    client.get_by_role("button", name="Undo").click()
    assert_focus_kept(client, "Undo")

    therapist_sends(service, session, "suggest_grounding", exercise="box_breathing")
    client.get_by_role("button", name="Not now").click()
    assert_focus_kept(client, "Not now on a suggestion")

    # The service closes a check-in while focus is on it: focus moves to the feedback line.
    therapist_sends(service, session, "checkin_request", instrument="suds")
    client.get_by_role("radio", name="4", exact=True).focus()
    wait_for_events(service, session["session"]["id"], "checkin_expired", timeout=15)
    expect(client.get_by_text("This question has closed.", exact=False)).to_be_visible()
    assert_focus_kept(client, "the check-in closing")


def test_the_zone_question_is_asked_once_and_its_hints_are_visible(
    context: Any, service: Service
) -> None:
    session = service.create_session()
    client = open_widget(context, service, "client", session["tokens"]["c-1"])
    for hint in ("racing, tense, overwhelmed", "I can think and feel", "numb, far away, flat"):
        expect(client.get_by_text(hint, exact=True)).to_be_visible()
    expect(client.get_by_text("How are you right now?")).to_have_count(1)
    therapist_sends(service, session, "checkin_request", instrument="zone")
    expect(client.get_by_role("radio", name="Too much")).to_be_visible()
    expect(client.get_by_text("How are you right now?")).to_have_count(1)
    expect(client.get_by_text("Where are you", exact=False)).to_have_count(0)


def test_an_old_suggestion_says_it_is_from_earlier(context: Any, service: Service) -> None:
    session = service.create_session()
    client = open_widget(context, service, "client", session["tokens"]["c-1"])
    therapist_sends(service, session, "suggest_grounding", exercise="five_senses")
    text = client.get_by_text("Your therapist suggests 5-4-3-2-1 senses.", exact=False)
    expect(text).to_be_visible()
    client.clock.set_system_time(time.time() + 11 * 60)
    expect(client.get_by_text("Earlier (at", exact=False)).to_be_visible()
    expect(
        client.get_by_text("your therapist suggested 5-4-3-2-1 senses", exact=False)
    ).to_be_visible()
    expect(client.get_by_role("button", name="Start")).to_be_visible()


def test_changes_are_announced_in_live_regions(context: Any, service: Service) -> None:
    session = service.create_session()
    client = open_widget(context, service, "client", session["tokens"]["c-1"])
    expect(client.locator("comfort-client [part~=status]")).to_have_attribute("role", "status")
    client.get_by_role("button", name="Keep going", exact=True).click()
    expect(feedback(client)).to_have_attribute("role", "status")
    expect(feedback(client)).to_contain_text("You said: keep going.")
    client.get_by_role("button", name="Grounding", exact=True).click()
    client.get_by_role("button", name="Box breathing").click()
    phase = client.locator("comfort-grounding [role=status]")
    expect(phase).to_have_text("Breathe in for 4")
    expect(phase).to_have_text("Hold for 4", timeout=6_000)
    expect(client.get_by_role("button", name="Wait")).to_be_visible()
    expect(client.get_by_role("button", name="Hold")).to_have_count(0)


# ---- language -----------------------------------------------------------------------------


def test_a_spanish_browser_gets_spanish_without_lang_on_both_embed_pages(
    browser: Any, service: Service
) -> None:
    ctx = browser.new_context(locale="es-ES")
    ctx.set_default_timeout(10_000)
    try:
        session = service.create_session()
        client = ctx.new_page()
        client.goto(service.embed("client", session["tokens"]["c-1"]))
        assert client.evaluate("() => document.documentElement.lang") == "es"
        expect(client.get_by_role("button", name="Pausa", exact=True)).to_be_visible()
        expect(client.get_by_role("button", name="Ayuda ya")).to_be_visible()
        expect(client.get_by_role("heading", level=1)).to_have_text("Bienestar para esta sesión")
        panel = ctx.new_page()
        panel.goto(service.embed("therapist", session["tokens"]["t-1"]))
        assert panel.evaluate("() => document.documentElement.lang") == "es"
        expect(panel.get_by_role("heading", level=1)).to_have_text("Panel de bienestar en sesión")
    finally:
        ctx.close()


def test_spanish_has_no_slash_gendering_and_no_ambiguous_stop_words() -> None:
    """The client's Spanish is neutral and inclusive: no "Lista/o", "Apagada/o"; and the
    exercise's freeze button is not "Detener" beside "Terminar ejercicio" (issue 14)."""
    script = (
        "import('./src/locales/es.js').then(m => console.log(JSON.stringify(m.default.client, "
        "(k, v) => typeof v === 'function' ? v('X', 'Y') : v)))"
    )
    out = subprocess.run(
        ["node", "--input-type=module", "-e", script], cwd=WIDGETS, capture_output=True, text=True
    )
    if out.returncode != 0:
        pytest.skip(f"node could not load the locale: {out.stderr[-300:]}")
    words = json.dumps(json.loads(out.stdout), ensure_ascii=False)
    assert not re.search(r"\w/(a|o|as|os)\b", words), words
    assert "Detener" not in words


# ---- accessibility: axe and non-text contrast ----------------------------------------------


# For each visible control: its boundary (border, or its own fill) against what it sits on, and,
# when focused by keyboard, the focus ring against the band inside it and the band against the
# control (WCAG 1.4.11; the ring is drawn as an outline over a 2 px band of --comfort-focus-gap).
CONTRAST = """() => {
  const parse = (c) => { const m = c.match(/[\\d.]+/g); return m ? m.map(Number) : [0,0,0,0]; };
  const lum = ([r,g,b]) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v/12.92 : ((v+0.055)/1.055)**2.4; };
    return 0.2126*f(r) + 0.7152*f(g) + 0.0722*f(b); };
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + .05) / (y + .05); };
  const opaque = (c) => c.length < 4 || c[3] > 0.99;
  const behind = (el) => { for (let n = el.parentElement || el.getRootNode().host; n; n = n.parentElement || (n.getRootNode && n.getRootNode().host)) {
      const bg = parse(getComputedStyle(n).backgroundColor); if (bg.length === 3 || bg[3] > 0) return bg; } return [255,255,255]; };
  const root = document.querySelector('comfort-client').shadowRoot;
  const inner = root.querySelector('comfort-grounding')?.shadowRoot;
  const pick = (r) => r ? [...r.querySelectorAll('.tile, button, input[type=text], .scale label, .zone-answers label')] : [];
  const controls = [...pick(root), ...pick(inner)]
    .filter((el) => el.getClientRects().length && !(el.tagName === 'BUTTON' && el.closest('.tile')));
  const problems = [];
  for (const el of controls) {
    const cs = getComputedStyle(el);
    const back = behind(el);
    const fill = parse(cs.backgroundColor);
    const fillShows = opaque(fill) && ratio(fill, back) >= 3;
    const width = parseFloat(cs.borderTopWidth);
    const border = parse(cs.borderTopColor);
    const transparentButton = el.tagName === 'BUTTON' && !opaque(fill) && (width === 0 || !opaque(border));
    if (transparentButton) continue; // a text button (its words identify it)
    if (!fillShows && !(width >= 1 && opaque(border) && ratio(border, back) >= 3)) {
      problems.push({el: el.className || el.tagName, part: el.getAttribute('part'), border: cs.borderTopColor, back: back.join(','), ratio: ratio(border, back).toFixed(2)});
    }
  }
  return problems;
}"""

FOCUS_RING = """() => {
  const parse = (c) => { const m = c.match(/[\\d.]+/g); return m ? m.map(Number) : [0,0,0]; };
  const lum = ([r,g,b]) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v/12.92 : ((v+0.055)/1.055)**2.4; };
    return 0.2126*f(r) + 0.7152*f(g) + 0.0722*f(b); };
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + .05) / (y + .05); };
  let el = document.activeElement;
  while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
  const ring = el.closest('.tile') || (el.closest('label') && el.type === 'radio' ? el.closest('label') : el);
  const cs = getComputedStyle(ring);
  const outline = parse(cs.outlineColor);
  const band = parse((cs.boxShadow.match(/rgba?\\([^)]*\\)/) || ['rgb(255,255,255)'])[0]);
  const own = parse(cs.backgroundColor);
  const control = own.length === 4 && own[3] === 0 ? [255,255,255] : own;
  return {name: (el.textContent || el.getAttribute('aria-label') || '').trim().slice(0, 30),
          width: parseFloat(cs.outlineWidth), ringOnBand: ratio(outline, band), bandOnControl: ratio(band, control),
          ringOnControl: ratio(outline, control)};
}"""


def test_boundaries_and_the_focus_ring_hold_three_to_one(context: Any, service: Service) -> None:
    session = service.create_session()
    client = open_widget(context, service, "client", session["tokens"]["c-1"])
    therapist_sends(service, session, "checkin_request", instrument="suds")
    expect(client.get_by_role("radio", name="5", exact=True)).to_be_visible()
    client.get_by_role("button", name="Grounding", exact=True).click()
    assert client.evaluate(CONTRAST) == []
    client.get_by_role("button", name="Pause", exact=True).click()
    assert client.evaluate(CONTRAST) == []

    checked = set()
    client.evaluate("() => document.activeElement && document.activeElement.blur()")
    for _ in range(40):
        client.keyboard.press("Tab")
        if not focused(client):
            continue
        ring = client.evaluate(FOCUS_RING)
        checked.add(ring["name"])
        assert ring["width"] >= 2, ring
        # The ring stands out from the band inside it, and the band from the control, so the
        # ring shows on a control as dark as itself (the teal Pause tile was 1.06:1).
        assert ring["ringOnBand"] >= 3 and (
            ring["bandOnControl"] >= 3 or ring["ringOnControl"] >= 3
        ), ring
    assert {"Ready to go on", "Help now", "Send"} <= checked, checked


def test_axe_finds_nothing_serious_in_the_new_states(browser: Any, service: Service) -> None:
    problems: dict[str, Any] = {}
    for width, height in ((375, 667), (1280, 800)):
        ctx = browser.new_context(bypass_csp=True, viewport={"width": width, "height": height})
        ctx.set_default_timeout(10_000)
        try:
            session = service.create_session()
            sid = session["session"]["id"]
            client = open_widget(ctx, service, "client", session["tokens"]["c-1"])
            client.get_by_role("button", name="Help now").click()
            expect(client.locator("comfort-client [part~=support] [role=status]")).not_to_have_text(
                ""
            )
            therapist_sends(service, session, "checkin_request", instrument="zone")
            therapist_sends(service, session, "suggest_grounding", exercise="box_breathing")
            expect(client.get_by_role("radio", name="Okay")).to_be_visible()
            problems[f"{width}: help now, zone check-in, suggestion"] = run_axe(client)
            ctx.set_offline(True)
            expect(client.locator("comfort-client [part~=offline]")).to_be_visible(timeout=10_000)
            problems[f"{width}: offline notice"] = run_axe(client)
            ctx.set_offline(False)
            expect(status_line(client)).to_have_text("Connected", timeout=20_000)
            client.get_by_role("button", name="Pause", exact=True).click()
            service.call("POST", f"/api/v1/sessions/{sid}/end")
            expect(client.locator("comfort-client [part~=closing]")).to_be_visible()
            problems[f"{width}: closing screen"] = run_axe(client)
            refused = ctx.new_page()
            refused.goto(service.embed("client", "not-a-token"))
            expect(status_line(refused)).to_contain_text("This link is not valid.")
            problems[f"{width}: refused link"] = run_axe(refused)
        finally:
            ctx.close()
    found = {k: v for k, v in problems.items() if v}
    assert found == {}, json.dumps(found, indent=1)


# ---- the privacy overlay never covers Pause or Help now -------------------------------------

# A vendor's call page: the video on the left, the client's widget in a side column, and the
# privacy controller of integrations/sdk-contract.js over the generic adapter, which can neither
# turn the camera off nor blur: a pause falls back to the overlay.
OVERLAY_PAGE = """<!doctype html><html lang="en"><head><title>Vendor call</title>
<style>
  body {{ margin: 0; font: 16px system-ui, sans-serif; }}
  .call {{ display: flex; flex-wrap: wrap; gap: 12px; padding: 8px; }}
  #video {{ flex: 1 1 420px; min-height: 480px; background: #223; color: #fff; }}
  aside {{ flex: 0 1 380px; }}
</style>
<script type="module" src="{service}/widgets/comfort.js"></script>
<script type="module">
  import {{ createPrivacyController }} from "{service}/integrations/sdk-contract.js";
  import {{ createAdapter }} from "{service}/integrations/generic/sdk.js";
  window.__controller = createPrivacyController(createAdapter());
  document.querySelector("comfort-client").platformAdapter = window.__controller;
  window.__ready = true;
</script></head>
<body><h1>Vendor video call</h1><div class="call"><div id="video">Your video</div>
<aside><comfort-client token="{token}" server="{service}"></comfort-client></aside></div>
<p style="height: 900px">More of the vendor's page.</p></body></html>"""

# What a pointer at the centre of the widget's button named `name` would press: the widget and
# that very button (elementFromPoint, through the shadow root), or something covering it.
HIT = """async ([name, bring]) => {
  const host = document.querySelector('comfort-client');
  const button = [...host.shadowRoot.querySelectorAll('button')]
    .find((b) => b.textContent.trim() === name);
  if (!button) return {found: false};
  if (bring) button.scrollIntoView({block: 'nearest'});
  // The overlay redraws its cut-out on the next frame after a scroll.
  await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
  const r = button.getBoundingClientRect();
  const x = r.left + r.width / 2, y = r.top + r.height / 2;
  const top = document.elementFromPoint(x, y);
  const inner = host.shadowRoot.elementFromPoint(x, y);
  return {
    found: true,
    inView: r.top >= -1 && r.bottom <= innerHeight + 1 && r.left >= -1 && r.right <= innerWidth + 1,
    host: top === host,
    button: inner === button || button.contains(inner),
    over: top && top !== host ? (top.getAttribute('data-comfort-privacy-overlay') !== null ? 'overlay' : top.tagName) : null,
  };
}"""
VIDEO_COVERED = """() => {
  const r = document.getElementById('video').getBoundingClientRect();
  const top = document.elementFromPoint(r.left + 20, Math.max(r.top, 0) + 20);
  return !!top && top.hasAttribute('data-comfort-privacy-overlay');
}"""
OVERLAYS = "() => document.querySelectorAll('[data-comfort-privacy-overlay]').length"


def reachable(page: Page, name: str, bring: bool = True) -> None:
    """In view (brought there where the page puts it, unless `bring` is False: then it must be
    in view already), the control is pressed by a pointer at its centre: the widget's own
    button, not the overlay."""
    hit = page.evaluate(HIT, [name, bring])
    assert hit == {"found": True, "inView": True, "host": True, "button": True, "over": None}, (
        name,
        hit,
    )


@pytest.mark.parametrize(
    "viewport", [{"width": 1280, "height": 800}, {"width": 375, "height": 667}]
)
def test_the_privacy_overlay_never_covers_pause_or_help_now(
    browser: Any,
    vendor_service: Service,
    vendor_site: VendorSite,
    viewport: dict[str, int],
) -> None:
    service = vendor_service
    session = service.create_session()
    sid = session["session"]["id"]
    vendor_site.html = OVERLAY_PAGE.format(service=service.url, token=session["tokens"]["c-1"])
    context = browser.new_context(viewport=viewport)
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        page.goto(f"{vendor_site.allowed_origin}/call")
        expect(status_line(page)).to_have_text("Connected")
        page.wait_for_function("() => window.__ready === true")
        # The host shows the overlay itself: Pause and Help now stay reachable.
        assert page.evaluate("async () => await window.__controller.pause()") == "overlay"
        assert page.evaluate(OVERLAYS) == 1 and page.evaluate(VIDEO_COVERED)
        reachable(page, "Pause")
        reachable(page, "Help now")
        page.evaluate("async () => await window.__controller.resume()")
        assert page.evaluate(OVERLAYS) == 0
        # The client pauses: the overlay comes, over the video and not over the widget.
        page.get_by_role("button", name="Pause", exact=True).click()
        page.wait_for_function(f"() => ({OVERLAYS})() === 1")
        assert page.evaluate(VIDEO_COVERED)
        reachable(page, "Ready to go on")
        reachable(page, "Help now")
        # Scrolled (the bar is sticky), the cut-out follows the widget.
        page.evaluate("() => window.scrollBy(0, 600)")
        reachable(page, "Ready to go on", bring=False)
        reachable(page, "Help now", bring=False)
        # A real click (Playwright checks nothing covers it) resumes, and the overlay goes.
        page.get_by_role("button", name="Ready to go on").click()
        page.wait_for_function(f"() => ({OVERLAYS})() === 0")
        assert [e["type"] for e in wait_for_events(service, sid, "resume")] == ["resume"]
    finally:
        context.close()
