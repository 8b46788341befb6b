"""py-spy profiles of the service under load, and what they say.

`python -m bench.run … --profile` records every service process with py-spy over each latency
window (`profile-<pinned|unpinned>-<sessions>-<pid>.txt` in the results directory, py-spy's raw
"collapsed stack" format, which speedscope and flamegraph.pl read too) and prints the top
entries. `python -m bench.profile FILE…` prints them again:

- **self**: the share of samples whose innermost frame is that function (where the CPU is spent);
- **total**: the share of samples with that function anywhere on the stack (what it costs,
  callees included), each function counted once per sample.

py-spy samples with `--nonblocking` (it does not stop the process to read its stack, so the
latency being measured is not disturbed; a sample may rarely be torn) at 200 Hz, idle threads
left out. It needs ptrace rights over the server (root, or `kernel.yama.ptrace_scope` 0).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
from collections import Counter
from pathlib import Path

RATE_HZ = 200


def py_spy() -> str | None:
    """The py-spy binary: the venv's (the `dev` extra installs it) or one on PATH."""
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


async def record(pids: list[int], seconds: float, out_dir: Path, label: str) -> list[Path]:
    """py-spy on each of `pids` for `seconds`; the profiles written (none without py-spy)."""
    binary = py_spy()
    if binary is None:
        print("bench: py-spy is not installed (pip install -e '.[dev]'): no profile", flush=True)
        return []
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"profile-{label}-{pid}.txt" for pid in pids]
    procs = [
        await asyncio.create_subprocess_exec(
            binary,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(max(1, round(seconds))),
            "--rate",
            str(RATE_HZ),
            "--format",
            "raw",
            "--nonblocking",
            "--output",
            str(path),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        for pid, path in zip(pids, paths, strict=True)
    ]
    await asyncio.gather(*(p.wait() for p in procs))
    written = [path for path in paths if path.exists()]
    for path in written:
        print(summary(path), flush=True)
    return written


def _frame(frame: str) -> str:
    """`handle (service/engine.py:123)` -> `handle (service/engine.py)`: functions, not lines."""
    name, _, where = frame.partition(" (")
    file = where.rsplit(":", 1)[0].rstrip(")")
    for marker in ("site-packages/", "lib/python3"):
        if marker in file:
            file = file.split(marker, 1)[1]
    return f"{name} ({file})" if file else name


def read(path: Path) -> tuple[Counter[str], Counter[str], int]:
    """Self and total sample counts per function, and the number of samples."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame(f) for f in stack.split(";")]
        samples += count
        own[frames[-1]] += count
        for frame in set(frames):
            total[frame] += count
    return own, total, samples


def summary(path: Path, top: int = 25) -> str:
    own, total, samples = read(path)
    if not samples:
        return f"{path.name}: no samples"
    lines = [f"{path.name}: {samples} samples ({samples / RATE_HZ:.1f} s of CPU at {RATE_HZ} Hz)"]
    lines.append("  self %  function")
    for frame, count in own.most_common(top):
        lines.append(f"  {100 * count / samples:5.1f}  {frame}")
    lines.append("  total %  function (callees included)")
    for frame, count in total.most_common(top):
        lines.append(f"  {100 * count / samples:5.1f}  {frame}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("files", nargs="+", type=Path, help="py-spy raw (collapsed) profiles")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    for path in args.files:
        print(summary(path, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
