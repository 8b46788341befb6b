"""The widgets in headless Chromium against a real service, driven by accessible roles and names
(contract §7): signals reach the panel and acknowledgements come back, every control works from
the keyboard, a press during an outage arrives once, a reload shows the same picture, check-ins
round-trip, axe finds nothing serious, and reduced motion is honoured."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.widgets.conftest import Service, open_outage_proof_page
from tests.widgets.helpers import (
    INSTALL_CAMERA_ADAPTER,
    SUDS_CHECK_IN,
    events_of,
    open_widget,
    run_axe,
    tab_to,
    wait_for_events,
)

pytestmark = pytest.mark.browser

# ---- the core loop ------------------------------------------------------------------------


def test_pause_reaches_panel_and_acknowledgement_reaches_client(
    context: Any, service: Service
) -> None:
    """Pause on the client shows on the panel; Acknowledge there shows "Your therapist saw this"."""
    session = service.create_session()
    client = open_widget(context, service, "client", session["tokens"]["c-1"])
    panel = open_widget(context, service, "therapist", session["tokens"]["t-1"])

    client.get_by_role("button", name="Pause", exact=True).click()
    expect(client.get_by_text("It's okay to take a moment.")).to_be_visible()

    attention = panel.get_by_role("region", name="Needs attention")
    expect(attention.get_by_text("Pause", exact=True)).to_be_visible()
    expect(attention.get_by_text("Urgent")).to_be_visible()  # severity in words, not colour only
    expect(
        panel.get_by_role("listitem").filter(has_text="Client 1").get_by_text("Paused").first
    ).to_be_visible()
    attention.get_by_role("button", name="Acknowledge").click()

    expect(client.get_by_text("Your therapist saw this")).to_be_visible()
    expect(attention.get_by_text("Nothing needs attention.")).to_be_visible()
    pause = events_of(service, session["session"]["id"], "pause")
    acks = events_of(service, session["session"]["id"], "acknowledge")
    assert len(pause) == 1
    assert [a["data"]["seq"] for a in acks] == [pause[0]["seq"]]


def test_each_client_signal_is_named_as_the_client_button_with_acknowledge_where_owed(
    context: Any, service: Service
) -> None:
    """Signals are named as the client's buttons (contract §7); Acknowledge is offered only where
    a response is owed (issue 15): Slow down and an out-of-window zone, not Keep going."""
    session = service.create_session()
    client = open_widget(context, service, "client", session["tokens"]["c-1"])
    panel = open_widget(context, service, "therapist", session["tokens"]["t-1"])
    for name in ("Keep going", "Slow down", "Too much"):
        client.get_by_role("button", name=name, exact=True).click()
        time.sleep(0.2)
    for label in ("Keep going", "Slow down", "Zone: Too much"):
        expect(panel.locator("li[data-seq]").get_by_text(label, exact=True)).to_be_visible()
    expect(panel.get_by_role("button", name="Acknowledge")).to_have_count(2)
    keep_going = panel.locator("li[data-seq]").filter(has_text="Keep going")
    expect(keep_going.get_by_role("button")).to_have_count(0)
    panel.get_by_role("button", name="Acknowledge").first.click()
    expect(panel.get_by_role("button", name="Acknowledge")).to_have_count(1)


def test_undo_withdraws_an_accidental_press(context: Any, service: Service) -> None:
    session = service.create_session()
    client = open_widget(context, service, "client", session["tokens"]["c-1"])
    panel = open_widget(context, service, "therapist", session["tokens"]["t-1"])
    client.get_by_role("button", name="Slow down", exact=True).click()
    expect(client.get_by_text("Sent to your therapist.")).to_be_visible()
    client.get_by_role("button", name="Undo").click()

    retracts = wait_for_events(service, session["session"]["id"], "retract")
    slow = events_of(service, session["session"]["id"], "slow_down")
    assert [r["data"]["seq"] for r in retracts] == [slow[0]["seq"]]
    expect(panel.get_by_text("Withdrawn by the client")).to_be_visible()
    expect(panel.get_by_role("button", name="Acknowledge")).to_have_count(0)


# ---- keyboard -----------------------------------------------------------------------------


def test_every_control_works_from_the_keyboard(context: Any, service: Service) -> None:
    session = service.create_session()
    sid = session["session"]["id"]
    client = open_widget(context, service, "client", session["tokens"]["c-1"])
    panel = open_widget(context, service, "therapist", session["tokens"]["t-1"])

    client.bring_to_front()
    tab_to(client, "Pause")
    client.keyboard.press("Enter")
    expect(client.get_by_role("button", name="Ready to go on")).to_be_focused()
    client.keyboard.press("Space")
    expect(client.get_by_role("button", name="Pause", exact=True)).to_be_focused()
    tab_to(client, "Slow down")
    client.keyboard.press("Enter")
    tab_to(client, "Too much")
    client.keyboard.press("Enter")
    tab_to(client, "Grounding")
    client.keyboard.press("Enter")
    tab_to(client, "5-4-3-2-1 senses")
    client.keyboard.press("Enter")
    tab_to(client, "Next")
    client.keyboard.press("Enter")
    expect(client.get_by_text("Step 2 of 5")).to_be_visible()
    tab_to(client, "Stop exercise")
    client.keyboard.press("Enter")
    tab_to(client, "Hide exercises")
    client.keyboard.press("Enter")
    expect(client.get_by_role("button", name="Grounding", exact=True)).to_have_attribute(
        "aria-expanded", "false"
    )

    panel.bring_to_front()
    tab_to(panel, "Acknowledge")
    panel.keyboard.press("Enter")
    tab_to(panel, "Check in")
    panel.keyboard.press("Enter")
    tab_to(panel, SUDS_CHECK_IN)
    panel.keyboard.press("Enter")

    client.bring_to_front()
    expect(client.get_by_text("Your therapist is checking in")).to_be_visible()
    tab_to(client, "0")
    for _ in range(6):
        client.keyboard.press("ArrowRight")
    expect(client.get_by_role("radio", name="6", exact=True)).to_be_checked()
    tab_to(client, "Send")
    client.keyboard.press("Enter")

    answers = wait_for_events(service, sid, "checkin_response")
    assert [a["data"]["value"] for a in answers] == [6]
    kinds = [e["type"] for e in service.events(sid)]
    for kind in (
        "pause",
        "resume",
        "slow_down",
        "zone",
        "grounding_started",
        "grounding_finished",
        "acknowledge",
        "checkin_request",
    ):
        assert kind in kinds, kinds
    finished = events_of(service, sid, "grounding_finished")[0]["data"]
    assert finished["exercise"] == "five_senses" and finished["completed"] is False


# ---- outages and reloads ------------------------------------------------------------------


def test_a_press_while_the_service_is_down_arrives_exactly_once(
    context: Any, own_service: Service
) -> None:
    """Stop the service, press Pause, reload the page, start the service on the same port and
    database: the press is stored once, under the id it was given."""
    service = own_service
    session = service.create_session()
    sid = session["session"]["id"]
    url = service.embed("client", session["tokens"]["c-1"])
    page = open_outage_proof_page(context, url)
    status = page.locator("comfort-client [part~=status]")
    expect(status).to_have_text("Connected")

    service.stop()
    expect(status).to_contain_text("Reconnecting")
    page.get_by_role("button", name="Pause", exact=True).click()
    expect(page.get_by_text("It will be sent as soon as we are connected.")).to_be_visible()
    page.reload()
    expect(page.get_by_text("It will be sent as soon as we are connected.")).to_be_visible()
    stored = page.evaluate("() => Object.values(sessionStorage).join('')")
    assert '"type":"pause"' in stored  # kept in sessionStorage, not localStorage
    assert page.evaluate("() => localStorage.length") == 0

    service.start()
    expect(status).to_have_text("Connected", timeout=20_000)
    expect(page.get_by_text("Sent to your therapist.")).to_be_visible(timeout=10_000)
    time.sleep(1)  # room for a duplicate to show up, if there were one
    pauses = events_of(service, sid, "pause")
    assert len(pauses) == 1, pauses
    assert pauses[0]["id"] in stored


def shown_seqs(page: Page) -> list[int]:
    """The seqs of every panel row and of the events folded into rows (repeats included)."""
    found = page.locator("comfort-therapist li[data-seqs]").evaluate_all(
        "els => els.map(el => el.dataset.seqs)"
    )
    return [int(seq) for seqs in found for seq in seqs.split()]


def feed_items(page: Page) -> list[tuple[str, str]]:
    items = page.locator("comfort-therapist li[data-seq]")
    return [
        (items.nth(i).get_attribute("data-seq") or "", items.nth(i).inner_text())
        for i in range(items.count())
    ]


def test_a_panel_reload_shows_the_same_history_without_duplicates(
    browser: Any, context: Any, service: Service
) -> None:
    session = service.create_session()
    sid = session["session"]["id"]
    client = open_widget(context, service, "client", session["tokens"]["c-1"])
    panel = open_widget(context, service, "therapist", session["tokens"]["t-1"])
    client.get_by_role("button", name="Pause", exact=True).click()
    client.get_by_role("button", name="Ready to go on").click()
    client.get_by_role("button", name="Keep going", exact=True).click()
    panel.get_by_role("button", name="Acknowledge").first.click()
    wait_for_events(service, sid, "acknowledge")
    panel.get_by_role("button", name="Check in").click()
    panel.get_by_role("button", name="Zone", exact=True).click()
    expect(panel.get_by_text("Check-in to All clients: Zone")).to_be_visible()
    shown = [
        e["seq"]
        for e in service.events(sid)
        if e["type"] not in ("acknowledge", "retract", "checkin_expired")
        and e["data"].get("participant", {}).get("role") != "therapist"
    ]
    # Every event is shown once: as a row, or inside the row it is about (a cue on its pause).
    expect(panel.locator("comfort-therapist li[data-seq]")).not_to_have_count(0)
    assert sorted(shown_seqs(panel)) == shown

    before = feed_items(panel)
    panel.reload()
    expect(panel.locator("comfort-therapist [part~=status]")).to_have_text("Connected")
    expect(panel.locator("comfort-therapist li[data-seq]")).to_have_count(len(before))
    after = feed_items(panel)
    assert after == before
    seqs = [seq for seq, _ in after]
    assert len(seqs) == len(set(seqs))
    assert sorted(shown_seqs(panel)) == shown

    # A new tab with nothing cached draws the same picture from the service's replay.
    fresh = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        other = open_widget(fresh, service, "therapist", session["tokens"]["t-1"])
        expect(other.locator("comfort-therapist li[data-seq]")).to_have_count(len(before))
        assert feed_items(other) == before
    finally:
        fresh.close()


# ---- check-ins and grounding --------------------------------------------------------------


def test_check_in_round_trip(context: Any, service: Service) -> None:
    session = service.create_session()
    client = open_widget(context, service, "client", session["tokens"]["c-1"])
    panel = open_widget(context, service, "therapist", session["tokens"]["t-1"])

    panel.get_by_role("button", name="Check in").click()
    panel.get_by_role("button", name=SUDS_CHECK_IN).click()
    form = client.get_by_role("form", name="Your therapist is checking in")
    expect(form.get_by_text("0 — calm, at peace")).to_be_visible()
    expect(form.get_by_text("10 — the most upset I can imagine")).to_be_visible()
    form.get_by_role("radio", name="7", exact=True).check()
    form.get_by_role("button", name="Send").click()
    expect(client.get_by_text("Thank you. Your therapist has your answer.")).to_be_visible()
    expect(form).to_have_count(0)

    row = panel.locator("[part~=client-row]").filter(has_text="Client 1")
    expect(row.get_by_role("definition").filter(has_text="7")).to_be_visible()
    # 7 is the default distress_high threshold: the answer waits in Needs attention.
    attention = panel.get_by_role("region", name="Needs attention")
    expect(attention.get_by_text("Distress 7 of 10")).to_be_visible()

    panel.get_by_role("button", name="Check in").click()
    panel.get_by_role("button", name=SUDS_CHECK_IN).click()
    client.get_by_role("radio", name="3", exact=True).check()
    client.get_by_role("button", name="Send").click()
    expect(row.get_by_role("img", name="Distress trend: 7, 3")).to_be_visible()
    # A calmer answer is the client's own return: both answers are history in the feed.
    expect(attention.get_by_text("Nothing needs attention.")).to_be_visible()
    feed = panel.get_by_role("region", name="Feed")
    expect(feed.get_by_text("Distress answer: 7 of 10")).to_be_visible()
    expect(feed.get_by_text("Distress answer: 3 of 10")).to_be_visible()

    panel.get_by_role("button", name="Check in").click()
    panel.get_by_role("combobox", name="Ask").select_option(label="Client 1")
    panel.get_by_role("button", name="Zone", exact=True).click()
    client.get_by_role("radio", name="Too much").check()
    client.get_by_role("button", name="Send").click()
    expect(attention.get_by_text("Zone: Too much")).to_be_visible()
    request = events_of(service, session["session"]["id"], "checkin_request")[-1]
    assert request["data"] == {"instrument": "zone", "to": ["c-1"]}


def test_a_check_in_prompt_can_be_put_off_and_never_vanishes_by_itself(
    context: Any, service: Service
) -> None:
    session = service.create_session(settings={"cues": {"checkin_unanswered": {"after_s": 1}}})
    client = open_widget(context, service, "client", session["tokens"]["c-1"])
    panel = open_widget(context, service, "therapist", session["tokens"]["t-1"])
    panel.get_by_role("button", name="Check in").click()
    panel.get_by_role("button", name="Zone", exact=True).click()
    expect(client.get_by_role("button", name="Not now")).to_be_visible()
    wait_for_events(service, session["session"]["id"], "checkin_expired", timeout=15)
    # Expired on the service: the client still sees it, told gently, and closes it themself.
    expect(client.get_by_text("This question has closed.", exact=False)).to_be_visible()
    client.get_by_role("button", name="Close").click()
    expect(client.get_by_text("This question has closed.", exact=False)).to_have_count(0)


def test_suggested_grounding_opens_with_consent(context: Any, service: Service) -> None:
    session = service.create_session()
    sid = session["session"]["id"]
    client = open_widget(context, service, "client", session["tokens"]["c-1"])
    panel = open_widget(context, service, "therapist", session["tokens"]["t-1"])
    panel.get_by_role("button", name="Suggest grounding").click()
    panel.get_by_role("button", name="Paced breathing").click()
    expect(
        client.get_by_text("Your therapist suggests Paced breathing. Would you like to try it?")
    ).to_be_visible()
    assert events_of(service, sid, "grounding_started") == []  # nothing starts without consent
    client.get_by_role("button", name="Start").click()
    slider = client.get_by_role("slider", name=re.compile("Breaths a minute"))
    expect(slider).to_have_value("6")
    assert slider.get_attribute("min") == "4.5" and slider.get_attribute("max") == "7"
    started = wait_for_events(service, sid, "grounding_started")
    assert started[0]["data"] == {"exercise": "paced_breathing"}
    expect(panel.get_by_text("Grounding started: Paced breathing")).to_be_visible()


def test_478_breathing_warns_and_offers_wait_and_stop(context: Any, service: Service) -> None:
    session = service.create_session()
    client = open_widget(context, service, "client", session["tokens"]["c-1"])
    client.get_by_role("button", name="Grounding", exact=True).click()
    client.get_by_role("button", name="4-7-8 breathing").click()
    expect(client.get_by_text("Round 1 of 4")).to_be_visible()
    expect(client.get_by_text("Sit comfortably.", exact=False)).to_be_visible()
    circle = client.locator("[part~=breath-circle]")
    # "Wait", not "Hold": "Hold" is a breathing phase (issue 14).
    client.get_by_role("button", name="Wait").click()
    assert circle.evaluate("el => getComputedStyle(el).animationPlayState") == "paused"
    client.get_by_role("button", name="Continue").click()
    assert circle.evaluate("el => getComputedStyle(el).animationPlayState") == "running"
    client.get_by_role("button", name="Stop exercise").click()
    finished = wait_for_events(service, session["session"]["id"], "grounding_finished")
    assert finished[0]["data"]["exercise"] == "breathing_478"
    assert finished[0]["data"]["completed"] is False


def test_reduced_motion_is_honoured(browser: Any, service: Service) -> None:
    session = service.create_session()
    for motion, still in (("reduce", True), ("no-preference", False)):
        ctx = browser.new_context(reduced_motion=motion)
        try:
            client = open_widget(ctx, service, "client", session["tokens"]["c-1"])
            client.get_by_role("button", name="Grounding", exact=True).click()
            client.get_by_role("button", name="Box breathing").click()
            circle = client.locator("[part~=breath-circle]")
            expect(circle).to_be_attached()
            name = circle.evaluate("el => getComputedStyle(el).animationName")
            first = circle.evaluate("el => getComputedStyle(el).transform")
            time.sleep(1.2)
            second = circle.evaluate("el => getComputedStyle(el).transform")
            if still:
                assert name == "none"
                assert first == second
                expect(client.get_by_text("Animation is off", exact=False)).to_be_visible()
            else:
                assert name.startswith("comfort-")
                assert first != second
            client.get_by_role("button", name="Stop exercise").click()
        finally:
            ctx.close()


# ---- host integration ---------------------------------------------------------------------


def test_host_page_gets_signal_and_event_dom_events(context: Any, service: Service) -> None:
    session = service.create_session()
    client = open_widget(context, service, "client", session["tokens"]["c-1"])
    client.evaluate(
        """() => {
          window.__seen = [];
          for (const name of ['comfort:signal', 'comfort:event'])
            document.addEventListener(name, (e) => window.__seen.push(
              {name: e.type, type: e.detail.type, id: e.detail.id, seq: e.detail.seq,
               bubbles: e.bubbles, composed: e.composed}));
        }"""
    )
    client.get_by_role("button", name="Pause", exact=True).click()
    client.wait_for_function(
        "() => window.__seen.some(s => s.name === 'comfort:event' && s.type === 'pause')"
    )
    seen = client.evaluate("() => window.__seen")
    signal = next(s for s in seen if s["name"] == "comfort:signal")
    event = next(s for s in seen if s["name"] == "comfort:event" and s["type"] == "pause")
    assert signal["type"] == "pause" and signal["bubbles"] and signal["composed"]
    assert event["id"] == signal["id"] and isinstance(event["seq"], int)


def test_pause_turns_the_camera_off_through_the_adapter_and_resume_restores_only_that(
    context: Any, service: Service
) -> None:
    session = service.create_session()
    client = open_widget(context, service, "client", session["tokens"]["c-1"])
    client.evaluate(INSTALL_CAMERA_ADAPTER, True)
    client.get_by_role("button", name="Pause", exact=True).click()
    client.get_by_role("button", name="Ready to go on").click()
    client.wait_for_function("() => window.__calls.length === 2")
    assert client.evaluate("() => window.__calls") == [False, True]

    client.evaluate(
        INSTALL_CAMERA_ADAPTER, False
    )  # the camera was already off: pause and resume leave it off
    client.get_by_role("button", name="Pause", exact=True).click()
    client.get_by_role("button", name="Ready to go on").click()
    time.sleep(0.5)
    assert client.evaluate("() => window.__calls") == []


def test_demo_page_works_side_by_side(context: Any, service: Service) -> None:
    page = context.new_page()
    page.goto(service.url + "/demo")
    client = page.locator("comfort-client")
    panel = page.locator("comfort-therapist")
    expect(client.locator("[part~=status]")).to_have_text("Connected")
    expect(panel.locator("[part~=status]")).to_have_text("Connected")
    client.get_by_role("button", name="Pause", exact=True).click()
    panel.get_by_role("button", name="Acknowledge").click()
    expect(client.get_by_text("Your therapist saw this")).to_be_visible()


def test_a_bad_link_says_so_and_offers_no_controls(context: Any, service: Service) -> None:
    page = context.new_page()
    page.goto(service.embed("client", "not-a-valid-token"))
    expect(page.get_by_text("This link is not valid. Please ask for a new one.")).to_be_visible()
    expect(page.get_by_role("button")).to_have_count(0)


def test_spanish_strings(context: Any, service: Service) -> None:
    session = service.create_session()
    client = open_widget(context, service, "client", session["tokens"]["c-1"], lang="es")
    expect(client.get_by_role("button", name="Pausa", exact=True)).to_be_visible()
    expect(client.get_by_text("Solo tu terapeuta ve lo que pulses aquí.")).to_be_visible()


# ---- accessibility ------------------------------------------------------------------------


@pytest.mark.parametrize("width", [390, 1280])
def test_axe_finds_no_serious_or_critical_violation(
    browser: Any, service: Service, width: int
) -> None:
    ctx = browser.new_context(bypass_csp=True, viewport={"width": width, "height": 900})
    ctx.set_default_timeout(10_000)
    try:
        session = service.create_session()
        client = open_widget(ctx, service, "client", session["tokens"]["c-1"])
        panel = open_widget(ctx, service, "therapist", session["tokens"]["t-1"])
        problems: dict[str, Any] = {}
        problems["client at rest"] = run_axe(client)
        problems["panel at rest"] = run_axe(panel)

        client.get_by_role("button", name="Pause", exact=True).click()
        client.get_by_role("button", name="Too much").click()
        panel.get_by_role("button", name="Check in").click()
        panel.get_by_role("button", name=SUDS_CHECK_IN).click()
        expect(client.get_by_role("radio", name="5", exact=True)).to_be_visible()
        problems["client paused, check-in open"] = run_axe(client)
        problems["panel with items"] = run_axe(panel)

        client.get_by_role("button", name="Not now").click()
        client.get_by_role("button", name="Ready to go on").click()
        client.get_by_role("button", name="Grounding", exact=True).click()
        problems["client grounding menu"] = run_axe(client)
        client.get_by_role("button", name="Paced breathing").click()
        problems["client breathing"] = run_axe(client)

        demo = ctx.new_page()
        demo.goto(service.url + "/demo")
        expect(demo.locator("comfort-therapist [part~=status]")).to_have_text("Connected")
        problems["demo"] = run_axe(demo)
        assert {k: v for k, v in problems.items() if v} == {}
    finally:
        ctx.close()
