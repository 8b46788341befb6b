"""The safety plan (contract §9.2, service/safety.py): `settings.safety` at creation, the tenants
file's `[tenants.X.safety]` default that a session's plan replaces whole, what is refused, and
where the plan is shown (the vendor's `GET` and the client's welcome)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from service.safety import SafetyPlan
from service.tenants import TenantRegistry, TenantsFileError
from tests.conftest import LiveServer, start_server
from tests.service.pacing.support import STORES, fresh_postgres, serving
from tests.support import Api, session_body, tenants_toml

LIFELINE = {"label": "988 Suicide & Crisis Lifeline", "phone": "988", "sms": "988"}
WEB = {"label": "Crisis Text Line", "url": "https://www.crisistextline.org/"}
PLAN = {"ask_location": True, "resources": [LIFELINE, WEB]}
SHOWN = {
    "ask_location": True,
    "resources": [{**LIFELINE, "url": None}, {**WEB, "phone": None, "sms": None}],
}
TENANT_SAFETY = """
[tenants.demo.safety]
ask_location = false

[[tenants.demo.safety.resources]]
label = "Practice on-call line"
phone = "+1 (555) 010-0199"
"""
TENANT_SHOWN = {
    "ask_location": False,
    "resources": [
        {"label": "Practice on-call line", "phone": "+1 (555) 010-0199", "sms": None, "url": None}
    ],
}


# -- the model ----------------------------------------------------------------------------------


def refused(plan: Any) -> bool:
    try:
        SafetyPlan.model_validate(plan)
    except ValidationError:
        return True
    return False


@pytest.mark.parametrize(
    "resource",
    [
        {"label": "a", "phone": "988"},
        {"label": "a", "sms": "741741"},
        {"label": "a", "url": "https://988lifeline.org"},
        {"label": "a", "phone": "+44 (0)116 123 4567"},
        {"label": "a", "phone": "*123#"},
        {"label": "x" * 80, "url": "https://example.org:8443/help?lang=es#now"},
        {"label": "Línea de crisis 😀", "phone": "024"},
    ],
)
def test_a_reachable_resource_is_taken_as_written(resource: dict[str, str]) -> None:
    plan = SafetyPlan.model_validate({"resources": [resource]})
    assert plan.resources[0].model_dump(exclude_none=True) == resource
    assert plan.ask_location is False


@pytest.mark.parametrize(
    "plan",
    [
        {"resources": [{"label": "Only a label"}]},  # none of phone, sms, url
        {"resources": [{"label": "", "phone": "988"}]},
        {"resources": [{"label": "   ", "phone": "988"}]},
        {"resources": [{"label": "x" * 81, "phone": "988"}]},
        {"resources": [{"label": "a\nb", "phone": "988"}]},  # §9.5: no control characters
        {"resources": [{"label": "a\x85", "phone": "988"}]},
        {"resources": [{"label": "a\ud800", "phone": "988"}]},  # a lone surrogate
        {"resources": [{"label": "a\ufffe", "phone": "988"}]},  # a non-character
        {"resources": [{"label": "a", "phone": "call 988"}]},
        {"resources": [{"label": "a", "phone": "---"}]},  # nothing to dial
        {"resources": [{"label": "a", "phone": "1" * 33}]},
        {"resources": [{"label": "a", "sms": "988\t"}]},
        {"resources": [{"label": "a", "phone": 988}]},  # a number is not text
        {"resources": [{"label": "a", "url": "http://988lifeline.org"}]},
        {"resources": [{"label": "a", "url": "javascript:alert(1)"}]},
        {"resources": [{"label": "a", "url": "https://"}]},
        {"resources": [{"label": "a", "url": "https://user:pw@example.org"}]},
        {"resources": [{"label": "a", "url": "https://exa mple.org"}]},
        {"resources": [{"label": "a", "url": "https://example.org:99999"}]},
        {"resources": [{"label": "a", "phone": "988", "whatsapp": "988"}]},  # unknown key
        {"resources": [dict(LIFELINE)] * 6},  # at most 5
        {"ask_location": "yes"},
        {"ask_location": 1},
        {"resources": "988"},
        {"hotline": "988"},
    ],
)
def test_what_the_plan_refuses(plan: dict[str, Any]) -> None:
    assert refused(plan)


ANY_TEXT = st.text(st.characters(codec=None, categories=None), max_size=90)
ANY_VALUE = st.none() | st.booleans() | st.integers() | ANY_TEXT | st.binary(max_size=8)
resources = st.lists(
    st.dictionaries(st.sampled_from(["label", "phone", "sms", "url", "other"]), ANY_VALUE),
    max_size=7,
)


@given(
    st.fixed_dictionaries({}, optional={"ask_location": ANY_VALUE, "resources": resources})
    | st.recursive(ANY_VALUE, lambda inner: st.lists(inner, max_size=3), max_leaves=10)
)
def test_any_plan_is_valid_or_refused_never_anything_else(raw: Any) -> None:
    try:
        plan = SafetyPlan.model_validate(raw)
    except ValidationError:
        return
    assert len(plan.resources) <= 5
    for resource in plan.resources:
        assert 1 <= len(resource.label) <= 80 and resource.label.strip()
        assert resource.phone or resource.sms or resource.url
    SafetyPlan.model_validate_json(plan.model_dump_json())  # it can be stored and read back


# -- the tenants file -----------------------------------------------------------------------------


def test_a_tenant_default_plan_is_read_from_the_tenants_file(tmp_path: Path) -> None:
    registry = TenantRegistry.from_file(tenants_toml(tmp_path / "t.toml", TENANT_SAFETY))
    demo = registry.get("demo")
    assert demo is not None and demo.safety is not None
    assert demo.safety.model_dump() == TENANT_SHOWN
    other = registry.get("other")
    assert other is not None and other.safety is None  # no default is invented


@pytest.mark.parametrize(
    "extra",
    [
        '[tenants.demo.safety]\nresources = [{label = "No way to reach it"}]\n',
        '[tenants.demo.safety]\nresources = [{label = "a", url = "http://plain.example"}]\n',
        '[tenants.demo.safety]\nask_location = "yes"\n',
        '[tenants.demo.safety]\nlocale = "en"\n',
        "[tenants.demo.cues.help_requested]\nenabled = false\n",
        '[tenants.demo.cues.disconnected_in_distress]\ngrace_s = "soon"\n',
    ],
)
def test_a_bad_tenant_default_refuses_the_tenants_file(tmp_path: Path, extra: str) -> None:
    with pytest.raises(TenantsFileError, match=r"\[tenants\.demo\]"):
        TenantRegistry.from_file(tenants_toml(tmp_path / "t.toml", extra))


# -- sessions -----------------------------------------------------------------------------------


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[LiveServer]:
    """A live service whose tenant `demo` has a default plan and `other` has none."""
    tenants = TenantRegistry.from_file(tenants_toml(tmp_path / "tenants.toml", TENANT_SAFETY))
    runner, url, app = await start_server(tmp_path, tenants)
    async with aiohttp.ClientSession() as http:
        live = LiveServer(url=url, app=app, api=Api(url, http=http))
        yield live
        for peer in live.peers:
            await peer.close()
    await runner.cleanup()


async def _created(server: LiveServer, key: str | None = None, **settings: Any) -> dict[str, Any]:
    body = session_body(settings=settings) if settings else session_body()
    status, answer = await server.api.call("POST", "/api/v1/sessions", body, key=key)
    assert status == 201, answer
    return dict(answer)


async def _shown(server: LiveServer, created: dict[str, Any], key: str | None = None) -> Any:
    """The plan as the vendor's GET shows it, checked equal to the client's welcome's."""
    sid = created["session"]["id"]
    status, body = await server.api.call("GET", f"/api/v1/sessions/{sid}", key=key)
    assert status == 200
    client = await server.join(created["tokens"]["c-1"])
    assert client.welcome is not None
    welcome = client.welcome["session"]["settings"]
    assert welcome == body["session"]["settings"] == created["session"]["settings"]
    assert set(welcome) == {"safety"}  # the cue settings are not shown to anyone
    return welcome["safety"]


