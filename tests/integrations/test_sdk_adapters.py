"""The client SDK adapters (integrations/*/sdk.js) in headless Chromium, over SDK fakes.

The fakes (browser/fakes.js) implement each SDK's documented surface and quirks; the
adapters are loaded as the service serves them and the npm package ships them: the
self-contained modules `npm run build` makes (widgets/dist/integrations/, contract §9.7).
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
FAKES = Path(__file__).resolve().parent / "browser"
BUILT = ROOT / "widgets" / "dist" / "integrations"
ORIGIN = "http://comfort.test"
PLATFORMS = ["zoom", "daily", "jaas", "jitsi", "whereby", "livekit", "twilio", "vonage", "generic"]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def _serve(route: Any) -> None:
    path = route.request.url.removeprefix(ORIGIN).split("?", 1)[0]
    if path in ("/", "/index.html"):
        route.fulfill(
            status=200,
            content_type="text/html",
            body="<!doctype html><title>t</title><body></body>",
        )
        return
    if path.startswith("/integrations/"):
        file = BUILT / path.removeprefix("/integrations/")
    elif path.startswith("/fakes/"):
        file = FAKES / path.removeprefix("/fakes/")
    else:
        route.fulfill(status=404, body="")
        return
    if not file.is_file():
        route.fulfill(status=404, body="")
        return
    content_type = "text/javascript" if file.suffix == ".js" else mimetypes.guess_type(file.name)[0]
    route.fulfill(status=200, content_type=content_type or "text/plain", body=file.read_bytes())


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not (BUILT / "sdk-contract.js").is_file():
        pytest.fail("widgets/dist/integrations is missing: run `make install`")
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("no /usr/bin/chromium")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.route(f"{ORIGIN}/**", _serve)
    page.goto(f"{ORIGIN}/")
    yield page
    context.close()
    assert errors == [], errors


def run(page: Any, body: str, arg: Any = None) -> Any:
    """Run an async JS body with `fakes` and `contract` imported and `arg` bound."""
    script = (
        "async (arg) => {"
        " const fakes = await import('/fakes/fakes.js');"
        " const contract = await import('/integrations/sdk-contract.js');"
        f" {body} }}"
    )
    return page.evaluate(script, arg)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_adapter_has_the_one_interface(page: Any, platform: str) -> None:
    shape = run(
        page,
        """
        const { adapter } = await fakes.adapterFor(arg);
        const methods = ['setLocalVideo', 'setLocalAudio', 'setBlur', 'sendAppMessage', 'isLocalVideoOn', 'on', 'destroy'];
        return {
          platform: adapter.platform,
          methods: methods.filter((m) => typeof adapter[m] === 'function'),
          capabilities: Object.keys(adapter.capabilities).sort(),
          types: Object.values(adapter.capabilities).map((v) => typeof v),
        };
        """,
        platform,
    )
    assert shape["platform"] == platform
    assert len(shape["methods"]) == 7
    assert shape["capabilities"] == sorted(
        ["video", "audio", "blur", "appMessage", "participantEvents"]
    )
    assert set(shape["types"]) == {"boolean"}


@pytest.mark.parametrize("platform", PLATFORMS)
def test_commands_never_throw_and_say_why_they_failed(page: Any, platform: str) -> None:
    """With the SDK failing every call, each command still resolves to a Result."""
    results = run(
        page,
        """
        const { adapter, fake } = await fakes.adapterFor(arg);
        fake.broken = true;
        const out = {};
        for (const [name, value] of [['setLocalVideo', false], ['setLocalAudio', false], ['setBlur', 1], ['sendAppMessage', {a: 1}]]) {
          try { out[name] = await adapter[name](value); } catch (e) { out[name] = 'threw ' + e; }
        }
        return { out, capabilities: adapter.capabilities };
        """,
        platform,
    )
    capability_of = {
        "setLocalVideo": "video",
        "setLocalAudio": "audio",
        "setBlur": "blur",
        "sendAppMessage": "appMessage",
    }
    for name, result in results["out"].items():
        assert isinstance(result, dict), (name, result)
        assert result["ok"] in (True, False)
        if not results["capabilities"][capability_of[name]]:
            assert result == {"ok": False, "reason": "unsupported"}, name
        elif not result["ok"]:
            assert result["reason"] in ("error", "denied"), (name, result)


@pytest.mark.parametrize(
    "platform", ["daily", "jitsi", "jaas", "zoom", "livekit", "twilio", "vonage", "whereby"]
)
def test_camera_off_and_on(page: Any, platform: str) -> None:
    states = run(
        page,
        """
        const { adapter } = await fakes.adapterFor(arg);
        const before = await adapter.isLocalVideoOn();
        const off = await adapter.setLocalVideo(false);
        const afterOff = await adapter.isLocalVideoOn();
        const on = await adapter.setLocalVideo(true);
        const afterOn = await adapter.isLocalVideoOn();
        return { before, off, afterOff, on, afterOn };
        """,
        platform,
    )
    assert states["off"] == {"ok": True}
    assert states["afterOff"] is False
    assert states["on"] == {"ok": True}
    assert states["afterOn"] is True
    if platform != "whereby":  # the embed element does not report the camera until toggled
        assert states["before"] is True


@pytest.mark.parametrize("platform", ["jitsi", "jaas"])
def test_jitsi_toggle_is_sent_only_when_the_state_differs(page: Any, platform: str) -> None:
    calls = run(
        page,
        """
        const { adapter, fake } = await fakes.adapterFor(arg);
        const first = await adapter.setLocalVideo(false);
        const second = await adapter.setLocalVideo(false);
        const audio = await adapter.setLocalAudio(true);  // already unmuted
        return { first, second, audio, muted: fake.videoMuted, calls: fake.calls };
        """,
        platform,
    )
    assert calls["first"] == calls["second"] == calls["audio"] == {"ok": True}
    assert calls["muted"] is True
    assert calls["calls"] == [["toggleVideo"]]


def test_jitsi_camera_that_does_not_come_back_is_denied(page: Any) -> None:
    result = run(
        page,
        """
        const { adapter, fake } = await fakes.adapterFor('jitsi', { videoOn: false, denyCamera: true });
        return await adapter.setLocalVideo(true);
        """,
    )
    assert result == {"ok": False, "reason": "denied"}


def test_jitsi_blur_and_endpoint_messages(page: Any) -> None:
    out = run(
        page,
        """
        const { adapter, fake } = await fakes.adapterFor('jitsi');
        fake.joined('abc'); fake.joined('def'); fake.left('def');
        await adapter.setBlur(1); await adapter.setBlur(0.3); await adapter.setBlur(0);
        await adapter.sendAppMessage({ type: 'comfort' });
        return fake.calls;
        """,
    )
    assert out == [
        ["setBlurredBackground", "blur"],
        ["setBlurredBackground", "slight-blur"],
        ["setBlurredBackground", "none"],
        ["sendEndpointTextMessage", "abc", '{"type":"comfort"}'],
    ]


def test_jitsi_refs_come_from_the_rooms_info(page: Any) -> None:
    """participantJoined carries only {id, displayName, formattedDisplayName} (Jitsi
    handbook and jitsi-meet); the JWT user id is getRoomsInfo()'s userContext.id."""
    out = run(
        page,
        """
        const { adapter, fake } = await fakes.adapterFor('jitsi');
        const seen = [];
        adapter.on('participant-joined', (p) => seen.push(['joined', p.id, p.ref]));
        adapter.on('participant-left', (p) => seen.push(['left', p.id, p.ref]));
        fake.joined('j1', { ref: 'c-1' });
        fake.joined('j2', { ref: 't-1', userContext: { id: 't-1' } });
        await new Promise((r) => setTimeout(r, 50));
        fake.left('j1');
        return seen;
        """,
    )
    assert sorted(out[:2]) == [["joined", "j1", "c-1"], ["joined", "j2", "t-1"]]
    assert out[2] == ["left", "j1", "c-1"]


