"""The quick contract check of issue 19 (docs/o2-conformance.md): schemathesis generates requests from the peer's
`inventory-v2.yaml` (tests/contract/peer) for every GET operation and sends them to the running local stack; no
answer may be a 5xx, a status the peer does not document, or a body its schema refuses beyond the declared
deviations."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import status_code_conformance
from schemathesis.core.result import Ok

from tests.e2e.conftest import LocalStack
from tests.peer_schema import response_errors, self_contained

pytestmark = pytest.mark.xdist_group("stack")
PEER_FILE = "inventory-v2.yaml"


def no_server_error(ctx: Any, response: Any, case: Any) -> bool | None:
    if response.status_code >= 500:
        raise AssertionError(f"server error {response.status_code}: {response.text[:300]}")
    return None


def peer_schema_conformance(ctx: Any, response: Any, case: Any) -> bool | None:
    """The peer's 200 schema, tolerating only the deviations docs/o2-conformance.md declares (an `exclude_fields`
    the client sends may remove a required attribute: deviation 8)."""
    if response.status_code == 200 and "exclude_fields" not in (case.query or {}):
        errors = response_errors(PEER_FILE, case.operation.path, response.json())
        assert errors == [], f"{case.operation.label}: {errors[:3]}"
    return None


def test_the_peer_v2_client_reads_the_local_o_cloud_within_the_contract(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    schema = schemathesis.openapi.from_dict(self_contained(PEER_FILE))
    operations = [r.ok() for r in schema.get_all_operations() if isinstance(r, Ok) and r.ok().method == "get"]
    assert len(operations) == 20
    headers = {"Authorization": f"Bearer {stack.token}"}
    counts = {"requests": 0}
    checks = [no_server_error, status_code_conformance, peer_schema_conformance]
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def exercise(case: Any) -> None:
            response = case.call(base_url=stack.api, headers=headers)
            counts["requests"] += 1
            case.validate_response(response, checks=checks)

        exercise()
    with capsys.disabled():
        print(f"\npeer contract ({PEER_FILE}): {len(operations)} GET operations, {counts['requests']} requests")
