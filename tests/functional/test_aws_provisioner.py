"""The `aws` backend's PoolProvisioner (provisioning requests, docs/aws-backend.md "Provisioning requests") against
moto with EKS's node group states (devtools/moto_aws.py) and kubesim playing EKS's node group controller: a begun
node group goes progressing -> ready, resizes, fails with its health issues, and is deleted to `gone`; a retry with
the same token starts nothing new; each progress check is one EKS request."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer

from chalicelib.adapters.ims.aws import AwsInventoryAdapter
from chalicelib.adapters.ims.aws_provisioning import TOKEN_TAG
from chalicelib.adapters.ims.port import BackendProgress, InventoryContext, PoolProvisioner, PoolRequest
from chalicelib.domain.errors import BadRequest, Conflict
from chalicelib.domain.inventory import ObjectType
from chalicelib.domain.ownership import NotOwned
from chalicelib.settings import AdapterConfig
from devtools.aws_requests import AwsRequestCounter
from devtools.kubesim import start_kubesim
from devtools.kubesim.controllers.nodegroups import NodeGroupSettings
from devtools.moto_aws import CONTROLLER_TAG, patch_nodegroup_lifecycle
from tests.functional.conftest import free_port
from tests.waiting import wait_until

pytestmark = pytest.mark.xdist_group("aws-provisioner")

PLAYED, UNPLAYED = "prov-played", "prov-unplayed"  # kubesim's controller plays the first; the second stays CREATING
NODE_ROLE = "arn:aws:iam::123456789012:role/eks-nodes"
CONTEXT = InventoryContext("ocloud-provisioner")
TAINTS = [{"key": "dedicated", "value": "ran", "effect": "NO_SCHEDULE"}, {"key": "gpu", "effect": "NO_EXECUTE"}]

@pytest.fixture(scope="module")
def eks_url(moto_url: str) -> Iterator[str]:
    patch_nodegroup_lifecycle()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    url = f"http://127.0.0.1:{server._port}"
    ec2, eks = boto3.client("ec2"), boto3.client("eks")
    vpc = ec2.create_vpc(CidrBlock="10.78.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.78.{i}.0/24")["Subnet"]["SubnetId"] for i in (1, 2)]
    for name in (PLAYED, UNPLAYED):
        eks.create_cluster(name=name, version="1.31", roleArn="arn:aws:iam::123456789012:role/eks",
                           resourcesVpcConfig={"subnetIds": subnets}, tags={CONTROLLER_TAG: "kubesim"})
    kubesim = start_kubesim(nodes=1, node_groups=NodeGroupSettings(url, PLAYED, poll_seconds=0.05,
                                                                   join_seconds=0.05, ready_seconds=0.1))
    try:
        yield url
    finally:
        kubesim.stop()
        _remove_clusters(url)  # moto's backends are the worker's: leave none behind
        server.stop()


def _remove_clusters(url: str) -> None:
    eks = boto3.client("eks")
    for name in (PLAYED, UNPLAYED):
        for group in eks.list_nodegroups(clusterName=name)["nodegroups"]:
            eks.delete_nodegroup(clusterName=name, nodegroupName=group)
            _report(url, name, group, "DELETED")
        eks.delete_cluster(name=name)


def _report(url: str, cluster: str, group: str, status: str, issues: list[dict[str, Any]] | None = None) -> None:
    """What EKS itself would do to a node group (devtools/moto_aws.py's controller endpoint)."""
    httpx.post(f"{url}/moto-api/netweave/nodegroup-status", timeout=5, json={
        "region": "us-east-1", "cluster": cluster, "nodegroup": group, "status": status, "issues": issues or []})


def adapter(eks_url: str, cluster: str = PLAYED) -> AwsInventoryAdapter:
    return AwsInventoryAdapter(AdapterConfig(id="edge-aws", type="aws", options={
        "clusters": [cluster], "endpointUrl": eks_url, "nodeRoleArn": NODE_ROLE}))


def request(name: str, replicas: int = 1, **extensions: Any) -> PoolRequest:
    return PoolRequest(name=name, location="edge-site-1",
                       extensions={"instanceType": "m5.large", "replicas": replicas, **extensions})


def wait_progress(aws: PoolProvisioner, pool_id: str, state: str, deleting: bool = False) -> BackendProgress:
    def reached() -> BackendProgress | None:
        progress = aws.pool_progress(pool_id, None, deleting)
        return progress if progress.state == state else None

    reached_progress = wait_until(reached, timeout=30, interval=0.05, what=f"pool {state}")
    assert reached_progress is not None
    return reached_progress


def test_a_begun_pool_progresses_then_is_ready_with_one_eks_request_per_check(eks_url: str) -> None:
    aws = adapter(eks_url)
    start = aws.begin_pool(request("prov-ready", 2, taints=TAINTS), CONTEXT, token="req-ready")
    assert (start.job_id, start.backend_state) == (None, "CREATING")
    counter = AwsRequestCounter().attach(aws._clients().eks, aws._clients().ec2)
    first = aws.pool_progress(start.resource_pool_id, None, deleting=False)
    assert (first.state, first.backend_state) == ("progressing", "CREATING")
    assert counter.counts == {("eks", "DescribeNodegroup"): 1}
    ready = wait_progress(aws, start.resource_pool_id, "ready")
    assert (ready.backend_state, ready.desired_nodes) == ("ACTIVE", 2)
    checks = counter.of("eks", "DescribeNodegroup")
    assert counter.of("eks") == checks and counter.of("ec2") == 0  # one EKS request per check, nothing else
    # the id is the one the inventory lists, and the pool carries its taints, as EKS stored them
    listed = {o.document["resourcePoolId"]: o.document for o in aws.read_inventory(CONTEXT)
              if o.object_type is ObjectType.RESOURCE_POOL}
    assert listed[start.resource_pool_id]["extensions"]["taints"] == [
        {"key": "dedicated", "value": "ran", "effect": "NO_SCHEDULE"}, {"key": "gpu", "effect": "NO_EXECUTE"}]
    group = boto3.client("eks").describe_nodegroup(clusterName=PLAYED, nodegroupName="prov-ready")["nodegroup"]
    assert group["tags"][TOKEN_TAG] == "req-ready"


def test_a_fresh_adapter_finds_the_pool_and_reports_its_progress(eks_url: str) -> None:
    start = adapter(eks_url).begin_pool(request("prov-fresh"), CONTEXT, token="req-fresh")
    ready = wait_progress(adapter(eks_url), start.resource_pool_id, "ready")  # a new adapter: a new Lambda
    assert ready.desired_nodes == 1


def test_a_retry_with_the_same_token_starts_nothing_new_and_another_token_conflicts(eks_url: str) -> None:
    aws = adapter(eks_url)
    first = aws.begin_pool(request("prov-retry", cpuPinning=True), CONTEXT, token="req-retry")
    again = adapter(eks_url).begin_pool(request("prov-retry", cpuPinning=True), CONTEXT, token="req-retry")
    assert again.resource_pool_id == first.resource_pool_id
    assert boto3.client("eks").list_nodegroups(clusterName=PLAYED)["nodegroups"].count("prov-retry") == 1
    with pytest.raises(Conflict, match="already exists"):
        aws.begin_pool(request("prov-retry"), CONTEXT, token="someone-else")
    with pytest.raises(Conflict):
        aws.create_resource_pool(request("prov-retry"), CONTEXT)  # the seed's synchronous path: no token, 409


def test_a_resize_progresses_to_ready_at_the_new_size(eks_url: str) -> None:
    aws = adapter(eks_url)
    start = aws.begin_pool(request("prov-resize"), CONTEXT, token="req-resize")
    wait_progress(aws, start.resource_pool_id, "ready")
    resize = aws.begin_resize(start.resource_pool_id, PoolRequest(name="prov-resize", replicas=3), CONTEXT)
    assert resize.backend_state == "UPDATING" and resize.job_id  # EKS's update id
    assert aws.pool_progress(start.resource_pool_id, resize.job_id, False).state == "progressing"
    assert wait_progress(aws, start.resource_pool_id, "ready").desired_nodes == 3


@pytest.mark.parametrize(("status", "issues", "message"), [
    pytest.param("CREATE_FAILED", [{"code": "Ec2SubnetInvalidConfiguration", "message": "no public IPs"},
                                   {"code": "AsgInstanceLaunchFailures", "message": "capacity"}],
                 "Ec2SubnetInvalidConfiguration: no public IPs; AsgInstanceLaunchFailures: capacity", id="issues"),
    pytest.param("DEGRADED", [], "node group DEGRADED", id="no-issues"),
])
def test_a_node_group_eks_fails_is_failed_with_its_health_issues(eks_url: str, status: str,
                                                                  issues: list[dict[str, str]], message: str) -> None:
    aws = adapter(eks_url, UNPLAYED)
    name = f"prov-{status.lower().replace('_', '-')}"
    start = aws.begin_pool(request(name), CONTEXT, token=f"req-{name}")
    assert aws.pool_progress(start.resource_pool_id, None, False).state == "progressing"
    _report(eks_url, UNPLAYED, name, status, issues)
    failed = aws.pool_progress(start.resource_pool_id, None, False)
    assert (failed.state, failed.backend_state, failed.message) == ("failed", status, message)


def test_deletion_progresses_to_gone_and_a_second_deletion_is_gone_at_once(eks_url: str) -> None:
    aws = adapter(eks_url)
    start = aws.begin_pool(request("prov-delete", 2), CONTEXT, token="req-delete")
    wait_progress(aws, start.resource_pool_id, "ready")
    deletion = aws.begin_pool_deletion(start.resource_pool_id)
    assert (deletion.resource_pool_id, deletion.backend_state) == (start.resource_pool_id, "DELETING")
    someone_elses = aws.pool_progress(start.resource_pool_id, None, deleting=False)
    assert (someone_elses.state, someone_elses.message) == ("failed", "node group is being deleted by someone else")
    wait_progress(aws, start.resource_pool_id, "gone", deleting=True)
    again = aws.begin_pool_deletion(start.resource_pool_id)
    assert (again.resource_pool_id, again.job_id, again.backend_state) == (start.resource_pool_id, None, "gone")


def test_a_node_group_netweave_did_not_create_is_not_deleted(eks_url: str) -> None:
    eks = boto3.client("eks")
    subnets = eks.describe_cluster(name=UNPLAYED)["cluster"]["resourcesVpcConfig"]["subnetIds"]
    group = eks.create_nodegroup(clusterName=UNPLAYED, nodegroupName="operators", nodeRole=NODE_ROLE,
                                 subnets=subnets)["nodegroup"]
    aws = adapter(eks_url, UNPLAYED)
    pool_id = next(o.document["resourcePoolId"] for o in aws.read_inventory(CONTEXT)
                   if o.object_type is ObjectType.RESOURCE_POOL and o.document["name"] == "operators")
    with pytest.raises(NotOwned):
        aws.begin_pool_deletion(pool_id)
    assert eks.describe_nodegroup(clusterName=UNPLAYED, nodegroupName="operators")["nodegroup"]["nodegroupArn"] == \
        group["nodegroupArn"]


def test_bad_taints_are_refused_naming_the_field_before_anything_is_created(eks_url: str) -> None:
    aws = adapter(eks_url)
    with pytest.raises(BadRequest, match=r"extensions\.taints\[1\]\.effect"):
        aws.begin_pool(request("prov-bad", taints=[TAINTS[0], {"key": "x", "effect": "NoSchedule"}]), CONTEXT, "t")
    assert "prov-bad" not in boto3.client("eks").list_nodegroups(clusterName=PLAYED)["nodegroups"]
