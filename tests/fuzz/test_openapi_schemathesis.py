"""Schemathesis against the OpenAPI document the service serves (`/api/v1/openapi.json`),
with a valid API key: for every operation, positive (valid) and negative (invalid) cases get no
5xx, and every response matches the status codes, content type and schema the document declares.

Schemathesis' own pytest plugin does not run under pytest 9 yet, so each operation's
hypothesis strategy is driven here directly.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given

from service.http.openapi import build_openapi
from tests.fuzz.figures import report
from tests.fuzz.harness import FuzzService, start_fuzz_service, stop_fuzz_service
from tests.fuzz.profiles import FUZZ
from tests.support import API_KEY

schemathesis = pytest.importorskip("schemathesis")
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import (  # noqa: E402
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.fuzz

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Operation labels, for test ids; the cases come from the document the service serves.
OPERATIONS = [
    f"{method.upper()} {path}"
    for path, item in build_openapi()["paths"].items()
    for method in item
    if method in ("get", "post", "put", "patch", "delete")
    # Loaded from its own URL, schemathesis leaves out the operation that serves the document.
    and path != "/api/v1/openapi.json"
]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzService]:
    svc = start_fuzz_service(Path(tmp_path_factory.mktemp("fuzz-openapi")))
    yield svc
    stop_fuzz_service(svc)


@pytest.fixture(scope="module")
def served(service: FuzzService) -> Any:
    return schemathesis.openapi.from_url(f"{service.url}/api/v1/openapi.json")


@pytest.fixture(scope="module")
def session_id(service: FuzzService) -> str:
    """A real session, so that path parameters can hit one (most cases are 404s, as they
    should be)."""
    return str(service.call(service.api.create(1))["session"]["id"])


@pytest.mark.parametrize("mode", ["positive", "negative"])
@pytest.mark.parametrize("label", OPERATIONS)
def test_the_api_honours_its_own_openapi_document(
    served: Any, service: FuzzService, session_id: str, label: str, mode: str
) -> None:
    method, path = label.split(" ", 1)
    operation = next(
        r.ok()
        for r in served.get_all_operations()
        if r.ok().method.upper() == method and r.ok().path == path
    )
    strategy = operation.as_strategy(generation_mode=GenerationMode(mode))
    if mode == "negative" and not operation.body and not operation.query:
        pytest.skip("nothing to make invalid but the path")

    cases = 0

    @FUZZ
    @given(case=strategy)
    def run(case: Any) -> None:
        nonlocal cases
        cases += 1
        params = case.path_parameters or {}
        # Half the positive cases aim at the real session.
        if mode == "positive" and "session_id" in params and len(str(params["session_id"])) % 2:
            params["session_id"] = session_id
        case.call_and_validate(
            base_url=service.url, headers={"Authorization": f"Bearer {API_KEY}"}, checks=CHECKS
        )

    run()
    report(f"schemathesis {label} {mode}: cases={cases}")
