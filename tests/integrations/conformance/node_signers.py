"""The platforms' own JavaScript signing and verifying code paths, run in Node.

zoom/webhook-sample's `index.js` and Whereby's "Validating events" example hash what
`JSON.stringify(req.body)` writes after a JSON body parser; running that expression in Node
(rather than a Python imitation of it) is the cross-check that our `json_stringify` agrees.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

_SCRIPT = r"""
const crypto = require("crypto");
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const body = JSON.parse(input.raw);  // what express's bodyParser.json() hands the handler
const message = input.template.replace("{body}", JSON.stringify(body));
process.stdout.write(crypto.createHmac("sha256", input.secret).update(message).digest("hex"));
"""


def node_hmac_of_stringified(raw: str, secret: str, template: str) -> str:
    """HMAC-SHA256 hex of `template` with `{body}` replaced by Node's JSON.stringify of `raw`."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    payload = json.dumps({"raw": raw, "secret": secret, "template": template})
    done = subprocess.run(
        [node, "-e", _SCRIPT], input=payload.encode(), capture_output=True, check=True, timeout=30
    )
    return done.stdout.decode()


def node_hmac(message: str, secret: str) -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    script = (
        'const c=require("crypto");const i=JSON.parse(require("fs").readFileSync(0,"utf8"));'
        'process.stdout.write(c.createHmac("sha256",i.secret).update(i.message).digest("hex"))'
    )
    payload = json.dumps({"message": message, "secret": secret})
    done = subprocess.run(
        [node, "-e", script], input=payload.encode(), capture_output=True, check=True, timeout=30
    )
    return done.stdout.decode()
