"""Issue 22's "done when", on the running local stack as an SMO uses it over HTTP: a provisioning request for each
shipped template goes PENDING -> PROGRESSING -> FULFILLED, every resource id it lists is in the inventory, a bigger
size is provisioned too, a deletion ends in 404 with the pool gone, and bad parameters are refused before anything
is created. The time each template takes is printed (docs/provisioning.md quotes it)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import LocalStack, eventually

pytestmark = pytest.mark.xdist_group("stack")
REQUESTS = "/o2ims-infrastructureProvisioning/v1/provisioningRequests"
INVENTORY = "/o2ims-infrastructureInventory/v1"
TEMPLATES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "eks": ("eks-nodegroup-pool", "1.0.0", {"size": 2, "location": "edge-site-9", "instanceType": "m5.large"}),
    "dtias": ("dtias-baremetal-pool", "1.0.0", {"size": 1, "location": "dc-chicago-1",
                                                     "sourcePool": "dc-chicago-1-ran-du"}),
}


def watch(client: httpx.Client, request_id: str, until: str, timeout: float = 180) -> tuple[list[str], Any]:
    """GET the request every 0.25 s until its phase is `until` (or it answers 404, for "GONE"); the phases seen."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reply = client.get(f"{REQUESTS}/{request_id}")
        if reply.status_code == 404 and until == "GONE":
            return seen, None
        assert reply.status_code == 200, reply.text
        phase = reply.json()["status"]["provisioningPhase"]
        if not seen or seen[-1] != phase:
            seen.append(phase)
        if phase == until:
            return seen, reply.json()
        assert phase != "FAILED", reply.json()["status"]
        time.sleep(0.25)
    raise AssertionError(f"request {request_id} never reached {until}; phases seen: {seen}")


def resolves(client: httpx.Client, request: dict[str, Any]) -> int:
    pools = request["extensions"]["resourcePoolIds"]
    ids = request["provisionedResourceSet"]["infrastructureResourceIds"]
    for resource_id in ids:
        found = [client.get(f"{INVENTORY}/resourcePools/{p}/resources/{resource_id}").status_code for p in pools]
        assert found.count(200) == 1, (resource_id, found)
    return len(ids)


@pytest.mark.timeout(900)
@pytest.mark.parametrize("kind", ["eks", "dtias"])
def test_each_shipped_template_is_provisioned_resized_and_released(stack: LocalStack, kind: str) -> None:
    name, version, parameters = TEMPLATES[kind]
    request_id = str(uuid.uuid4())
    sent: dict[str, Any] = {"provisioningRequestId": request_id, "name": f"{kind} pool", "description": "issue 22 e2e",
            "templateName": name, "templateVersion": version,
            "templateParameters": {**parameters, "poolName": f"pr-e2e-{kind}-{request_id[:6]}"}}
    with stack.client() as client:
        started = time.monotonic()
        created = client.post(REQUESTS, json=sent)
        assert created.status_code == 201, created.text
        assert created.json()["status"]["provisioningPhase"] == "PENDING"
        seen, fulfilled = watch(client, request_id, "FULFILLED")
        took = time.monotonic() - started
        assert seen[-1] == "FULFILLED" and "PROGRESSING" in ["PENDING", *seen], seen
        assert resolves(client, fulfilled) == parameters["size"]

        started = time.monotonic()
        bigger = {**sent, "templateParameters": {**sent["templateParameters"], "size": parameters["size"] + 1}}
        assert client.put(f"{REQUESTS}/{request_id}", json=bigger).status_code == 200
        _, grown = watch(client, request_id, "FULFILLED")
        took_resize = time.monotonic() - started
        assert resolves(client, grown) == parameters["size"] + 1

        started = time.monotonic()
        deleted = client.delete(f"{REQUESTS}/{request_id}")
        assert deleted.status_code == 202 and deleted.json()["status"]["provisioningPhase"] == "DELETING"
        watch(client, request_id, "GONE")
        took_delete = time.monotonic() - started
        pools = grown["extensions"]["resourcePoolIds"]
        assert eventually(lambda: all(client.get(f"{INVENTORY}/resourcePools/{p}").status_code == 404
                                      for p in pools)), f"pools {pools} still listed"
    print(f"\n{name} {version}: FULFILLED in {took:.1f} s (phases {' -> '.join(dict.fromkeys(['PENDING', *seen]))}); "
          f"resize {took_resize:.1f} s; deletion {took_delete:.1f} s")


def test_bad_parameters_are_refused_naming_them_and_nothing_is_created(stack: LocalStack) -> None:
    request_id = str(uuid.uuid4())
    sent = {"provisioningRequestId": request_id, "name": "bad", "description": "", "templateName":
            "eks-nodegroup-pool", "templateVersion": "1.0.0", "templateParameters": {"size": -3, "colour": "red"}}
    with stack.client() as client:
        refused = client.post(REQUESTS, json=sent)
        assert refused.status_code == 400, refused.text
        problem = refused.json()
        assert "templateParameters.size" in problem["detail"] and "colour" in problem["detail"]
        assert client.get(f"{REQUESTS}/{request_id}").status_code == 404
