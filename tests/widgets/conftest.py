"""Fixtures for the widget tests: the built bundle, a real `comfort serve` process, and Debian's
Chromium driven by Playwright (never a downloaded browser).

The service runs as its own process so the browser tests can use Playwright's sync API and can
stop and restart the service on the same port and database.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import http.server
import json
import re
import shutil
import subprocess
import threading
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support import API_KEY, ServiceProcess, free_port

ROOT = Path(__file__).resolve().parents[2]
WIDGETS = ROOT / "widgets"
BUNDLE = WIDGETS / "dist" / "comfort.js"
AXE = WIDGETS / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def widgets_bundle() -> Path:
    """The built bundle; rebuilt from source first when npm is here, so tests see the source."""
    npm = shutil.which("npm")
    if npm is not None:
        if not (WIDGETS / "node_modules").is_dir():
            subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=WIDGETS, check=True)
        subprocess.run([npm, "run", "build"], cwd=WIDGETS, check=True, capture_output=True)
    if not BUNDLE.is_file():
        pytest.fail("widgets/dist/comfort.js is missing: run `make install`")
    return BUNDLE


@dataclass
class Service:
    """A running service with REST helpers for the demo tenant."""

    process: ServiceProcess

    @property
    def url(self) -> str:
        return self.process.url

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            return json.loads(raw) if raw else None

    def create_session(self, clients: int = 1, **overrides: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "platform": "generic",
            "external_id": f"room-{uuid.uuid4().hex[:10]}",
            "participants": [{"id": "t-1", "role": "therapist", "display_name": "Dr Tessa"}]
            + [
                {"id": f"c-{i}", "role": "client", "display_name": f"Client {i}"}
                for i in range(1, clients + 1)
            ],
        }
        body.update(overrides)
        return dict(self.call("POST", "/api/v1/sessions", body))

    def events(self, session_id: str) -> list[dict[str, Any]]:
        return list(self.call("GET", f"/api/v1/sessions/{session_id}/events?limit=1000")["events"])

    def embed(self, role: str, token: str) -> str:
        return f"{self.url}/embed/{role}?token={token}"

    def start(self) -> None:
        # Playwright's sync API keeps an event loop in this thread, so start from another one.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, self.process.start()).result()

    def stop(self) -> None:
        self.process.terminate()


def _start_service(data_dir: Path, **env: str) -> Service:
    data_dir.mkdir(parents=True, exist_ok=True)
    service = Service(
        ServiceProcess(data_dir, env={"COMFORT_DEMO": "1", "COMFORT_LOG_LEVEL": "warning", **env})
    )
    service.start()
    return service


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, widgets_bundle: Path) -> Iterator[Service]:
    """One real service process for a test module (sessions keep tests apart)."""
    svc = _start_service(tmp_path_factory.mktemp("service"))
    yield svc
    svc.stop()


@pytest.fixture
def own_service(tmp_path: Path, widgets_bundle: Path) -> Iterator[Service]:
    """A service process of the test's own, which the test may stop and start again."""
    svc = _start_service(tmp_path / "service")
    yield svc
    svc.stop()


@dataclass
class VendorSite:
    """A vendor's web server on loopback, serving one page that embeds the widget by script tag.
    Served for real (not by Playwright's routing) so Chromium's local-network rules see a
    loopback page calling a loopback service, as a vendor page and a public service would be."""

    port: int
    html: str = ""
    # Other files of the site by path (e.g. "/app.js"): (content type, body).
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)

    @property
    def allowed_origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def other_origin(self) -> str:
        """The same server under another name: an origin the service does not allow."""
        return f"http://localhost:{self.port}"


@pytest.fixture(scope="module")
def vendor_site() -> Iterator[VendorSite]:
    site = VendorSite(free_port())

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            content_type, body = site.files.get(
                self.path.split("?", 1)[0], ("text/html; charset=utf-8", site.html.encode())
            )
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", site.port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield site
    server.shutdown()
    server.server_close()
    thread.join(5)


@dataclass
class NpmPackage:
    """The widgets' npm package as `npm pack` makes it, installed into a vendor's project."""

    tarball: Path
    consumer: Path  # a project with the tarball installed (node_modules/@session-comfort/widgets)

    @property
    def installed(self) -> Path:
        return self.consumer / "node_modules" / "@session-comfort" / "widgets"


@pytest.fixture(scope="session")
def npm_package(tmp_path_factory: pytest.TempPathFactory, widgets_bundle: Path) -> NpmPackage:
    """`npm pack` in widgets/, then `npm install <tarball>` in an empty project, offline (the
    package has no dependencies)."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is missing: the package cannot be packed")
    root = tmp_path_factory.mktemp("npm")
    packed = subprocess.run(
        [npm, "pack", "--pack-destination", str(root), "--json"],
        cwd=WIDGETS,
        check=True,
        capture_output=True,
        text=True,
    )
    tarball = root / json.loads(packed.stdout)[0]["filename"]
    consumer = root / "vendor-app"
    consumer.mkdir()
    (consumer / "package.json").write_text(
        json.dumps({"name": "vendor-app", "private": True, "type": "module"})
    )
    subprocess.run(
        [npm, "install", "--offline", "--no-audit", "--no-fund", "--loglevel=error", str(tarball)],
        cwd=consumer,
        check=True,
        capture_output=True,
    )
    return NpmPackage(tarball=tarball, consumer=consumer)


@pytest.fixture(scope="module")
def vendor_service(
    tmp_path_factory: pytest.TempPathFactory, widgets_bundle: Path, vendor_site: VendorSite
) -> Iterator[Service]:
    """A service that allows the vendor site's origin only (COMFORT_ALLOWED_ORIGINS)."""
    svc = _start_service(
        tmp_path_factory.mktemp("vendor-service"),
        COMFORT_ALLOWED_ORIGINS=vendor_site.allowed_origin,
    )
    yield svc
    svc.stop()


def open_outage_proof_page(context: Any, url: str) -> Any:
    """Open an embed page whose HTML and bundle stay loadable while the service is down (as from
    a CDN or the browser's cache), so a test can stop the service and reload."""
    with urllib.request.urlopen(url) as response:
        page_html = response.read()
    bundle = BUNDLE.read_bytes()
    page = context.new_page()
    page.route(
        re.compile(r".*/embed/(client|therapist).*"),
        lambda route: route.fulfill(status=200, content_type="text/html", body=page_html),
    )
    page.route(
        re.compile(r".*/widgets/comfort\.js$"),
        lambda route: route.fulfill(status=200, content_type="text/javascript", body=bundle),
    )
    page.goto(url)
    return page


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (make install installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    """A fresh browser profile per test: its own sessionStorage, nothing shared."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(10_000)
    yield ctx
    ctx.close()
