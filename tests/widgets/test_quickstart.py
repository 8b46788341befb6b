"""The vendor quick start (docs/widgets.md §1, issue 17), followed literally in Chromium from a
second origin: the blocks of that page marked `<!-- quickstart:… -->` are read from it and run
as written, with the service's address and a real join token put in.

The vendor's site is a real web server on 127.0.0.1 (allowed by `COMFORT_ALLOWED_ORIGINS`); the
same server as `localhost` is an origin the service does not allow. The npm route installs the
packed tarball (`npm pack`) and bundles the vendor's app with esbuild; React 19 and Vue come
from npm (tests/js/package.json).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.widgets.conftest import ROOT, WIDGETS, NpmPackage, Service, VendorSite
from tests.widgets.helpers import wait_for_events

pytestmark = pytest.mark.browser

DOCS = (ROOT / "docs" / "widgets.md").read_text()
ESBUILD = WIDGETS / "node_modules" / ".bin" / "esbuild"
JS_PACKAGES = ROOT / "tests" / "js" / "node_modules"  # react, react-dom, vue
ACCENT = "rgb(91, 75, 138)"  # --comfort-accent: #5b4b8a in the quick start
APP_PAGE = """<!doctype html><html lang="en"><head><title>Vendor app</title>
<script type="module" src="/app.js"></script></head>
<body><div id="root"></div><div id="app"></div></body></html>"""


def quickstart(name: str, service: Service, token: str) -> str:
    """The block of docs/widgets.md marked `<!-- quickstart:name -->`, as a vendor would fill
    it in."""
    match = re.search(rf"<!-- quickstart:{name} -->\n```\w+\n(.*?)\n```", DOCS, re.S)
    assert match, f"docs/widgets.md has no quickstart:{name} block"
    block = match.group(1)
    assert "https://comfort.example.com" in block and "CLIENT_JOIN_TOKEN" in block
    return block.replace("https://comfort.example.com", service.url).replace(
        "CLIENT_JOIN_TOKEN", token
    )


def bundle(npm_package: NpmPackage, name: str, source: str, *flags: str) -> bytes:
    """The vendor's app bundled with esbuild in a project that installed the tarball."""
    if not JS_PACKAGES.is_dir():
        pytest.fail("tests/js/node_modules is missing: run `make install`")
    entry = npm_package.consumer / name
    entry.write_text(source)
    out = npm_package.consumer / f"{entry.stem}.bundle.js"
    subprocess.run(
        [
            *(str(ESBUILD), name, "--bundle", "--format=esm", f"--outfile={out.name}"),
            *("--log-level=warning", '--define:process.env.NODE_ENV="production"', *flags),
        ],
        cwd=npm_package.consumer,
        env={**os.environ, "NODE_PATH": str(JS_PACKAGES)},
        check=True,
        timeout=120,
    )
    return out.read_bytes()


def open_app(context: Any, site: VendorSite, origin: str, app: bytes) -> Page:
    site.html = APP_PAGE
    site.files = {"/app.js": ("text/javascript; charset=utf-8", app)}
    page = context.new_page()
    page.goto(f"{origin}/call")
    return page


def console_of(context: Any) -> Callable[[str], list[str]]:
    """Every console message of the context, by type."""
    messages: list[tuple[str, str]] = []
    context.on("console", lambda m: messages.append((m.type, m.text)))
    return lambda kind: [text for t, text in messages if t == kind]


def wait_for_log(page: Page, logs: Callable[[str], list[str]], text: str) -> None:
    for _ in range(100):
        if text in logs("log"):
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"no console.log {text!r}: {logs('log')}")


RECORD = """window.__heard = [];
for (const type of ['comfort:signal', 'comfort:event', 'comfort:error']) {
  document.addEventListener(type, (e) => window.__heard.push({type, detail: e.detail}));
}"""


def status(page: Page) -> Any:
    return page.locator("comfort-client [part~=status]")


def pause_button(page: Page) -> Any:
    return page.get_by_role("button", name="Pause", exact=True)


STYLE_OF = """([selector, property]) => {
  const root = document.querySelector('comfort-client').shadowRoot;
  return getComputedStyle(root.querySelector(selector))[property];
}"""

EXERCISE_STYLE = """(property) => {
  const root = document.querySelector('comfort-client').shadowRoot;
  const inner = root.querySelector('comfort-grounding').shadowRoot;
  return getComputedStyle(inner.querySelector('[part~=grounding]'))[property];
}"""