async def test_a_session_s_own_plan_is_shown_to_the_vendor_and_in_the_client_s_welcome(
    server: LiveServer,
) -> None:
    created = await _created(server, safety=PLAN)
    assert await _shown(server, created) == SHOWN
    therapist = await server.join(created["tokens"]["t-1"])
    assert therapist.welcome is not None
    assert therapist.welcome["session"]["settings"]["safety"] == SHOWN


async def test_the_tenant_s_default_plan_applies_when_the_session_gives_none(
    server: LiveServer,
) -> None:
    assert await _shown(server, await _created(server)) == TENANT_SHOWN
    cues_only = await _created(server, cues={"distress_high": {"threshold": 8}})
    assert await _shown(server, cues_only) == TENANT_SHOWN


async def test_a_session_s_plan_replaces_the_tenant_s_whole_and_null_means_none(
    server: LiveServer,
) -> None:
    # Not merged: the tenant's on-call line is not added to the session's resources, and
    # ask_location is the session's (left out: false), not the tenant's.
    only_web = {"resources": [WEB]}
    shown = await _shown(server, await _created(server, safety=only_web))
    assert shown == {"ask_location": False, "resources": [SHOWN["resources"][1]]}
    asks = await _shown(server, await _created(server, safety={"ask_location": True}))
    assert asks == {"ask_location": True, "resources": []}
    assert await _shown(server, await _created(server, safety=None)) is None


