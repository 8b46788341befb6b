"""`integrations.base.json_stringify` writes bodies byte for byte as Node's
`JSON.stringify(JSON.parse(body))` does: the re-serialisation Zoom's (zoom/webhook-sample,
Rivet) and Whereby's own verifiers sign. Bodies of all of Unicode (lone surrogates included),
every JSON number shape, deep nesting and any whitespace, checked against a real Node."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from integrations.base import json_stringify
from tests.fuzz.profiles import FUZZ

pytestmark = pytest.mark.fuzz

_NODE = r"""
const rl = require("readline").createInterface({ input: process.stdin });
rl.on("line", (line) => {
  const raw = Buffer.from(line, "base64").toString("utf8");
  let out;
  try { out = Buffer.from(JSON.stringify(JSON.parse(raw)), "utf8").toString("base64"); }
  catch (e) { out = "!"; }
  process.stdout.write(out + "\n");
});
"""

ANY_TEXT = st.text(st.characters(codec=None, categories=None), max_size=20)
NUMBERS = (
    st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([0.1, 1e21, 1e-7, 1.5e-7, 1e16, 123456789012345678901234567890, -0.0, 5e-324])
)
VALUES = st.recursive(
    st.none() | st.booleans() | NUMBERS | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4),
    max_leaves=25,
)


@pytest.fixture(scope="module")
def node() -> Iterator[subprocess.Popen[bytes]]:
    path = shutil.which("node")
    if path is None:
        pytest.skip("node is not installed")
    process = subprocess.Popen([path, "-e", _NODE], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    yield process
    process.terminate()
    process.wait(10)


def node_stringify(node: subprocess.Popen[bytes], raw: bytes) -> bytes | None:
    import base64

    assert node.stdin is not None and node.stdout is not None
    node.stdin.write(base64.b64encode(raw) + b"\n")
    node.stdin.flush()
    answer = node.stdout.readline().strip()
    return None if answer == b"!" else base64.b64decode(answer)


def encode(value: Any, indent: int | None, ensure_ascii: bool) -> bytes:
    # Lone surrogates stay as \u escapes (ensure_ascii) or go out as WTF-8, not UTF-8.
    text = json.dumps(value, indent=indent, ensure_ascii=ensure_ascii)
    return text.encode("utf-8", "surrogatepass")


@FUZZ
@given(VALUES, st.sampled_from([None, 0, 2]), st.booleans())
def test_json_stringify_matches_node(
    node: subprocess.Popen[bytes], value: Any, indent: int | None, ensure_ascii: bool
) -> None:
    raw = encode(value, indent, ensure_ascii)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        assert json_stringify(raw) is None  # not UTF-8: verified over the raw bytes only
        return
    assert json_stringify(raw) == node_stringify(node, raw)


@FUZZ
@given(st.binary(max_size=64))
def test_json_stringify_of_raw_bytes_matches_node_or_is_none(
    node: subprocess.Popen[bytes], raw: bytes
) -> None:
    ours = json_stringify(raw)
    if b"\n" not in raw:  # one line per case to Node
        theirs = node_stringify(node, raw)
        if ours is not None:
            assert ours == theirs


def test_deep_nesting_is_none_not_a_crash() -> None:
    assert json_stringify(b"[" * 100_000 + b"]" * 100_000) is None
