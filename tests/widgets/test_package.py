"""The npm package of the widgets and adapters (widgets/package.json, issue 17): the tarball
`npm pack` makes holds what `exports` names; a vendor's TypeScript project type-checks against
it; each adapter works copied alone; the custom-elements manifest agrees with the source, the
types and docs/widgets.md."""

from __future__ import annotations

import json
import re
import subprocess
import tarfile
import tomllib
from pathlib import Path
from typing import Any

import pytest

from tests.widgets.conftest import ROOT, WIDGETS, NpmPackage

PACKAGE = json.loads((WIDGETS / "package.json").read_text())
PLATFORMS = sorted(p.parent.name for p in (ROOT / "integrations").glob("*/sdk.js"))
TSC = WIDGETS / "node_modules" / ".bin" / "tsc"
# The platforms' SDKs a vendor has installed already (widgets' devDependencies here).
SDKS = [
    "@daily-co",
    "@jitsi",
    "@vonage",
    "@whereby.com",
    "@zoom",
    "livekit-client",
    "twilio-video",
    "@types",
]
IMPORT = re.compile(r"^\s*(import\b|export\s+(\*|\{[^}]*\})\s+from\b)|\bimport\s*\(", re.M)
COMMENT = re.compile(r"/\*.*?\*/|^\s*//.*$", re.S | re.M)


def export_targets() -> dict[str, list[str]]:
    """Every file `exports` names, by subpath."""
    targets: dict[str, list[str]] = {}
    for subpath, target in PACKAGE["exports"].items():
        files = [target] if isinstance(target, str) else list(target.values())
        targets[subpath] = [f.removeprefix("./") for f in files]
    return targets


def test_the_package_is_publishable_and_says_its_licence() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert PACKAGE["name"] == "@session-comfort/widgets"
    assert PACKAGE["version"] == project["version"]
    assert "private" not in PACKAGE
    # npm's word for a proprietary package (no licence granted), as pyproject's "Proprietary".
    assert project["license"] == {"text": "Proprietary"}
    assert PACKAGE["license"] == "UNLICENSED"
    assert PACKAGE["publishConfig"] == {"access": "restricted"}
    # Lit and socket.io-client are inside dist/comfort.js: a vendor installs nothing else.
    assert "dependencies" not in PACKAGE
    assert all(v == {"optional": True} for v in PACKAGE["peerDependenciesMeta"].values())
    adapters = {
        s.split("/")[2]
        for s in PACKAGE["exports"]
        if re.fullmatch(r"\./integrations/\w+/sdk\.js", s)
    }
    assert sorted(adapters) == PLATFORMS
    assert (
        PACKAGE["customElements"].removeprefix("./") in export_targets()["./custom-elements.json"]
    )


def test_the_tarball_holds_what_exports_names_and_nothing_of_the_sources(
    npm_package: NpmPackage,
) -> None:
    with tarfile.open(npm_package.tarball) as tar:
        names = {m.name.removeprefix("package/") for m in tar.getmembers() if m.isfile()}
    for subpath, files in export_targets().items():
        for file in files:
            assert file in names, f"exports[{subpath!r}] names {file}, not in the tarball"
    for name in (PACKAGE["main"], PACKAGE["types"], PACKAGE["customElements"]):
        assert name.removeprefix("./") in names
    assert not [n for n in names if n.startswith(("src/", "test/", "node_modules/"))], names
    assert npm_package.installed.joinpath("dist", "comfort.js").is_file()


def test_the_packaged_modules_are_the_ones_the_service_serves(npm_package: NpmPackage) -> None:
    for platform in [*PLATFORMS, None]:
        relative = f"integrations/{platform}/sdk.js" if platform else "integrations/sdk-contract.js"
        packaged = (npm_package.installed / "dist" / relative).read_bytes()
        assert packaged == (WIDGETS / "dist" / relative).read_bytes(), relative
    assert (npm_package.installed / "dist" / "comfort.js").read_bytes() == (
        WIDGETS / "dist" / "comfort.js"
    ).read_bytes()


@pytest.mark.parametrize("platform", PLATFORMS)
def test_each_adapter_works_copied_alone(
    npm_package: NpmPackage, tmp_path: Path, platform: str
) -> None:
    """Contract §9.7: a vendor may copy one adapter file into their app, alone."""
    source = (npm_package.installed / "dist" / "integrations" / platform / "sdk.js").read_text()
    assert IMPORT.search(COMMENT.sub("", source)) is None
    alone = tmp_path / "comfort-daily.js"
    alone.write_text(source)
    check = (
        f"const m = await import({json.dumps(alone.as_uri())});"
        "if (typeof m.createAdapter !== 'function') throw new Error('no createAdapter');"
        f"if ({json.dumps(platform)} === 'generic') {{"
        "  const a = m.createAdapter();"
        "  const r = await a.setLocalVideo(false);"
        "  if (r.ok !== false || r.reason !== 'unsupported') throw new Error(JSON.stringify(r));"
        "}"
    )
    subprocess.run(["node", "--input-type=module", "-e", check], check=True, cwd=tmp_path)