async def test_no_plan_is_invented(server: LiveServer) -> None:
    from tests.support import OTHER_KEY

    created = await _created(server, key=OTHER_KEY)
    status, body = await server.api.call(
        "GET", f"/api/v1/sessions/{created['session']['id']}", key=OTHER_KEY
    )
    assert status == 200 and body["session"]["settings"] == {"safety": None}
    client = await server.join(created["tokens"]["c-1"])
    assert client.welcome is not None and client.welcome["session"]["settings"]["safety"] is None


@pytest.mark.parametrize(
    ("settings", "where"),
    [
        ({"safety": {"resources": [{"label": "No way to reach it"}]}}, "settings.safety"),
        ({"safety": {"resources": [{"label": "a", "url": "ftp://x.org"}]}}, "url"),
        ({"safety": {"resources": [dict(WEB)] * 6}}, "resources"),
        ({"safety": {"resources": [{"label": "Línea\u2028", "phone": "1"}]}}, None),
        ({"safety": {"resources": [{"label": "a\u0007", "phone": "1"}]}}, "label"),
        ({"safety": "988"}, "safety"),
        ({"safety": {"ask_location": True, "extra": 1}}, "extra"),
        ({"cues": {"help_requested": {"enabled": False}}}, "help_requested"),
        ({"cues": {"help_requested": {}}}, "help_requested"),
        ({"cues": {"disconnected_in_distress": {"grace_s": -1}}}, "grace_s"),
        ({"cues": {"disconnected_in_distress": {"grace_s": "20"}}}, "grace_s"),
    ],
)
async def test_bad_safety_or_cue_settings_are_invalid_body_and_create_nothing(
    server: LiveServer, settings: dict[str, Any], where: str | None
) -> None:
    body = session_body(settings=settings)
    status, answer = await server.api.call("POST", "/api/v1/sessions", body)
    if where is None:  # U+2028 is a separator, not a control character: taken as written
        assert status == 201, answer
        return
    assert status == 400, answer
    assert answer["error"]["code"] == "invalid_body"
    assert where in answer["error"]["message"]
    # Nothing was created: the same platform and external_id are still free.
    status, _ = await server.api.call("POST", "/api/v1/sessions", {**body, "settings": {}})
    assert status == 201


async def test_grace_s_is_a_key_of_disconnected_in_distress(server: LiveServer) -> None:
    body = session_body(settings={"cues": {"disconnected_in_distress": {"grace_s": 45}}})
    status, answer = await server.api.call("POST", "/api/v1/sessions", body)
    assert status == 201, answer
    zero = session_body(settings={"cues": {"disconnected_in_distress": {"grace_s": 0}}})
    assert (await server.api.call("POST", "/api/v1/sessions", zero))[0] == 201


@pytest.mark.parametrize("store", STORES)
async def test_the_plan_is_kept_in_the_store_on_both_stores(tmp_path: Path, store: str) -> None:
    """Read back by a service that did not create the session (a restart, another process)."""
    tenants = TenantRegistry.from_file(tenants_toml(tmp_path / "tenants.toml", TENANT_SAFETY))
    async with contextlib.AsyncExitStack() as stack:
        settings: dict[str, Any] = {"database_url": f"sqlite:///{tmp_path}/comfort.db"}
        if store == "postgresql":
            settings["database_url"] = await stack.enter_async_context(fresh_postgres())
        async with serving(tmp_path, tenants, **settings) as first:
            own = await _created(first, safety=PLAN)
            default = await _created(first)
        async with serving(tmp_path, tenants, **settings) as second:
            assert await _shown(second, own) == SHOWN
            assert await _shown(second, default) == TENANT_SHOWN