def test_jitsi_reaches_participants_who_were_there_before_the_adapter(page: Any) -> None:
    """Someone in the room before createAdapter is messaged too (getRoomsInfo on creation)."""
    out = run(
        page,
        """
        const { adapter, fake } = await fakes.adapterFor('jitsi', { present: [{ id: 'early', ref: 't-1' }] });
        const sent = await adapter.sendAppMessage({ type: 'comfort' });
        return { sent, calls: fake.calls };
        """,
    )
    assert out["sent"] == {"ok": True}
    assert out["calls"] == [["sendEndpointTextMessage", "early", '{"type":"comfort"}']]


def test_jitsi_message_to_an_empty_room_is_not_ok(page: Any) -> None:
    """Nobody to reach: the command says so rather than reporting ok."""
    out = run(
        page,
        """
        const { adapter, fake } = await fakes.adapterFor('jitsi');
        const empty = await adapter.sendAppMessage({ type: 'comfort' });
        fake.joined('j1', { ref: 'c-1' }); fake.left('j1');
        const afterLeaving = await adapter.sendAppMessage({ type: 'comfort' });
        return { empty, afterLeaving, calls: fake.calls };
        """,
    )
    assert out["empty"]["ok"] is False and out["empty"]["reason"] == "error"
    assert out["afterLeaving"]["ok"] is False
    assert out["calls"] == []


