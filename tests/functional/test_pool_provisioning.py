"""Use case 1, step 2, on a real simulated site: a pool created with the seed's body becomes an EKS node group
(moto, with EKS's node group states) whose nodes kubesim's node-group controller joins to the cluster; the pool is
`provisioning` until every desired node is Ready, then `ready`; PATCH resizes it, DELETE drains and removes it.
The nodes are listed once, as resources of the pool the SMO created (docs/aws-backend.md)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from chalicelib.adapters.ims.aws import AwsInventoryAdapter
from chalicelib.adapters.ims.port import InventoryContext, PoolRequest
from chalicelib.bootstrap import Components
from chalicelib.domain.errors import Conflict
from chalicelib.handlers import inventory as inventory_handlers
from chalicelib.settings import AdapterConfig
from devtools.moto_aws import CONTROLLER_TAG
from tests.functional.conftest import Api, assert_problem
from tests.functional.eks_fixtures import eks_site
from tests.functional.inventory_fixtures import Site
from tests.waiting import wait_until

pytestmark = pytest.mark.xdist_group("pool-provisioning")

POOLS = "/o2ims/v1/resourcePools"
INVENTORY = "/o2ims-infrastructureInventory/v1"
CLUSTER = "pools-demo"
SEED_BODY: dict[str, Any] = {"name": "vdu-pool", "location": "edge-site-1",
                             "extensions": {"instanceType": "c5.metal", "replicas": 3, "cpuPinning": True}}


@pytest.fixture(scope="module")
def site(moto_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """An EKS cluster kubesim stands for, on a moto server with EKS's node group states (devtools/moto_aws.py)."""
    yield from eks_site(tmp_path_factory.mktemp("provisioning"), CLUSTER, extra_clusters=("unplayed",))


@pytest.fixture()
def components(site: Site) -> Components:
    return site.components


def polled_pool(api: Api, components: Components, pool_id: str) -> dict[str, Any] | None:
    inventory_handlers.poll_inventory(components)
    reply = api.get(f"{INVENTORY}/resourcePools/{pool_id}")
    return reply.json() if reply.status == 200 else None


def wait_for_status(api: Api, components: Components, pool_id: str, status: str, nodes: int) -> dict[str, Any]:
    def reached() -> dict[str, Any]:
        pool = polled_pool(api, components, pool_id) or {}
        ext = pool.get("extensions", {})
        return pool if (ext.get("status"), ext.get("readyNodes"), ext.get("desiredNodes")) == (status, nodes, nodes) \
            else {}

    return wait_until(reached, timeout=30, interval=0.1, what=f"pool {status} with {nodes} nodes")


def pool_resources(api: Api, pool_id: str) -> list[dict[str, Any]]:
    listed = api.get(f"{INVENTORY}/resourcePools/{pool_id}/resources").json()
    return [r for r in listed if "parentId" not in r]  # the nodes, not their components


