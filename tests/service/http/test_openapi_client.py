"""A typed client generated from the served OpenAPI document (issue 17), with maintained
generators from npm: openapi-typescript writes the types (with `--default-non-nullable false`), openapi-fetch makes the calls
(tests/js/package.json). The client is type-checked with tsc (strict; a wrong body, path or
error field must not compile) and run with node against the live service: create a session,
read it, mint a token, read events, end, erase, and read the typed 404 that follows."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from tests.conftest import LiveServer

ROOT = Path(__file__).resolve().parents[3]
JS = ROOT / "tests" / "js" / "node_modules"
TSC = ROOT / "widgets" / "node_modules" / ".bin" / "tsc"
ESBUILD = ROOT / "widgets" / "node_modules" / ".bin" / "esbuild"

CLIENT = """\
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";

declare const process: { argv: string[]; exit(code: number): never };
type Session = components["schemas"]["SessionOut"];
type ErrorCode = components["schemas"]["ErrorDetail"]["code"];

const [baseUrl, apiKey] = process.argv.slice(2);
const api = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${apiKey}` } });

async function main() {
  const created = await api.POST("/api/v1/sessions", {
    body: {
      platform: "generic",
      external_id: "generated-client-1",
      participants: [
        { id: "t-1", role: "therapist", display_name: "Dr Tessa" },
        { id: "c-1", role: "client" },
      ],
    },
  });
  if (!created.data) throw new Error(JSON.stringify(created.error));
  const session: Session = created.data.session;
  const path = { session_id: session.id };
  const read = await api.GET("/api/v1/sessions/{session_id}", { params: { path } });
  const minted = await api.POST("/api/v1/sessions/{session_id}/tokens", {
    params: { path },
    body: { participant_id: "c-1" },
  });
  const events = await api.GET("/api/v1/sessions/{session_id}/events", {
    params: { path, query: { after: 0, limit: 100 } },
  });
  const ended = await api.POST("/api/v1/sessions/{session_id}/end", { params: { path } });
  const erased = await api.DELETE("/api/v1/sessions/{session_id}", { params: { path } });
  const gone = await api.GET("/api/v1/sessions/{session_id}", { params: { path } });
  const code: ErrorCode | undefined = gone.error?.error.code;
  const health = await api.GET("/healthz");
  const origin = await api.GET("/widgets/origin");
  console.log(JSON.stringify({
    created: { status: created.response.status, tokens: Object.keys(created.data.tokens).sort() },
    read: { status: read.response.status, id: read.data?.session.id, state: read.data?.session.state },
    minted: { status: minted.response.status, token: typeof minted.data?.token },
    events: { status: events.response.status, head_seq: events.data?.head_seq, count: events.data?.events.length },
    ended: { status: ended.response.status, state: ended.data?.session.state },
    erased: { status: erased.response.status },
    gone: { status: gone.response.status, code },
    health: health.data?.status,
    origin: origin.data?.allowed,
  }));
}

// What the generated types must refuse:
async function refused() {
  // @ts-expect-error: not a platform
  await api.POST("/api/v1/sessions", { body: { platform: "skype", external_id: "x", participants: [] } });
  // @ts-expect-error: no such route
  await api.GET("/api/v1/sessions/{session_id}/everything", { params: { path: { session_id: "x" } } });
  // @ts-expect-error: minting a token needs participant_id
  await api.POST("/api/v1/sessions/{session_id}/tokens", { params: { path: { session_id: "x" } }, body: {} });
  const answer = await api.GET("/api/v1/sessions/{session_id}", { params: { path: { session_id: "x" } } });
  // @ts-expect-error: an error answer has no session
  answer.error?.session;
}
void refused;

main().catch((error) => { console.error(error); process.exit(1); });
"""

TSCONFIG = {
    "compilerOptions": {
        "strict": True,
        "noEmit": True,
        "skipLibCheck": False,
        "target": "es2022",
        "module": "esnext",
        "moduleResolution": "bundler",
        "lib": ["es2022", "dom"],
        "types": [],
    },
    "files": ["client.ts"],
}


async def run(*args: str | Path, cwd: Path) -> str:
    proc = await asyncio.create_subprocess_exec(
        *map(str, args),
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "NO_COLOR": "1"},
    )
    out, err = await asyncio.wait_for(proc.communicate(), 300)
    assert proc.returncode == 0, f"{args}: {out.decode()}{err.decode()}"
    return out.decode()


async def test_a_generated_typescript_client_calls_the_service(
    live_server: LiveServer, tmp_path: Path
) -> None:
    if not (JS / "openapi-typescript").is_dir() or not TSC.exists():
        pytest.fail("tests/js or widgets node_modules are missing: run `make install`")
    project = tmp_path / "client"
    project.mkdir()
    (project / "node_modules").symlink_to(JS)
    async with live_server.api.http.get(live_server.url + "/api/v1/openapi.json") as r:
        (project / "openapi.json").write_text(await r.text())
    cli = JS / "openapi-typescript" / "bin" / "cli.js"
    # Request models are shared components whose optional fields state their default; told
    # nothing, openapi-typescript would make those fields required (docs/protocol.md).
    await run(
        "node", cli, "openapi.json", "--output", "schema.d.ts",
        "--default-non-nullable", "false", cwd=project,
    )  # fmt: skip
    (project / "client.ts").write_text(CLIENT)
    (project / "tsconfig.json").write_text(json.dumps(TSCONFIG))
    await run(TSC, "-p", "tsconfig.json", cwd=project)
    await run(
        ESBUILD, "client.ts", "--bundle", "--platform=node", "--format=esm",
        "--outfile=client.mjs", "--log-level=warning", cwd=project,
    )  # fmt: skip
    out = await run("node", "client.mjs", live_server.url, live_server.api_key, cwd=project)
    result = json.loads(out)
    assert result["created"] == {"status": 201, "tokens": ["c-1", "t-1"]}
    assert result["read"]["status"] == 200 and result["read"]["state"] == "open"
    assert result["minted"] == {"status": 200, "token": "string"}
    assert result["events"]["status"] == 200 and result["events"]["count"] >= 0
    assert result["ended"] == {"status": 200, "state": "ended"}
    assert result["erased"] == {"status": 204}
    assert result["gone"] == {"status": 404, "code": "session_not_found"}
    assert result["health"] == "ok" and result["origin"] is True
