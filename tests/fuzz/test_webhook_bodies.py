"""Guarantee 5 for platform webhooks (contract §6): bodies of any shape behind VALID signatures,
for every platform, are answered 200 or a structured 4xx, never a 5xx, and the service stays
up. The bodies start from what each platform really sends (tests/integrations/platform_signers)
and are mutated: values replaced by any JSON, keys dropped or added, or the whole body replaced."""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st
from yarl import URL

from tests.fuzz.harness import REST_CODES, FuzzService, start_fuzz_service, stop_fuzz_service
from tests.fuzz.profiles import FUZZ
from tests.fuzz.strategies import JSON
from tests.support import Api

# The signers are imported as tests/integrations/conftest.py makes them importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integrations"))
from platform_signers import MEETINGS, SIGNERS, PlatformSigner

from tests.integrations.test_webhooks_e2e import ACME_KEY, PUBLIC_URL, Platforms

pytestmark = pytest.mark.fuzz


class WebhookTarget:
    def __init__(self, service: FuzzService, platforms: Platforms) -> None:
        self.service = service
        self.platforms = platforms
        self.api = Api(service.url, key=ACME_KEY, http=service.http)
        self.cases: dict[str, int] = {}

    async def book(self, platform: str) -> None:
        await self.api.create(
            1,
            platform=platform,
            external_id=MEETINGS[platform],
            participants=[
                {"id": "t-1", "role": "therapist", "platform_ref": "t-ref"},
                {"id": "c-1", "role": "client", "platform_ref": "c-ref"},
            ],
        )

    async def post(self, signer: PlatformSigner, path: str, body: bytes) -> tuple[int, Any]:
        headers = signer.sign(path, "", body, url=f"{PUBLIC_URL}/webhooks/acme/{path}")
        url = URL(f"{self.service.url}/webhooks/acme/{path}", encoded=True)
        async with self.service.http.post(url, data=body, headers=headers) as response:
            text = await response.text()
            try:
                return response.status, json.loads(text)
            except ValueError:
                return response.status, text


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebhookTarget]:
    platforms = Platforms()
    svc = start_fuzz_service(
        Path(tmp_path_factory.mktemp("fuzz-webhooks")),
        platforms.tenants(),
        public_url=PUBLIC_URL,
    )
    target = WebhookTarget(svc, platforms)
    for platform in SIGNERS:
        svc.call(target.book(platform))
    yield target
    print(f"\nfuzz webhooks: cases={target.cases}")
    stop_fuzz_service(svc)


def leaf_paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    paths = [prefix]
    if isinstance(obj, dict):
        for key, value in obj.items():
            paths += leaf_paths(value, (*prefix, key))
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            paths += leaf_paths(value, (*prefix, i))
    return paths


@st.composite
def mutated(draw: st.DrawFn, base: Any) -> Any:
    obj = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 4))):
        paths = leaf_paths(obj)
        path = draw(st.sampled_from(paths))
        if not path:
            return draw(JSON)
        parent = obj
        for step in path[:-1]:
            parent = parent[step]
        action = draw(st.integers(0, 2))
        if action == 0 and isinstance(parent, dict):
            del parent[path[-1]]
        elif action == 1 and isinstance(parent, dict):
            parent[draw(st.text(max_size=10))] = draw(JSON)
        else:
            parent[path[-1]] = draw(JSON)
    return obj


@st.composite
def deliveries(draw: st.DrawFn, signer: PlatformSigner) -> tuple[str, bytes]:
    action = draw(st.sampled_from(signer.actions))
    ref = draw(st.sampled_from(["c-ref", "t-ref", "stranger", None]))
    path, body = signer.build(action, MEETINGS[signer.name], ref, draw(st.uuids()).hex)
    kind = draw(st.integers(0, 9))
    if kind == 0:
        if signer.name == "twilio":  # its signer reads the body as form text
            return path, draw(st.text(max_size=200)).encode()
        return path, draw(st.binary(max_size=200))
    if kind == 1:
        return path, body  # unchanged: a valid delivery (or its repeat)
    if signer.name == "twilio":
        params = dict(parse_qsl(body.decode(), keep_blank_values=True))
        text = st.text(max_size=40)
        changed = draw(mutated(params).filter(lambda p: isinstance(p, dict)))
        flat = {str(k): v if isinstance(v, str) else draw(text) for k, v in changed.items()}
        return path, urlencode(flat).encode()
    return path, json.dumps(draw(mutated(json.loads(body))), allow_nan=False).encode()


@pytest.mark.parametrize("platform", sorted(SIGNERS))
def test_signed_webhook_bodies_of_any_shape_never_fail_the_service(
    target: WebhookTarget, platform: str
) -> None:
    signer = target.platforms.signers[platform]

    @FUZZ
    @given(delivery=deliveries(signer))
    def run(delivery: tuple[str, bytes]) -> None:
        path, body = delivery
        status, answer = target.service.call(target.post(signer, path, body))
        target.cases[platform] = target.cases.get(platform, 0) + 1
        assert status < 500, (status, answer)
        if status != 200:
            assert status in (400, 404, 413), (status, answer)
            assert answer["error"]["code"] in REST_CODES, answer
        assert target.service.call(target.service.healthy())

    run()