# ---- a vendor's TypeScript project ----------------------------------------------------------

ELEMENTS_TS = """\
import "@session-comfort/widgets";
import {
  ComfortClient, ComfortTherapist, ComfortSummary,
  type ComfortErrorCode, type ComfortLogEvent, type ComfortSignalDetail,
} from "@session-comfort/widgets";
import { createAdapter } from "@session-comfort/widgets/integrations/generic/sdk.js";
import {
  createPrivacyController, type PlatformClientAdapter, type Result,
} from "@session-comfort/widgets/integrations/sdk-contract.js";

const client: ComfortClient | null = document.querySelector("comfort-client");
const therapist: ComfortTherapist = document.createElement("comfort-therapist");
const summary: ComfortSummary = document.createElement("comfort-summary");
summary.sessionId = "ses_1";
therapist.token = "t";
if (client) {
  client.token = "t";
  client.server = "https://comfort.example.com";
  client.platformAdapter = createPrivacyController(createAdapter());
  client.addEventListener("comfort:signal", (e) => {
    const detail: ComfortSignalDetail = e.detail;
    detail.id.toUpperCase();
  });
  client.addEventListener("comfort:error", (e) => {
    const code: ComfortErrorCode = e.detail.code;
    e.detail.message.trim();
    return code;
  });
}
document.addEventListener("comfort:event", (e) => {
  const event: ComfortLogEvent = e.detail;
  return event.seq + 1;
});
window.addEventListener("comfort:signal", (e) => e.detail.type);
const adapter: PlatformClientAdapter = createAdapter();
adapter.setLocalVideo(false).then((r: Result) => r.ok);

// What the types must refuse:
// @ts-expect-error: not one of the five codes
document.addEventListener("comfort:error", (e) => e.detail.code === "nope");
// @ts-expect-error: the token is a string
therapist.token = 5;
// @ts-expect-error: comfort:signal's detail has no seq
document.addEventListener("comfort:signal", (e) => e.detail.seq);
"""

ADAPTERS_TS = "\n".join(
    [
        *(
            f'import {{ createAdapter as {p} }} from "@session-comfort/widgets/integrations/{p}/sdk.js";'
            for p in PLATFORMS
        ),
        'import type { PlatformClientAdapter } from "@session-comfort/widgets/integrations/sdk-contract.js";',
        "declare const sdk: any;",
        "const adapters: PlatformClientAdapter[] = [",
        *(f"  {p}(sdk)," for p in PLATFORMS if p != "vonage"),
        "  vonage({ session: sdk, publisher: sdk }),",
        "];",
        "adapters.length;",
        # The SDKs' own types are there (not `any`): a wrong argument is refused.
        "// @ts-expect-error: a Daily call object is not a number",
        "daily(1);",
        "// @ts-expect-error: nor is a Jitsi IFrame API",
        "jitsi(1);",
        "// @ts-expect-error: nor is a livekit-client Room",
        "livekit(1);",
        "",
    ]
)

COMPILER_OPTIONS: dict[str, Any] = {
    "strict": True,
    "noEmit": True,
    "target": "es2022",
    "module": "esnext",
    "moduleResolution": "bundler",
    "lib": ["es2022", "dom", "dom.iterable"],
    "types": [],
}