def test_jitsi_a_new_room_is_a_new_set_of_people(page: Any) -> None:
    """videoConferenceJoined (a breakout move joins another room) relearns who is there."""
    out = run(
        page,
        """
        const { adapter, fake } = await fakes.adapterFor('jitsi', { present: [{ id: 'a', ref: 'c-1' }] });
        fake.room.participants = fake.room.participants.filter((p) => p.id !== 'a');
        fake.room.participants.push({ id: 'b', jid: 'x/b', role: 'participant', displayName: 'B', userContext: { id: 't-1' } });
        fake.conferenceJoined('me');
        await new Promise((r) => setTimeout(r, 50));
        await adapter.sendAppMessage({ type: 'comfort' });
        return fake.calls;
        """,
    )
    assert out == [["sendEndpointTextMessage", "b", '{"type":"comfort"}']]


@pytest.mark.parametrize(
    ("platform", "drive", "expected_ref"),
    [
        (
            "daily",
            "fake.joined({session_id: 's1', user_id: 'c-1'}); fake.left({session_id: 's1', user_id: 'c-1'})",
            "c-1",
        ),
        ("jitsi", "fake.joined('j1', {ref: 'c-1'}); fake.left('j1')", "c-1"),
        ("livekit", "fake.connected('c-1'); fake.disconnected('c-1')", "c-1"),
        ("twilio", "fake.connected('c-1'); fake.disconnected('c-1')", "c-1"),
        ("vonage", "fake.created('conn1', 'c-1'); fake.destroyed('conn1', 'c-1')", "c-1"),
        ("whereby", "fake.joined('c-1'); fake.left('c-1')", "c-1"),
        (
            "zoom",
            "fake.change([{status: 'join', participantUUID: 'u1'}]); fake.change([{status: 'leave', participantUUID: 'u1'}])",
            None,
        ),
    ],
)
def test_participant_events_reach_listeners_until_removed(
    page: Any, platform: str, drive: str, expected_ref: str | None
) -> None:
    out = run(
        page,
        f"""
        const {{ adapter, fake }} = await fakes.adapterFor(arg);
        const seen = [];
        const offJoined = adapter.on('participant-joined', (p) => seen.push(['joined', p.ref]));
        adapter.on('participant-left', (p) => seen.push(['left', p.ref]));
        {drive};
        await new Promise((r) => setTimeout(r, 50));
        offJoined();
        adapter.destroy();
        {drive};
        await new Promise((r) => setTimeout(r, 50));
        return seen;
        """,
        platform,
    )
    assert out == [["joined", expected_ref], ["left", expected_ref]]


def test_zoom_calls_outside_the_configured_capabilities_are_unsupported(page: Any) -> None:
    out = run(
        page,
        """
        const { adapter, fake } = await fakes.adapterFor('zoom', { capabilities: ['getVideoState'] });
        const video = await adapter.setLocalVideo(false);
        const refused = await fakes.adapterFor('zoom', { unsupportedApis: ['setVideoState'] });
        const alsoVideo = await refused.adapter.setLocalVideo(false);
        return { video, alsoVideo, calls: fake.calls, caps: adapter.capabilities };
        """,
    )
    assert out["video"] == out["alsoVideo"] == {"ok": False, "reason": "unsupported"}
    assert out["calls"] == []
    assert out["caps"]["video"] is False


def test_zoom_rejections_are_classified(page: Any) -> None:
    out = run(
        page,
        """
        const { adapter, fake } = await fakes.adapterFor('zoom');
        fake.rejectWith = 'Not allowed: the user has not added the app';
        const deniedResult = await adapter.setLocalVideo(false);
        fake.rejectWith = 'This API is not supported in this running context';
        const unsupported = await adapter.setLocalVideo(false);
        return { deniedResult, unsupported };
        """,
    )
    assert out["deniedResult"]["reason"] == "denied"
    assert out["unsupported"] == {"ok": False, "reason": "unsupported"}