def create(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    reply = api.request("POST", POOLS, body=body)
    assert reply.status == 201, reply.body
    return reply.json()  # type: ignore[no-any-return]


def test_the_seeds_pool_provisions_then_is_ready_with_every_node_listed_once(api: Api, components: Components) -> None:
    pool = create(api, SEED_BODY)  # no backend named: routing.ims sends edge-* locations to edge-aws
    ext = pool["extensions"]
    assert (ext["status"], ext["readyNodes"], ext["desiredNodes"], ext["cpuPinning"], pool["location"]) == (
        "provisioning", 0, 3, True, "edge-site-1")
    ready = wait_for_status(api, components, pool["resourcePoolId"], "ready", 3)
    assert ready["extensions"]["nodegroupStatus"] == "ACTIVE"
    nodes = pool_resources(api, pool["resourcePoolId"])
    assert len(nodes) == 3 and all(n["extensions"]["ready"] for n in nodes)
    assert {n["extensions"]["labels"]["node.kubernetes.io/instance-type"] for n in nodes} == {"c5.metal"}
    assert all(n["extensions"]["labels"]["cpumanager"] == "true" for n in nodes)  # the kubelet pins CPUs
    names = {n["extensions"]["name"] for n in nodes}
    every_pool = [p["resourcePoolId"] for p in api.get(f"{INVENTORY}/resourcePools").json()]
    listed = [n["extensions"].get("name") for p in every_pool for n in pool_resources(api, p)]
    assert sorted(name for name in listed if name in names) == sorted(names)  # once each, in no other pool
    group = boto3.client("eks").describe_nodegroup(clusterName=CLUSTER, nodegroupName="vdu-pool")["nodegroup"]
    template = boto3.client("ec2").describe_launch_template_versions(
        LaunchTemplateId=group["launchTemplate"]["id"])["LaunchTemplateVersions"][0]["LaunchTemplateData"]
    assert "cpuManagerPolicy: static" in base64.b64decode(template["UserData"]).decode()
    assert api.request("DELETE", f"{POOLS}/{pool['resourcePoolId']}").status == 204


def test_resize_up_and_down(api: Api, components: Components) -> None:
    pool = create(api, {"name": "cu-pool", "location": "edge-site-2",
                        "extensions": {"instanceType": "m5.large", "replicas": 1}})
    pool_id = pool["resourcePoolId"]
    wait_for_status(api, components, pool_id, "ready", 1)
    grown = api.request("PATCH", f"{POOLS}/{pool_id}", body={"extensions": {"replicas": 3}})
    assert grown.status == 200 and grown.json()["extensions"]["desiredNodes"] == 3
    wait_for_status(api, components, pool_id, "ready", 3)
    assert api.request("PATCH", f"{POOLS}/{pool_id}", body={"extensions": {"replicas": 1}}).status == 200
    wait_for_status(api, components, pool_id, "ready", 1)
    assert len(pool_resources(api, pool_id)) == 1
    assert api.request("DELETE", f"{POOLS}/{pool_id}").status == 204


def test_delete_drains_every_node_then_the_pool_is_gone(api: Api, components: Components, site: Site) -> None:
    pool = create(api, {**SEED_BODY, "name": "gone-pool", "extensions": {"instanceType": "m5.large", "replicas": 2}})
    pool_id = pool["resourcePoolId"]
    wait_for_status(api, components, pool_id, "ready", 2)
    assert api.request("DELETE", f"{POOLS}/{pool_id}").status == 204
    wait_until(lambda: polled_pool(api, components, pool_id) is None, timeout=30, interval=0.1, what="pool gone")

    def group_nodes(cluster: Any) -> list[str]:
        return [n["metadata"]["name"] for n in cluster.store.objects(("", "nodes"))
                if n["metadata"]["labels"].get("eks.amazonaws.com/nodegroup") == "gone-pool"]

    assert site.kubesim.call(group_nodes) == []
    assert api.get(f"{INVENTORY}/resourcePools/{pool_id}/resources").status == 404


@pytest.mark.parametrize(("extensions", "field"), [
    pytest.param({"instanceType": "c5.metal", "replicas": 1, "cpuPinning": "yes"}, "extensions.cpuPinning",
                 id="cpuPinning-not-boolean"),
    pytest.param({"instanceType": "t2.nano", "replicas": 1, "cpuPinning": True}, "has 1 vCPU", id="one-vcpu"),
    pytest.param({"instanceType": "c5.metal", "replicas": 1, "cpuPinning": True,
                  "amiType": "WINDOWS_CORE_2022_x86_64"}, "no static CPU manager", id="windows"),
    pytest.param({"instanceType": "c9.nonexistent", "replicas": 1}, "extensions.instanceType", id="instance-type"),
])
def test_seed_bodies_that_cannot_be_honoured_are_422_naming_the_field(api: Api, extensions: dict[str, Any],
                                                                      field: str) -> None:
    reply = api.request("POST", POOLS, body={"name": "bad-pool", "location": "edge-site-1", "extensions": extensions})
    assert_problem(reply, 422, field)
    groups = boto3.client("eks").list_nodegroups(clusterName=CLUSTER)["nodegroups"]
    assert "bad-pool" not in groups


def test_routing_sends_other_locations_to_the_default_and_imsAdapter_overrides_it(api: Api,
                                                                                 components: Components) -> None:
    default = api.request("POST", POOLS, body={"name": "core-pool", "location": "core-site-1",
                                                "extensions": {"instanceType": "m5.large", "replicas": 0}})
    assert_problem(default, 501, "site-k8s")  # the default backend (a cluster) cannot create pools
    named = create(api, {"name": "core-pool", "location": "core-site-1",
                         "extensions": {"instanceType": "m5.large", "replicas": 0, "imsAdapter": "edge-aws"}})
    assert named["extensions"]["clusterName"] == CLUSTER
    wait_for_status(api, components, named["resourcePoolId"], "ready", 0)  # listed: a poll has seen it
    assert api.request("DELETE", f"{POOLS}/{named['resourcePoolId']}").status == 204


def test_a_node_group_that_is_not_active_refuses_a_resize_with_409(site: Site) -> None:
    """As EKS: a node group changes only while ACTIVE. A cluster no controller plays keeps its groups CREATING."""
    eks = boto3.client("eks")
    subnets = eks.describe_cluster(name=CLUSTER)["cluster"]["resourcesVpcConfig"]["subnetIds"]
    eks.create_cluster(name="unplayed", version="1.31", roleArn="arn:aws:iam::123456789012:role/eks",
                       resourcesVpcConfig={"subnetIds": subnets}, tags={CONTROLLER_TAG: "kubesim"})
    adapter = AwsInventoryAdapter(AdapterConfig(id="edge-aws", type="aws", options={
        "clusters": ["unplayed"], "nodeRoleArn": "arn:aws:iam::123456789012:role/eks-nodes"}))
    context = InventoryContext("ocloud")
    pool = adapter.create_resource_pool(PoolRequest(name="waiting", extensions={"instanceType": "m5.large",
                                                                                "replicas": 1}), context)
    assert pool.extensions["status"] == "provisioning"
    with pytest.raises(Conflict, match="not in Active State"):
        adapter.update_resource_pool(pool.resource_pool_id, PoolRequest(name="waiting", replicas=2), context)
    adapter.delete_resource_pool(pool.resource_pool_id)
    group = eks.describe_nodegroup(clusterName="unplayed", nodegroupName="waiting")["nodegroup"]
    assert group["status"] == "DELETING"  # until its nodes are gone
