"""The contract check of issue 19 (docs/o2-conformance.md): schemathesis generates requests from each of the peer's
OpenAPI files (tests/contract/peer, references made local) for every operation, GETs, subscription POST and DELETE,
the alarm PATCH and the alarm service configuration included, and sends them to the running local stack.

Positive mode: no 5xx, no status the peer does not document, no body its schema refuses beyond the deviations
docs/o2-conformance.md declares. Negative mode (values, types and bodies the peer's file forbids): every answer is a
4xx ProblemDetails. Half the positive cases are pointed at objects the stack holds, so item answers are validated
bodies rather than 404s; subscriptions are made to a local receiver and deleted by the end of the run."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup

from devtools.smo_receiver import Receiver, serve
from tests.contract.peer_cases import (
    SUBSCRIPTION_IDS,
    Known,
    external_refs,
    negative_checks,
    operations,
    positive_checks,
    strategy,
)
from tests.e2e.conftest import LocalStack
from tests.e2e.test_alarms_live import MONITORING, kubectl, set_disk_pressure
from tests.e2e.test_notifications_live import FIRST_EVENTS_SECONDS
from tests.peer_schema import self_contained
from tests.waiting import wait_until

pytestmark = pytest.mark.xdist_group("stack")
# The peer's files and how many operations each defines (a refreshed copy that adds one shows here first).
PEER_FILES = {"inventory-v1.yaml": 22, "inventory-v2.yaml": 22, "monitoring-v1.yaml": 12}
# Examples per operation and mode: the three files' ~1000 requests stay within ~120 s on two shared cores.
EXAMPLES = 8


@pytest.fixture(scope="module")
def callback() -> Iterator[str]:
    """A receiver on this machine (the stack's callback policy allows plain http to loopback only)."""
    server = serve(Receiver(secrets=[], echo=False))
    yield f"http://127.0.0.1:{server.server_address[1]}/contract/{uuid.uuid4().hex[:8]}"
    server.shutdown()


@pytest.fixture(scope="module")
def raised_alarm(stack: LocalStack) -> Iterator[None]:
    """An alarm to read and PATCH (the stack starts with none): disk pressure on a node the alarm tests leave alone
    (they use the first and the last), set back when the run is over."""
    nodes = [n["metadata"]["name"] for n in json.loads(kubectl(stack, "get", "nodes", "-o", "json"))["items"]]
    node = nodes[len(nodes) // 2]
    set_disk_pressure(stack, node, "True", reason="ContractCheck")
    try:
        with stack.client() as client:
            wait_until(lambda: client.get(f"{MONITORING}/alarms").json(), timeout=FIRST_EVENTS_SECONDS, interval=1,
                       what=f"an alarm for the disk pressure of {node}")
        yield
    finally:
        set_disk_pressure(stack, node, "False", reason="ContractCheck")


# The session stack's start (up to 300 s) counts against the first stack test of a worker; the run itself is ~30 s.
@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", PEER_FILES)
def test_a_peer_client_meets_the_contract_on_the_local_stack(
    stack: LocalStack, callback: str, name: str, capsys: pytest.CaptureFixture[str], request: pytest.FixtureRequest
) -> None:
    if name.startswith("monitoring"):
        request.getfixturevalue("raised_alarm")
    document = self_contained(name)
    assert external_refs(document) == []  # the peer's `../../common` references now point inside the document
    found = list(operations(schemathesis.openapi.from_dict(document)))
    assert len(found) == PEER_FILES[name]
    started, counts = time.monotonic(), Counter[str]()
    failures: list[str] = []
    created: list[str] = []  # every subscription the run made, as its path
    with stack.client() as client:
        known = Known(client, document, callback)
        saved = _configurations(client, document)
        try:
            for mode, checks in ((GenerationMode.POSITIVE, positive_checks(name)),
                                 (GenerationMode.NEGATIVE, negative_checks(name))):
                for operation in found:
                    try:
                        _fuzzer(operation, mode, checks, known, stack, counts, created)()
                    except Unsatisfiable:  # negative mode: nothing in this operation to break (no parameters)
                        assert mode is GenerationMode.NEGATIVE, operation.label
                    # every operation runs and all failures are reported together (schemathesis groups its
                    # failures in a BaseExceptionGroup)
                    except (Exception, FailureGroup) as failed:
                        failures.append(f"{operation.label} ({mode.value}): {failed}"[:1500])
        finally:
            left = [path for path in created if client.delete(path).status_code not in (200, 204, 404)
                    or client.get(path).status_code != 404]
            restored = {path: client.put(path, json=body).status_code for path, body in saved.items()}
            with capsys.disabled():
                print(f"\ncontract {name}: {len(found)} operations, {counts['requests']} requests, "
                      f"{len(failures)} failures ({len(created)} subscriptions made and deleted, "
                      f"{time.monotonic() - started:.0f} s)")
    assert failures == [], "\n".join(failures)
    assert left == [], "subscriptions the run made are still there"
    assert set(restored.values()) <= {200}, f"the configuration the run changed was not put back: {restored}"


def _fuzzer(operation: Any, mode: GenerationMode, checks: list[Any], known: Known, stack: LocalStack,
            counts: Counter[str], created: list[str]) -> Any:
    headers = {"Authorization": f"Bearer {stack.token}"}

    @given(case=strategy(operation, mode, known))
    # No shrinking: a failure is reported as found (shrinking replays it against the stack, for minutes)
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None,
              phases=[Phase.explicit, Phase.generate])
    def exercise(case: Any) -> None:
        response = case.call(base_url=stack.api, headers=headers)
        counts["requests"] += 1
        if response.status_code == 201:
            made = response.json()
            for id_name in SUBSCRIPTION_IDS:
                if id_name in made:
                    known.created.setdefault(id_name, []).append(made[id_name])
                    created.append(f"{case.operation.path}/{made[id_name]}")
        case.validate_response(response, checks=checks)

    return exercise


def _configurations(client: httpx.Client, document: dict[str, Any]) -> dict[str, Any]:
    """What a PUT of the run replaces (the alarm service configuration), to put back afterwards: the stack is
    shared with other tests."""
    return {path: client.get(path).json() for path, item in document["paths"].items() if "put" in item}
