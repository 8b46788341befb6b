"""The load generator's worker processes: Node socket.io-client workers (bench/node/gen.js),
pinned to the generator's cores, spoken to over stdin/stdout JSON lines."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from .procstat import GENERATOR_CPUS, pinned
from .targets import NODE_DIR, Pair

GENERATOR_NOFILE = 65536


def ensure_node_modules() -> None:
    """`npm ci` in bench/node when its modules are missing (a fresh clone)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise RuntimeError("the load generator needs Node.js 18+ and npm on PATH")
    wanted = json.loads((NODE_DIR / "package.json").read_text())["dependencies"]
    if all((NODE_DIR / "node_modules" / name).is_dir() for name in wanted):
        return
    print("bench: npm ci in bench/node", flush=True)
    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=NODE_DIR, check=True
    )


class Worker:
    """One `node gen.js` process and the lines it prints."""

    def __init__(self, proc: asyncio.subprocess.Process, config: dict[str, Any]) -> None:
        self.proc = proc
        self.config = config
        self.lines: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read())

    @property
    def pid(self) -> int:
        return self.proc.pid

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        async for raw in self.proc.stdout:
            with contextlib.suppress(ValueError):
                await self.lines.put(json.loads(raw))
        await self.lines.put({"phase": "exited"})

    async def wait_phase(self, phase: str, timeout: float) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while True:
                line = await self.lines.get()
                if line.get("phase") == phase:
                    return line
                if line.get("phase") in ("exited", "error"):
                    raise RuntimeError(f"generator worker {self.pid}: {line}")

    def command(self, **cmd: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(cmd) + "\n").encode())

    async def result(self, timeout: float) -> dict[str, Any]:
        await self.wait_phase("done", timeout)
        result: dict[str, Any] = json.loads(Path(self.config["out"]).read_text())
        return result

    async def close(self) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(Exception):
                assert self.proc.stdin is not None
                self.proc.stdin.close()
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        self._reader.cancel()


async def start_worker(
    script: str, config: dict[str, Any], workdir: Path, n: int, pin: bool = True
) -> Worker:
    """One `node <script> CONFIG` worker, pinned to the generator's cores if `pin`."""
    config = {"out": str(workdir / f"worker-{n}.json"), **config}
    path = workdir / f"worker-{n}.config.json"
    path.write_text(json.dumps(config))
    proc = await asyncio.create_subprocess_exec(
        "node",
        str(NODE_DIR / script),
        str(path),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        preexec_fn=pinned(GENERATOR_CPUS if pin else set(), GENERATOR_NOFILE),
        limit=2**24,
    )
    return Worker(proc, config)


async def spawn(
    url: str, pairs: list[Pair], workers: int, mode: str, *, pin: bool = True, **options: Any
) -> list[Worker]:
    """Start `workers` gen.js processes sharing `pairs` (whole sessions per worker), pinned to
    the generator's cores if `pin`. `options` go into each worker's config (`urlT` and `urlC`
    send therapists and clients to different processes)."""
    ensure_node_modules()
    workdir = Path(tempfile.mkdtemp(prefix="comfort-bench-gen-"))
    spawned: list[Worker] = []
    share = -(-len(pairs) // workers)
    for n in range(workers):
        chunk = pairs[n * share : (n + 1) * share]
        if not chunk:
            break
        config = {
            "mode": mode,
            "url": url,
            "sessions": [{"t": p.therapist, "c": p.client} for p in chunk],
            **options,
        }
        spawned.append(await start_worker("gen.js", config, workdir, n, pin))
    return spawned


async def connect_all(workers: list[Worker], timeout: float) -> dict[str, Any]:
    """Wait until every worker has connected its sockets; totals of what they report."""
    reports = await asyncio.gather(*(w.wait_phase("connected", timeout) for w in workers))
    errors: dict[str, int] = {}
    for report in reports:
        for code, count in report.get("errors", {}).items():
            errors[code] = errors.get(code, 0) + count
    return {
        "sockets": sum(r["sockets"] for r in reports),
        "failed": sum(r["failed"] for r in reports),
        "seconds": max(r["seconds"] for r in reports),
        "errors": errors,
    }


async def close_all(workers: list[Worker]) -> None:
    await asyncio.gather(*(w.close() for w in workers))