def test_livekit_denied_camera_and_blur_processor(page: Any) -> None:
    out = run(
        page,
        """
        const { adapter, fake } = await fakes.adapterFor('livekit', { videoOn: false, denyCamera: true, withBlur: true });
        const camera = await adapter.setLocalVideo(true);
        const blur = await adapter.setBlur(0.5);
        const processor = fake.track.processor;
        await adapter.setBlur(0);
        const message = await adapter.sendAppMessage({ hello: 1 });
        const noBlur = await (await fakes.adapterFor('livekit')).adapter.setBlur(1);
        return { camera, blur, processor, cleared: fake.track.processor, message, published: fake.published, noBlur };
        """,
    )
    assert out["camera"]["ok"] is False and out["camera"]["reason"] == "denied"
    assert out["blur"] == {"ok": True}
    assert out["processor"] == {"kind": "BackgroundBlur", "radius": 10}
    assert out["cleared"] is None
    assert out["message"] == {"ok": True}
    assert out["published"] == {
        "text": '{"hello":1}',
        "options": {"reliable": True, "topic": "comfort"},
    }
    assert out["noBlur"] == {"ok": False, "reason": "unsupported"}


def test_twilio_tracks_data_and_blur(page: Any) -> None:
    out = run(
        page,
        """
        const { adapter, fake } = await fakes.adapterFor('twilio', { withData: true, withBlur: true });
        await adapter.setLocalAudio(false);
        const message = await adapter.sendAppMessage({ a: 1 });
        await adapter.setBlur(1);
        const processors = fake.videoTrack.processors.length;
        await adapter.setBlur(0);
        const bare = await fakes.adapterFor('twilio', { noTracks: true });
        return {
          audio: fake.audioTrack.isEnabled, message, sent: fake.sent, processors,
          after: fake.videoTrack.processors.length,
          noTrack: await bare.adapter.setLocalVideo(false),
          noData: await bare.adapter.sendAppMessage({}),
        };
        """,
    )
    assert out["audio"] is False
    assert out["message"] == {"ok": True}
    assert out["sent"] == ['{"a":1}']
    assert (out["processors"], out["after"]) == (1, 0)
    assert out["noTrack"]["reason"] == "error"
    assert out["noData"] == {"ok": False, "reason": "unsupported"}


def test_vonage_signal_and_blur_filter(page: Any) -> None:
    out = run(
        page,
        """
        const { adapter, fake } = await fakes.adapterFor('vonage');
        const message = await adapter.sendAppMessage({ a: 1 });
        await adapter.setBlur(1);
        const filter = fake.filter;
        await adapter.setBlur(0);
        const noProcessors = await fakes.adapterFor('vonage', { noProcessors: true });
        return { message, signals: fake.signals, filter, cleared: fake.filter, caps: noProcessors.adapter.capabilities };
        """,
    )
    assert out["message"] == {"ok": True}
    assert out["signals"] == [{"type": "comfort", "data": '{"a":1}'}]
    assert out["filter"] == {"type": "backgroundBlur", "blurStrength": "high"}
    assert out["cleared"] is None
    assert out["caps"]["blur"] is False


def test_whereby_denied_device_makes_camera_on_denied(page: Any) -> None:
    """`<whereby-embed>` dispatches deny_device_permission with detail {denied: Boolean}
    (@whereby.com/browser-sdk WherebyEmbedElementEventMap; docs.whereby.com's event table):
    denied true makes turning the camera on `denied`; false or a grant clears it."""
    out = run(
        page,
        """
        const { adapter, fake } = await fakes.adapterFor('whereby', { videoOn: false });
        const before = await adapter.isLocalVideoOn();
        fake.denyDevice(false);
        const notDenied = await adapter.setLocalVideo(true);
        await adapter.setLocalVideo(false);
        fake.denyDevice(true);
        const on = await adapter.setLocalVideo(true);
        const calls = [...fake.calls];
        fake.grantDevice();
        const granted = await adapter.setLocalVideo(true);
        return { before, notDenied, on, calls, granted };
        """,
    )
    assert out["before"] is False
    assert out["notDenied"] == {"ok": True}
    assert out["on"] == {"ok": False, "reason": "denied"}
    assert out["calls"] == [["toggleCamera", True], ["toggleCamera", False]]
    assert out["granted"] == {"ok": True}


