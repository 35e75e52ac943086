"""O2ims provisioning requests end to end on a simulated site (docs/provisioning.md): the shipped EKS node group
template on moto's EKS (with its node group states) whose nodes kubesim joins, and the shipped DTIAS bare-metal
template on the DTIAS simulator. The polls are run here by hand, as the schedule and the poll requests would."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any, cast

import boto3
import pytest

from chalicelib.adapters.store.provisioning_store import ProvisioningQuotaExceeded
from chalicelib.bootstrap import Components
from chalicelib.domain.provisioning_record import ProvisionedPool, ProvisioningRecord
from chalicelib.handlers import inventory as inventory_handlers
from chalicelib.services.provisioning_reconcile import _close_if_done as close_if_done
from chalicelib.services.provisioning_reconcile import reconcile_backend
from devtools.aws_requests import AwsRequestCounter
from devtools.dtias_sim import DtiasSim
from devtools.dtias_sim.process import PASSWORD
from devtools.token import mint_token
from tests.functional.conftest import SECRET, Api, assert_problem
from tests.functional.dtias_fixtures import dtias_adapter_yaml, running_sim
from tests.functional.eks_fixtures import eks_site
from tests.functional.inventory_fixtures import Site
from tests.functional.tenancy_fixtures import TENANT_SCOPES
from tests.waiting import wait_until

pytestmark = pytest.mark.xdist_group("provisioning-requests")

REQUESTS = "/o2ims-infrastructureProvisioning/v1/provisioningRequests"
INVENTORY = "/o2ims-infrastructureInventory/v1"
CLUSTER = "provisioning-demo"
PASSWORD_ENV = "NETWEAVE_TEST_DTIAS_PR_PASSWORD"
EKS, DTIAS = ("eks-nodegroup-pool", "1.0.0"), ("dtias-baremetal-pool", "1.0.0")


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DtiasSim]:
    yield from running_sim(tmp_path_factory.mktemp("dtias-pr"))


@pytest.fixture(scope="module")
def site(moto_url: str, sim: DtiasSim, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    dtias = dtias_adapter_yaml(sim, PASSWORD_ENV)
    os.environ[PASSWORD_ENV] = PASSWORD
    try:
        yield from eks_site(tmp_path_factory.mktemp("provisioning-requests"), CLUSTER, dtias, cidr="10.78")
    finally:
        os.environ.pop(PASSWORD_ENV, None)


@pytest.fixture()
def components(site: Site) -> Components:
    return site.components


@pytest.fixture(autouse=True)
def healthy_sim(sim: DtiasSim) -> Iterator[None]:
    yield
    sim.knob("settings", {"down": False, "failNextJob": None})


def body(template: tuple[str, str], parameters: dict[str, Any], request_id: str | None = None) -> dict[str, Any]:
    return {"provisioningRequestId": request_id or str(uuid.uuid4()), "name": "du pool", "description": "for vDUs",
            "templateName": template[0], "templateVersion": template[1], "templateParameters": parameters}


def settle(api: Api, components: Components, request_id: str, backend: str, phase: str,
           seen: list[str] | None = None, timeout: float = 60) -> dict[str, Any]:
    """Poll the backend (the reconciler runs in the poll) until the request reaches `phase`; every phase seen on the
    way is appended to `seen`."""
    def reached() -> dict[str, Any]:
        inventory_handlers.poll_inventory(components, backend)
        reply = api.get(f"{REQUESTS}/{request_id}")
        if reply.status == 404:
            return {"gone": True} if phase == "GONE" else {}
        current = reply.json()
        if seen is not None and (not seen or seen[-1] != current["status"]["provisioningPhase"]):
            seen.append(current["status"]["provisioningPhase"])
        return current if current["status"]["provisioningPhase"] == phase else {}

    return wait_until(reached, timeout=timeout, interval=0.1, what=f"request {request_id} {phase}")


def resolve_each(api: Api, request: dict[str, Any]) -> list[dict[str, Any]]:
    """Every resource id the request lists, read from the inventory under the pool the request names."""
    pools = request["extensions"]["resourcePoolIds"]
    found = []
    for resource_id in request["provisionedResourceSet"]["infrastructureResourceIds"]:
        replies = [api.get(f"{INVENTORY}/resourcePools/{pool}/resources/{resource_id}") for pool in pools]
        ok = [r.json() for r in replies if r.status == 200]
        assert len(ok) == 1, (resource_id, [r.status for r in replies])
        found.append(ok[0])
    return found


def test_an_eks_request_is_fulfilled_resized_and_released(api: Api, components: Components) -> None:
    parameters = {"poolName": "du-pool-a", "size": 2, "location": "edge-site-1", "instanceType": "m5.large",
                  "labels": {"ran.example/role": "du"},
                  "taints": [{"key": "ran.example/du", "value": "true", "effect": "NO_SCHEDULE"}]}
    created = api.request("POST", REQUESTS, body=body(EKS, parameters))
    assert created.status == 201, created.body
    request = created.json()
    request_id = request["provisioningRequestId"]
    assert created.header("location") == f"{REQUESTS}/{request_id}"
    assert request["status"]["provisioningPhase"] == "PENDING"
    assert request["provisioningRequestReference"] and request["templateParameters"] == parameters
    seen = ["PENDING"]
    fulfilled = settle(api, components, request_id, "edge-aws", "FULFILLED", seen)
    assert seen[0] == "PENDING" and "PROGRESSING" in seen and seen[-1] == "FULFILLED", seen
    nodes = resolve_each(api, fulfilled)
    assert len(nodes) == 2
    assert all(n["extensions"]["labels"]["ran.example/role"] == "du" for n in nodes)
    statuses = fulfilled["status"]["infrastructureResourceProvisioningStatus"]
    assert sorted(s["resourceId"] for s in statuses) == sorted(fulfilled["provisionedResourceSet"][
        "infrastructureResourceIds"]) and {s["resourceProvisioningPhase"] for s in statuses} == {"PROVISIONED"}
    group = boto3.client("eks").describe_nodegroup(clusterName=CLUSTER, nodegroupName="du-pool-a")["nodegroup"]
    assert group["taints"] == [{"key": "ran.example/du", "value": "true", "effect": "NO_SCHEDULE"}]

    bigger = api.request("PUT", f"{REQUESTS}/{request_id}",
                         body={**fulfilled, "templateParameters": {**parameters, "size": 3}})
    assert bigger.status == 200, bigger.body
    grown = settle(api, components, request_id, "edge-aws", "FULFILLED")
    assert len(resolve_each(api, grown)) == 3

    gone = api.request("DELETE", f"{REQUESTS}/{request_id}")
    assert gone.status == 202 and gone.json()["status"]["provisioningPhase"] == "DELETING"
    assert api.get(f"{REQUESTS}/{request_id}").json()["status"]["provisioningPhase"] == "DELETING"
    settle(api, components, request_id, "edge-aws", "GONE")
    assert "du-pool-a" not in boto3.client("eks").list_nodegroups(clusterName=CLUSTER)["nodegroups"]


@pytest.mark.parametrize(("parameters", "named"), [
    pytest.param({"size": -1}, "templateParameters.size", id="negative-size"),
    pytest.param({"size": 1, "colour": "red"}, "colour", id="unknown-parameter"),
    pytest.param({"size": 1, "taints": [{"key": "k", "effect": "SOMETIMES"}]}, "templateParameters.taints",
                 id="taint-effect"),
    pytest.param({"size": "two"}, "templateParameters.size", id="size-not-integer"),
])
def test_bad_parameters_are_refused_before_anything_is_created(api: Api, parameters: dict[str, Any],
                                                               named: str) -> None:
    sent = body(EKS, {"poolName": "never-made", **parameters})
    problem = assert_problem(api.request("POST", REQUESTS, body=sent), 400, named)
    assert any(named.rsplit(".", maxsplit=1)[-1] in p["name"] for p in problem["invalidParams"]), problem
    assert api.get(f"{REQUESTS}/{sent['provisioningRequestId']}").status == 404
    assert "never-made" not in boto3.client("eks").list_nodegroups(clusterName=CLUSTER)["nodegroups"]


def test_ids_templates_and_methods_are_checked(api: Api) -> None:
    sent = body(EKS, {"poolName": "ids-pool", "size": 0, "location": "edge-site-2"})
    assert api.request("POST", REQUESTS, body=sent).status == 201
    assert_problem(api.request("POST", REQUESTS, body=sent), 409, sent["provisioningRequestId"])
    other = {**sent, "provisioningRequestId": str(uuid.uuid4())}
    assert_problem(api.request("PUT", f"{REQUESTS}/{sent['provisioningRequestId']}", body=other), 422,
                   "cannot change")
    assert_problem(api.request("POST", REQUESTS, body=body(("no-such-template", "9"), {"size": 1})), 422,
                   "no-such-template")
    assert_problem(api.request("POST", REQUESTS, body={**sent, "provisioningRequestId": "not-a-uuid"}), 400,
                   "not a UUID")
    assert_problem(api.get(f"{REQUESTS}/{uuid.uuid4()}"), 404)
    assert api.request("PATCH", f"{REQUESTS}/{sent['provisioningRequestId']}", body={}).status == 405
    listed = api.get(f"{REQUESTS}?filter=(eq,templateName,{EKS[0]})").json()
    assert sent["provisioningRequestId"] in [r["provisioningRequestId"] for r in listed]
    pending = api.get(f"{REQUESTS}?exclude_fields=templateParameters,status/infrastructureResourceProvisioningStatus"
                      "&filter=(eq,status/provisioningPhase,PENDING)")
    assert pending.status == 200, pending.body
    mine = [r for r in pending.json() if r["provisioningRequestId"] == sent["provisioningRequestId"]]
    assert len(mine) == 1 and "templateParameters" not in mine[0], mine
    assert "infrastructureResourceProvisioningStatus" not in mine[0]["status"], mine
    assert all(r["status"]["provisioningPhase"] == "PENDING" for r in pending.json())
    assert api.request("DELETE", f"{REQUESTS}/{sent['provisioningRequestId']}").status == 202


def test_another_tenant_neither_sees_nor_changes_a_request(api: Api) -> None:
    sent = body(EKS, {"poolName": "tenant-pool", "size": 0, "location": "edge-site-2"})
    owner = mint_token(SECRET, TENANT_SCOPES | {"o2ims:write"}, subject=f"smo-{uuid.uuid4().hex[:6]}")
    other = mint_token(SECRET, TENANT_SCOPES | {"o2ims:write"}, subject=f"smo-{uuid.uuid4().hex[:6]}")
    assert api.request("POST", REQUESTS, body=sent, token=owner).status == 201
    path = f"{REQUESTS}/{sent['provisioningRequestId']}"
    assert api.get(path, token=other).status == 404
    assert sent["provisioningRequestId"] not in [r["provisioningRequestId"]
                                                 for r in api.get(REQUESTS, token=other).json()]
    assert api.request("DELETE", path, token=other).status == 404
    assert api.get(path, token=owner).status == 200
    assert api.request("DELETE", path, token=owner).status == 202


def test_a_dtias_request_is_fulfilled_grows_by_a_group_and_is_released(api: Api, components: Components) -> None:
    parameters = {"poolName": "bm-du-chi", "size": 1, "location": "dc-chicago-1",
                  "sourcePool": "dc-chicago-1-ran-du"}
    created = api.request("POST", REQUESTS, body=body(DTIAS, parameters))
    assert created.status == 201, created.body
    request_id = created.json()["provisioningRequestId"]
    seen = ["PENDING"]
    fulfilled = settle(api, components, request_id, "dc-fleet", "FULFILLED", seen)
    assert "PROGRESSING" in seen, seen
    assert len(resolve_each(api, fulfilled)) == 1
    grown = api.request("PUT", f"{REQUESTS}/{request_id}", body=body(DTIAS, {**parameters, "size": 3}, request_id))
    assert grown.status == 200, grown.body
    twice = settle(api, components, request_id, "dc-fleet", "FULFILLED")
    assert len(twice["extensions"]["resourcePoolIds"]) == 2
    assert len(resolve_each(api, twice)) == 3
    shrink = api.request("PUT", f"{REQUESTS}/{request_id}", body=body(DTIAS, {**parameters, "size": 1}, request_id))
    assert_problem(shrink, 422, "shrink")
    assert api.request("DELETE", f"{REQUESTS}/{request_id}").status == 202
    settle(api, components, request_id, "dc-fleet", "GONE")
    for pool_id in twice["extensions"]["resourcePoolIds"]:
        assert api.get(f"{INVENTORY}/resourcePools/{pool_id}").status == 404


def test_a_failed_dtias_job_fails_the_request_with_its_reason_and_a_put_retries_it(
        api: Api, components: Components, sim: DtiasSim) -> None:
    sim.knob("settings", {"failNextJob": "BIOS profile du-telco could not be applied"})
    sent = body(DTIAS, {"poolName": "bm-retry", "size": 1, "location": "dc-newark-1",
                        "sourcePool": "dc-newark-1-ran-du"})
    assert api.request("POST", REQUESTS, body=sent).status == 201
    request_id = sent["provisioningRequestId"]
    failed = settle(api, components, request_id, "dc-fleet", "FAILED")
    assert "BIOS profile du-telco could not be applied" in failed["status"]["message"]
    assert api.request("PUT", f"{REQUESTS}/{request_id}", body=sent).status == 200
    settle(api, components, request_id, "dc-fleet", "FULFILLED")
    assert api.request("DELETE", f"{REQUESTS}/{request_id}").status == 202
    settle(api, components, request_id, "dc-fleet", "GONE")


def test_too_many_servers_is_failed_as_awaiting_free_resources(api: Api, components: Components) -> None:
    sent = body(DTIAS, {"poolName": "bm-huge", "size": 40, "location": "dc-newark-1",
                        "sourcePool": "dc-newark-1-ran-du"})
    assert api.request("POST", REQUESTS, body=sent).status == 201
    failed = settle(api, components, sent["provisioningRequestId"], "dc-fleet", "FAILED")
    assert "insufficient free resources" in failed["status"]["message"]
    phases = {s["resourceProvisioningPhase"] for s in failed["status"]["infrastructureResourceProvisioningStatus"]}
    assert phases == {"AWAITING_FREE_RESOURCES"}
    assert api.request("DELETE", f"{REQUESTS}/{sent['provisioningRequestId']}").status == 202
    settle(api, components, sent["provisioningRequestId"], "dc-fleet", "GONE")


def test_the_pool_extension_records_a_request_that_follows_the_pool(api: Api, components: Components) -> None:
    created = api.request("POST", "/o2ims/v1/resourcePools", body={
        "name": "shorthand-pool", "location": "edge-site-3", "extensions": {"instanceType": "m5.large",
                                                                            "replicas": 1}})
    assert created.status == 201, created.body
    link = created.header("link") or ""
    assert link.startswith(f"<{REQUESTS}/") and link.endswith('>; rel="related"'), link
    request_path = link[1:link.index(">")]
    request_id = request_path.rsplit("/", 1)[1]
    request = api.get(request_path).json()
    assert (request["templateName"], request["templateParameters"]["size"]) == ("eks-nodegroup-pool", 1)
    assert request["extensions"]["resourcePoolIds"] == [created.json()["resourcePoolId"]]
    fulfilled = settle(api, components, request_id, "edge-aws", "FULFILLED")
    assert len(resolve_each(api, fulfilled)) == 1
    assert api.request("DELETE", f"/o2ims/v1/resourcePools/{created.json()['resourcePoolId']}").status == 204
    assert api.get(request_path).json()["status"]["provisioningPhase"] == "DELETING"
    settle(api, components, request_id, "edge-aws", "GONE")


def test_a_tenant_holds_at_most_its_quota_of_requests(components: Components) -> None:
    def record(owner: str) -> ProvisioningRecord:
        return ProvisioningRecord(
            data=body(EKS, {"size": 1}), reference=str(uuid.uuid4()), owner=owner, backend="edge-aws",
            kind="eks-nodegroup", pool_fields={}, pools=[ProvisionedPool(name="q", size=1)],
            status={"updateTime": "2026-12-07T00:00:00Z", "message": "", "provisioningPhase": "PENDING"})

    store, tenant = components.provisioning_store, f"quota-{uuid.uuid4().hex[:6]}"
    first = record(tenant)
    store.create(first, 1)
    with pytest.raises(ProvisioningQuotaExceeded, match="at most 1"):
        store.create(record(tenant), 1)
    store.create(record(f"{tenant}-other"), 1)  # another tenant's quota is its own
    stored = store.get(first.request_id)
    assert stored is not None and store.remove(stored)
    assert not store.remove(stored)  # an overlapping poll removing it again: nothing to do, no error
    store.create(record(tenant), 1)  # the deleted request gave its place back


def test_reconciling_an_unchanged_request_costs_one_read_per_thing_it_checks(api: Api, components: Components) -> None:
    """What a poll pays per open request (docs/performance.md): the request, one progress call and one byParent query
    per pool; no write when nothing changed (here only the open set's update and a re-read, as the request is
    done)."""
    sent = body(EKS, {"poolName": "counted-pool", "size": 1, "location": "edge-site-4"})
    assert api.request("POST", REQUESTS, body=sent).status == 201
    request_id = sent["provisioningRequestId"]
    settle(api, components, request_id, "edge-aws", "FULFILLED")
    provisioning = components.provisioning_ports()
    provisioning.store.mark_open("edge-aws", request_id)  # as if a poll had not seen it done yet
    adapter = cast(Any, components.ims_registry.get("edge-aws"))
    counter = AwsRequestCounter().attach(components.clients.dynamodb, adapter._clients().eks)
    report = reconcile_backend(provisioning, "edge-aws", [request_id])
    assert (report.checked, report.changed, report.finished, report.moved) == (1, 0, 0, False)
    assert counter.summary("eks") == "1 (DescribeNodegroup 1)"
    assert counter.summary("dynamodb") == "4 (GetItem 2, Query 1, UpdateItem 1)"  # closing re-reads it
    assert "edge-aws" not in provisioning.store.open_requests()  # the done request left the open set
    assert api.request("DELETE", f"{REQUESTS}/{request_id}").status == 202
    settle(api, components, request_id, "edge-aws", "GONE")


def test_a_delete_racing_the_close_of_a_fulfilled_request_is_not_lost(api: Api, components: Components) -> None:
    """A poll closes a request it saw FULFILLED just as the SMO deletes it: the API's reopen may land before the close
    (seen once on the local stack: the request stayed DELETING for good). The close re-reads and keeps it open."""
    sent = body(EKS, {"poolName": "raced-pool", "size": 0, "location": "edge-site-6"})
    assert api.request("POST", REQUESTS, body=sent).status == 201
    request_id = sent["provisioningRequestId"]
    settle(api, components, request_id, "edge-aws", "FULFILLED")
    provisioning = components.provisioning_ports()
    seen_fulfilled = provisioning.store.get(request_id)
    assert seen_fulfilled is not None
    assert api.request("DELETE", f"{REQUESTS}/{request_id}").status == 202  # reopens it...
    assert not close_if_done(provisioning, seen_fulfilled)  # ...then the slower poll closes what it saw
    assert request_id in provisioning.store.open_requests()["edge-aws"]
    settle(api, components, request_id, "edge-aws", "GONE")