def test_the_served_modules_from_another_origin_connect_theme_and_tell_the_page(
    context: Any, vendor_service: Service, vendor_site: VendorSite
) -> None:
    service = vendor_service
    session = service.create_session()
    sid = session["session"]["id"]
    logs = console_of(context)
    context.add_init_script(RECORD)
    vendor_site.html = quickstart("served", service, session["tokens"]["c-1"])
    page = context.new_page()
    page.goto(f"{vendor_site.allowed_origin}/call")
    expect(status(page)).to_have_text("Connected")

    # Themed from the host page: a --comfort-* property and ::part() rules.
    assert page.evaluate(STYLE_OF, ["[part~=pause-tile]", "backgroundColor"]) == ACCENT
    assert page.evaluate(STYLE_OF, ["[part~=pause-tile]", "minHeight"]) == "96px"
    assert page.evaluate(STYLE_OF, ["[part~=grounding-button]", "borderStyle"]) == "dashed"

    # comfort:signal on the press, then comfort:event with the same id once it is stored.
    pause_button(page).click()
    expect(page.locator("#self-view")).to_be_hidden()
    stored = wait_for_events(service, sid, "pause")[0]
    page.wait_for_function(
        "() => window.__heard.some((h) => h.type === 'comfort:event' && h.detail.type === 'pause')"
    )
    heard = page.evaluate("() => window.__heard")
    [signal] = [h["detail"] for h in heard if h["type"] == "comfort:signal"]
    [event] = [
        h["detail"]
        for h in heard
        if h["type"] == "comfort:event" and h["detail"]["type"] == "pause"
    ]
    assert signal["type"] == "pause" and signal["id"] == event["id"] == stored["id"]
    wait_for_log(page, logs, "pressed pause")
    wait_for_log(page, logs, f"stored pause {event['seq']}")
    assert not [h for h in heard if h["type"] == "comfort:error"]

    # The running exercise is ::part(grounding-exercise), and ::part(grounding) is not it.
    page.add_style_tag(
        content="comfort-client::part(grounding-exercise) { outline: 3px solid rgb(1, 2, 3); }"
    )
    page.get_by_role("button", name="Ready to go on").click()
    page.get_by_role("button", name="Grounding", exact=True).click()
    page.get_by_role("button", name="Box breathing").click()
    expect(page.locator("comfort-grounding [part~=grounding]")).to_be_attached()
    assert page.evaluate(EXERCISE_STYLE, "outlineColor") == "rgb(1, 2, 3)"
    assert page.evaluate(EXERCISE_STYLE, "borderStyle") != "dashed"


def assert_told_origin_not_allowed(page: Page, logs: Callable[[str], list[str]]) -> None:
    expect(status(page)).to_contain_text(
        "can't reach your therapist's comfort service", timeout=20_000
    )
    page.wait_for_function("() => window.__heard.some((h) => h.type === 'comfort:error')")
    page.wait_for_timeout(1_000)  # nothing more comes
    errors = [
        h["detail"] for h in page.evaluate("() => window.__heard") if h["type"] == "comfort:error"
    ]
    assert [e["code"] for e in errors] == ["origin_not_allowed"]
    assert "COMFORT_ALLOWED_ORIGINS" in errors[0]["message"]
    wait_for_log(page, logs, "cannot work: origin_not_allowed")
    warnings = [w for w in logs("warning") if "origin_not_allowed" in w]
    assert len(warnings) == 1 and "COMFORT_ALLOWED_ORIGINS" in warnings[0], logs("warning")


def test_the_served_modules_on_a_denied_origin_tell_the_vendor_plainly(
    context: Any, vendor_service: Service, vendor_site: VendorSite
) -> None:
    session = vendor_service.create_session()
    logs = console_of(context)
    context.add_init_script(RECORD)
    vendor_site.html = quickstart("served", vendor_service, session["tokens"]["c-1"])
    page = context.new_page()
    page.goto(f"{vendor_site.other_origin}/call")
    assert_told_origin_not_allowed(page, logs)


@pytest.mark.parametrize("allowed", [True, False], ids=["allowed", "denied"])
def test_the_npm_package_bundled_into_a_vendor_app(
    context: Any,
    vendor_service: Service,
    vendor_site: VendorSite,
    npm_package: NpmPackage,
    allowed: bool,
) -> None:
    service = vendor_service
    session = service.create_session()
    logs = console_of(context)
    context.add_init_script(RECORD)
    app = bundle(npm_package, "app.js", quickstart("npm", service, session["tokens"]["c-1"]))
    origin = vendor_site.allowed_origin if allowed else vendor_site.other_origin
    page = open_app(context, vendor_site, origin, app)
    if not allowed:
        assert_told_origin_not_allowed(page, logs)
        return
    expect(status(page)).to_have_text("Connected")
    pause_button(page).click()
    wait_for_events(service, session["session"]["id"], "pause")
    expect(page.locator("body")).to_have_class("comfort-paused")
    wait_for_log(page, logs, "pressed pause")


FRAMEWORKS = {
    "react": ("react-app.jsx", ["--jsx=automatic"]),
    "vue": (
        "vue-app.js",
        [
            "--alias:vue=vue/dist/vue.esm-bundler.js",  # the full build compiles templates
            "--define:__VUE_OPTIONS_API__=true",
            "--define:__VUE_PROD_DEVTOOLS__=false",
            "--define:__VUE_PROD_HYDRATION_MISMATCH_DETAILS__=false",
        ],
    ),
}


@pytest.mark.parametrize("framework", ["react", "vue"])
def test_react_19_and_vue_use_the_elements_directly(
    context: Any,
    vendor_service: Service,
    vendor_site: VendorSite,
    npm_package: NpmPackage,
    framework: str,
) -> None:
    service = vendor_service
    session = service.create_session()
    logs = console_of(context)
    name, flags = FRAMEWORKS[framework]
    source = quickstart(framework, service, session["tokens"]["c-1"])
    app = bundle(npm_package, name, source, *flags)
    page = open_app(context, vendor_site, vendor_site.allowed_origin, app)
    expect(status(page)).to_have_text("Connected")
    pause_button(page).click()
    wait_for_events(service, session["session"]["id"], "pause")
    if framework == "react":
        wait_for_log(page, logs, "pressed pause")
        assert not [m for m in logs("error") if "React" in m or "Minified" in m], logs("error")
    else:
        expect(page.get_by_text("Pressed: pause")).to_be_visible()
        assert not [m for m in logs("warning") if "Vue warn" in m], logs("warning")
