"""The `netweave provision` command against the running local stack, as an operator types it: a provisioning request
for an EKS node group pool followed with --wait to FULFILLED (a progress line per phase), its resources found in the
inventory through the library, refused parameters printed one per line, and the deletion followed to the 404."""

from __future__ import annotations

import json
import uuid

import pytest
from netweave_client import Client, NotFound

from tests.e2e.conftest import LocalStack
from tests.e2e.test_client_live import netweave

pytestmark = pytest.mark.xdist_group("stack")


@pytest.mark.timeout(600)
def test_the_cli_provisions_a_pool_and_releases_it(stack: LocalStack) -> None:
    request_id = str(uuid.uuid4())
    listed = netweave(stack, "provision", "templates", "-o", "json")
    assert listed.returncode == 0, listed.stderr
    assert {("eks-nodegroup-pool", "1.0.0"), ("dtias-baremetal-pool", "1.0.0")} <= {
        (t["name"], t["version"]) for t in json.loads(listed.stdout)}
    created = netweave(stack, "provision", "create", "--template", "eks-nodegroup-pool:1.0.0", "--param", "size=1",
                       "--param", "location=edge-site-5", "--param", f"poolName=cli-e2e-{request_id[:6]}",
                       "--id", request_id, "--wait", "-o", "json")
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["status"]["provisioningPhase"] == "PENDING"
    progress = [line.strip() for line in created.stderr.splitlines()]
    assert progress[0].startswith(f"waiting for provisioning request {request_id}")
    assert any(line.startswith("FULFILLED ") for line in progress), progress
    assert progress[-1] == f"provisioning request {request_id} FULFILLED"

    with Client(stack.api, stack.token) as nw:
        fulfilled = nw.provisioning.requests.get(request_id)
        [node] = fulfilled.provisioned_resource_set.infrastructure_resource_ids or []
        [pool] = (fulfilled.extensions or {})["resourcePoolIds"]
        assert nw.inventory.resource(pool, node).resource_id == node

    refused = netweave(stack, "provision", "create", "-t", "eks-nodegroup-pool:1.0.0", "--param", "size=-1",
                       "--param", "colour=red")
    assert refused.returncode == 1
    colour, size = refused.stderr.splitlines()[:2]  # each refused parameter on its own line, sorted by name
    assert colour.startswith("invalid templateParameters.colour: is not a parameter of template")
    assert size == "invalid templateParameters.size: -1 is less than the minimum of 0"

    deleted = netweave(stack, "provision", "delete", request_id, "--wait")
    assert deleted.returncode == 0, deleted.stderr
    assert deleted.stderr.splitlines()[-1].strip() == f"provisioning request {request_id} gone"
    with Client(stack.api, stack.token) as nw, pytest.raises(NotFound):
        nw.provisioning.requests.get(request_id)
