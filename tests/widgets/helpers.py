"""Helpers for the widget browser tests: open a widget and wait for it, read the log, move
focus by keyboard only, run axe-core."""

from __future__ import annotations

import re
import time
from typing import Any

from playwright.sync_api import Page, expect

from tests.widgets.conftest import AXE, Service

# The contract's name for the SUDS check-in, with its en dash (contract §7).
SUDS_CHECK_IN = "Distress (SUDS 0\u201310)"

# A platform adapter (integrations/sdk-contract.js) that records setLocalVideo calls in
# window.__calls; its argument says whether the camera is on when the widget asks.
INSTALL_CAMERA_ADAPTER = """(videoOn) => {
  window.__calls = [];
  document.querySelector('comfort-client').platformAdapter = {
    capabilities: {video: true},
    isLocalVideoOn: async () => videoOn,
    setLocalVideo: async (on) => { window.__calls.push(on); return {ok: true}; },
  };
}"""


def open_widget(context: Any, service: Service, role: str, token: str, **query: str) -> Page:
    """Open an embed page and wait until its widget is connected."""
    page = context.new_page()
    extra = "".join(f"&{k}={v}" for k, v in query.items())
    page.goto(service.embed(role, token) + extra)
    expect(page.locator(f"comfort-{role} [part~=status]").first).to_have_text(
        re.compile("Connected|Conectado")
    )
    return page


def events_of(service: Service, session_id: str, kind: str) -> list[dict[str, Any]]:
    return [e for e in service.events(session_id) if e["type"] == kind]


def wait_for_events(
    service: Service, session_id: str, kind: str, count: int = 1, timeout: float = 10
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        found = events_of(service, session_id, kind)
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


FOCUSED = """() => {
  let el = document.activeElement;
  while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
  if (!el || el === document.body) return '';
  const label = el.getAttribute('aria-label') || (el.labels && el.labels[0] && el.labels[0].textContent)
    || el.textContent || '';
  return label.replace(/\\s+/g, ' ').trim();
}"""


def tab_to(page: Page, name: str, limit: int = 80) -> None:
    """Press Tab until the focused control's name is `name` (keyboard only, no clicks)."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        current = page.evaluate(FOCUSED)
        seen.append(current)
        if current == name:
            return
    raise AssertionError(f"could not reach {name!r} with Tab; focus went through {seen}")


def run_axe(page: Page) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
             .map(v => ({id: v.id, impact: v.impact, help: v.help,
                         nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)}))"""
    )
    return [v for v in violations if v["impact"] in ("serious", "critical")]