def test_zoom_blur_through_the_virtual_background(page: Any) -> None:
    """@zoom/appssdk: setVirtualBackground({blur: true}) blurs, removeVirtualBackground()
    removes it; the user refusing Zoom's confirmation (error 10017) is `denied`."""
    out = run(
        page,
        """
        const { adapter, fake } = await fakes.adapterFor('zoom');
        const caps = adapter.capabilities;
        const on = await adapter.setBlur(1);
        const whileOn = fake.background;
        const off = await adapter.setBlur(0);
        const refusing = await fakes.adapterFor('zoom', { userDenies: true });
        const refused = await refusing.adapter.setBlur(1);
        const without = await fakes.adapterFor('zoom', { capabilities: ['getVideoState', 'setVideoState'] });
        return { caps, on, whileOn, off, after: fake.background, calls: fake.calls, refused,
                 withoutCaps: without.adapter.capabilities.blur, withoutBlur: await without.adapter.setBlur(1) };
        """,
    )
    assert out["caps"]["blur"] is True
    assert out["on"] == {"ok": True} and out["off"] == {"ok": True}
    assert out["whileOn"] == {"blur": True}
    assert out["after"] is None
    assert out["calls"] == ["setVirtualBackground", "removeVirtualBackground"]
    assert out["refused"]["reason"] == "denied"
    assert out["withoutCaps"] is False
    assert out["withoutBlur"] == {"ok": False, "reason": "unsupported"}


def test_daily_blur_message_and_sidebar_integration(page: Any) -> None:
    out = run(
        page,
        """
        const { adapter, fake, module } = await fakes.adapterFor('daily');
        await adapter.setBlur(0.5);
        const on = fake.inputSettings;
        await adapter.setBlur(0);
        const off = fake.inputSettings;
        await adapter.sendAppMessage({ a: 1 });
        const sidebar = module.comfortSidebarIntegration({ src: 'https://comfort.example/embed/client?token=x' });
        return { on, off, sent: fake.sent, sidebar };
        """,
    )
    assert out["on"] == {
        "video": {"processor": {"type": "background-blur", "config": {"strength": 0.5}}}
    }
    assert out["off"] == {"video": {"processor": {"type": "none"}}}
    assert out["sent"] == {"data": {"a": 1}, "to": "*"}
    assert out["sidebar"]["comfort"]["location"] == "sidebar"


def test_daily_denied_camera_is_reported(page: Any) -> None:
    result = run(
        page,
        "const { adapter } = await fakes.adapterFor('daily', { videoOn: false, denyCamera: true });"
        " return await adapter.setLocalVideo(true);",
    )
    assert result == {"ok": False, "reason": "denied"}


# --- pause / resume through the privacy controller ---------------------------------------

PAUSE_SCRIPT = """
const { adapter, fake } = await fakes.adapterFor(arg.platform, arg.opts);
const controller = contract.createPrivacyController(adapter);
const overlay = () => document.querySelectorAll('[data-comfort-privacy-overlay]').length;
const mode = await controller.pause();
const again = await controller.pause();
const whilePaused = { video: await adapter.isLocalVideoOn(), overlay: overlay(), filter: fake.filter ?? null };
await controller.resume();
return { mode, again, whilePaused, after: { video: await adapter.isLocalVideoOn(), overlay: overlay(), filter: fake.filter ?? null }, paused: controller.paused };
"""


@pytest.mark.parametrize("platform", ["daily", "jitsi", "livekit", "twilio", "vonage", "zoom"])
def test_pause_turns_the_camera_off_and_resume_back_on(page: Any, platform: str) -> None:
    out = run(page, PAUSE_SCRIPT, {"platform": platform, "opts": {}})
    assert out["mode"] == out["again"] == "video"
    assert out["whilePaused"]["video"] is False
    assert out["after"]["video"] is True
    assert out["paused"] is False


@pytest.mark.parametrize("platform", ["daily", "jitsi", "livekit", "zoom"])
def test_resume_leaves_a_camera_that_was_already_off_off(page: Any, platform: str) -> None:
    out = run(page, PAUSE_SCRIPT, {"platform": platform, "opts": {"videoOn": False}})
    assert out["mode"] == "none"
    assert out["after"]["video"] is False
    assert out["after"]["overlay"] == 0


def test_pause_falls_back_to_blur_when_the_camera_cannot_be_turned_off(page: Any) -> None:
    out = run(page, PAUSE_SCRIPT, {"platform": "vonage", "opts": {"failVideo": True}})
    assert out["mode"] == "blur"
    assert out["whilePaused"]["filter"] == {"type": "backgroundBlur", "blurStrength": "high"}
    assert out["after"]["filter"] is None
    assert out["after"]["overlay"] == 0


@pytest.mark.parametrize(
    ("platform", "opts"), [("generic", {}), ("zoom", {"capabilities": ["getVideoState"]})]
)
def test_pause_falls_back_to_the_overlay(page: Any, platform: str, opts: dict[str, Any]) -> None:
    out = run(page, PAUSE_SCRIPT, {"platform": platform, "opts": opts})
    assert out["mode"] == "overlay"
    assert out["whilePaused"]["overlay"] == 1
    assert out["after"]["overlay"] == 0
