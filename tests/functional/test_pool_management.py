"""Use case 1 (netweave extension): an SMO creates, resizes and deletes a resource pool on the short form
`/o2ims/v1/resourcePools`; the pool is an EKS node group (moto); backends that cannot do it answer 501."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from chalicelib.bootstrap import Components
from chalicelib.handlers import inventory as inventory_handlers
from chalicelib.settings import LimitSettings
from tests.functional.conftest import Api, assert_problem, serving, token_with
from tests.functional.inventory_fixtures import Site, site_environment

POOLS = "/o2ims/v1/resourcePools"
NODE_ROLE = "arn:aws:iam::123456789012:role/eks-nodes"


@pytest.fixture(scope="module")
def site(moto_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    ec2, eks = boto3.client("ec2"), boto3.client("eks")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{i}.0/24")["Subnet"]["SubnetId"] for i in (1, 2)]
    eks.create_cluster(name="pool-mgmt", version="1.30", roleArn="arn:aws:iam::123456789012:role/eks",
                       resourcesVpcConfig={"subnetIds": subnets})
    aws = ("  - id: edge-aws\n    type: aws\n    options:\n      clusters: [pool-mgmt]\n"
           f"      nodeRoleArn: {NODE_ROLE}\n      location: edge-site-9\n")
    yield from site_environment(tmp_path_factory.mktemp("pools"), adapter_id="site-k8s", more_adapters=aws)


@pytest.fixture()
def components(site: Site) -> Components:
    """The API and the poll serve this module's site."""
    return site.components


def listed_pool(api: Api, components: Components, pool_id: str) -> dict[str, Any] | None:
    inventory_handlers.poll_inventory(components)
    return next((p for p in api.get(POOLS).json() if p["resourcePoolId"] == pool_id), None)


def test_create_resize_and_delete_a_pool(api: Api, components: Components) -> None:
    created = api.request("POST", POOLS, body={"name": "du-pool-7", "location": "edge-site-9", "backend": "edge-aws",
                                               "extensions": {"instanceType": "m5.large", "replicas": 2}})
    assert created.status == 201, created.body
    pool = created.json()
    assert created.header("location") == f"{POOLS}/{pool['resourcePoolId']}"
    listed = listed_pool(api, components, pool["resourcePoolId"])
    assert listed is not None and listed["name"] == "du-pool-7"
    resized = api.request("PATCH", f"{POOLS}/{pool['resourcePoolId']}", body={"extensions": {"replicas": 4}})
    assert resized.status == 200, resized.body
    answered = resized.json()  # the pool as the next poll will list it
    assert (answered["resourcePoolId"], answered["name"], answered["extensions"]["replicas"]) == (
        pool["resourcePoolId"], "du-pool-7", 4)
    scaling = boto3.client("eks").describe_nodegroup(clusterName="pool-mgmt", nodegroupName="du-pool-7")
    assert scaling["nodegroup"]["scalingConfig"]["desiredSize"] == 4
    deleted = api.request("DELETE", f"{POOLS}/{pool['resourcePoolId']}")
    assert deleted.status == 204
    assert listed_pool(api, components, pool["resourcePoolId"]) is None


def test_a_backend_without_pool_management_answers_501(api: Api) -> None:
    reply = api.request("POST", POOLS, body={"name": "k8s-pool", "extensions": {"replicas": 1}})
    assert reply.status == 501 and reply.header("content-type") == "application/problem+json"
    assert "site-k8s" in reply.json()["detail"]


def test_bad_requests_are_400_naming_the_field(api: Api) -> None:
    missing_name = api.request("POST", POOLS, body={"backend": "edge-aws", "extensions": {"replicas": 1}})
    assert missing_name.status == 400 and "name" in missing_name.json()["detail"]
    bad_type = api.request("POST", POOLS, body={"name": "x1", "backend": "edge-aws",
                                                "extensions": {"instanceType": "no.such", "replicas": 1}})
    assert bad_type.status == 422 and "instanceType" in bad_type.json()["detail"]  # well formed; EC2 lacks it
    unknown_backend = api.request("POST", POOLS, body={"name": "x2", "backend": "nope"})
    assert unknown_backend.status == 404


def test_unknown_pool_is_404_and_writes_need_the_write_scope(api: Api) -> None:
    assert api.request("PATCH", f"{POOLS}/00000000-0000-0000-0000-000000000000",
                       body={"extensions": {"replicas": 1}}).status == 404
    reply = api.request("POST", POOLS, body={"name": "x3", "backend": "edge-aws"}, token=token_with("o2ims:read"))
    assert reply.status == 403


def test_the_standard_path_stays_read_only(api: Api) -> None:
    reply = api.request("POST", "/o2ims-infrastructureInventory/v1/resourcePools", body={"name": "x"})
    assert reply.status == 405
    assert reply.header("allow") == "GET"


def test_both_backends_are_aggregated_in_every_list(api: Api, site: Site, components: Components) -> None:
    inventory_handlers.poll_inventory(components)
    managers = api.get("/o2ims-infrastructureInventory/v1/deploymentManagers").json()
    uris = {m["serviceUri"] for m in managers}
    assert site.kubesim.url in uris and len(managers) == 2
    assert len({m["deploymentManagerId"] for m in managers}) == 2


@pytest.fixture()
def limited(components: Components) -> Iterator[Components]:
    """This module's site with at most 5 nodes per pool and only m5.large."""
    limits = LimitSettings(pool_max_replicas=5, pool_instance_types=("m5.large",))
    site = Components(components.settings.model_copy(update={"limits": limits}))
    with serving(site):
        yield site


@pytest.mark.parametrize(("extensions", "detail"), [
    pytest.param({"instanceType": "m5.large", "replicas": 6}, "extensions.replicas: 6 exceeds this gateway's limit "
                 "of 5 nodes per pool", id="replicas"),
    pytest.param({"instanceType": "m5.large", "replicas": 1, "maxSize": 500}, "extensions.maxSize", id="maxSize"),
    pytest.param({"instanceType": "c5.metal", "replicas": 1}, "'c5.metal' is not allowed on this gateway; allowed: "
                 "m5.large", id="instance-type"),
    pytest.param({"replicas": 1}, "extensions.instanceType is required", id="no-instance-type"),
])
def test_pool_limits_answer_422_naming_the_rule(api: Api, limited: Components, extensions: dict[str, Any],
                                                detail: str) -> None:
    reply = api.request("POST", POOLS, body={"name": "too-big", "backend": "edge-aws", "extensions": extensions})
    body = assert_problem(reply, 422, detail)
    assert body["type"].endswith("/pool-limit-exceeded")
    assert "too-big" not in boto3.client("eks").list_nodegroups(clusterName="pool-mgmt")["nodegroups"]


def test_a_resize_beyond_the_limit_is_422_and_changes_nothing(api: Api, limited: Components) -> None:
    created = api.request("POST", POOLS, body={"name": "small-pool", "backend": "edge-aws",
                                               "extensions": {"instanceType": "m5.large", "replicas": 2}})
    assert created.status == 201, created.body
    pool_id = created.json()["resourcePoolId"]
    inventory_handlers.poll_inventory(limited)
    try:
        assert_problem(api.request("PATCH", f"{POOLS}/{pool_id}", body={"extensions": {"replicas": 6}}), 422,
                       "extensions.replicas")
        group = boto3.client("eks").describe_nodegroup(clusterName="pool-mgmt", nodegroupName="small-pool")
        assert group["nodegroup"]["scalingConfig"]["desiredSize"] == 2
    finally:
        assert api.request("DELETE", f"{POOLS}/{pool_id}").status == 204