def tsc(project: Path, config: str, options: dict[str, Any], files: list[str]) -> None:
    (project / config).write_text(
        json.dumps({"compilerOptions": {**COMPILER_OPTIONS, **options}, "files": files})
    )
    result = subprocess.run(
        [str(TSC), "-p", config], cwd=project, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_vendor_project_type_checks_against_the_tarball(npm_package: NpmPackage) -> None:
    """tsc in a project that installed the tarball: the elements' types with every library
    checked (skipLibCheck off), under the bundler and node16 resolutions; every adapter's types
    against the platform SDKs a vendor has installed (their own .d.ts need skipLibCheck)."""
    project = npm_package.consumer
    (project / "elements.ts").write_text(ELEMENTS_TS)
    (project / "adapters.ts").write_text(ADAPTERS_TS)
    modules = project / "node_modules"
    for sdk in SDKS:
        link = modules / sdk
        if not link.exists():
            link.symlink_to(WIDGETS / "node_modules" / sdk)
    tsc(project, "tsconfig.elements.json", {"skipLibCheck": False}, ["elements.ts"])
    tsc(
        project,
        "tsconfig.node16.json",
        {"skipLibCheck": False, "module": "node16", "moduleResolution": "node16"},
        ["elements.ts"],
    )
    tsc(project, "tsconfig.adapters.json", {"skipLibCheck": True}, ["adapters.ts"])


# ---- the custom-elements manifest -------------------------------------------------------------

MANIFEST = WIDGETS / "dist" / "custom-elements.json"
TYPES = (WIDGETS / "types" / "comfort.d.ts").read_text()
DOCS = (ROOT / "docs" / "widgets.md").read_text()


@pytest.fixture(scope="module")
def elements(widgets_bundle: Path) -> dict[str, dict[str, Any]]:
    manifest = json.loads(MANIFEST.read_text())
    [module] = manifest["modules"]
    assert module["path"] == PACKAGE["exports"]["."]["default"].removeprefix("./")
    return {d["tagName"]: d for d in module["declarations"]}


def element_sources(tag: str) -> list[Path]:
    """The files that render an element: its own module and its views (src/client/ for the
    client's widget, src/therapist/view.js for the panel)."""
    files = [WIDGETS / "src" / f"{tag}.js"]
    if tag == "comfort-client":
        files.extend(sorted((WIDGETS / "src" / "client").glob("*.js")))
    if tag == "comfort-therapist":
        files.append(WIDGETS / "src" / "therapist" / "view.js")
    return files


def source_parts(tag: str) -> set[str]:
    """The part names an element renders, read from its source: every literal `part` token,
    the names exportparts gives out, and each tile's type (`part="button ${type}"`)."""
    text = "\n".join(f.read_text() for f in element_sources(tag))
    names: set[str] = set()
    for value in re.findall(r'\bpart="([^"]*)"', text):
        literal = re.sub(r"\$\{[^}]*\}", " ", value)
        names.update(t for t in literal.split() if not t.endswith("-"))
        for expression in re.findall(r"\$\{([^}]*)\}", value):
            names.update(t.strip() for t in re.findall(r"'([^']+)'", expression))
    for mapping in re.findall(r'exportparts="([^"]*)"', text):
        names.update(item.split(":")[-1].strip() for item in mapping.split(","))
    names.update(re.findall(r"\btile\('([a-z_]+)'", text))
    names.update(re.findall(r"part: '([a-z-]+)'", text))
    names.discard("part")
    return names


def dynamic_prefixes(tag: str) -> set[str]:
    text = "\n".join(f.read_text() for f in element_sources(tag))
    return set(re.findall(r"([a-z-]+-)\$\{", text))


@pytest.mark.parametrize("tag", ["comfort-client", "comfort-therapist", "comfort-summary"])
def test_the_manifest_lists_the_parts_each_element_renders(
    elements: dict[str, dict[str, Any]], tag: str
) -> None:
    listed = {p["name"] for p in elements[tag]["cssParts"]}
    rendered = source_parts(tag)
    assert rendered - listed == set(), "rendered but not in the manifest"
    prefixes = dynamic_prefixes(tag)
    unknown = {n for n in listed - rendered if not any(n.startswith(p) for p in prefixes)}
    assert unknown == set(), "in the manifest but never rendered"
    # The two grounding parts are distinct now (issue 17).
    if tag == "comfort-client":
        assert {"grounding-button", "grounding-exercise"} <= listed


def test_the_manifest_lists_every_custom_property_the_styles_read(
    elements: dict[str, dict[str, Any]],
) -> None:
    styles = (WIDGETS / "src" / "styles.js").read_text()
    read = dict(re.findall(r"var\((--comfort-[a-z-]+),\s*([^;]*)\)\s*;", styles))
    for element in elements.values():
        listed = {p["name"]: p["default"] for p in element["cssProperties"]}
        assert listed == read


def test_the_manifest_the_types_and_the_docs_agree(elements: dict[str, dict[str, Any]]) -> None:
    typed_events = set(re.findall(r"^\s+'(comfort:[a-z]+)': Comfort\w+Event;", TYPES, re.M))
    assert typed_events == {"comfort:signal", "comfort:event", "comfort:error"}
    codes = set(re.findall(r"\| '([a-z_]+)'", TYPES.split("ComfortErrorCode =")[1].split(";")[0]))
    documented_codes = set(re.findall(r"^\| `([a-z_]+)` \| ", DOCS.split("### Errors")[1], re.M))
    assert codes == documented_codes - {"code"}  # less the header row
    for tag, element in elements.items():
        events = {e["name"] for e in element["events"]}
        assert events == (typed_events if tag != "comfort-summary" else set())
        assert f"'{tag}': {element['name']};" in TYPES, "HTMLElementTagNameMap"
        for member in element["members"]:
            assert re.search(rf"^\s+(readonly )?{member['name']}[(?:]", TYPES, re.M), member
        row = next(line for line in DOCS.splitlines() if line.startswith(f"| `<{tag}>` | `"))
        documented = set(re.findall(r"`([a-z_<>-]+)`", row.split("|")[2]))
        for name in {p["name"] for p in element["cssParts"]}:
            assert name in documented or (
                name.startswith("exercise-") and "exercise-<name>" in documented
            ), f"{tag}::part({name}) is not in docs/widgets.md"
    documented_properties = set(re.findall(r"^\| `(--comfort-[a-z-]+)`", DOCS, re.M))
    documented_properties |= set(re.findall(r"`(--comfort-[a-z-]+)`", DOCS))
    for prop in elements["comfort-client"]["cssProperties"]:
        assert prop["name"] in documented_properties, prop["name"]
