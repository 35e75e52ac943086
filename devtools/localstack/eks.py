"""The local stack's EKS cluster: the simulated cluster as moto's EKS sees it (config/gateway.yaml, `edge-aws`).

`make run` creates, in moto, the VPC, subnets and IAM role a real EKS cluster has, and the cluster itself, tagged so
that moto puts its node groups through EKS's states (devtools/moto_aws.py) and kubesim plays its node-group
controller (devtools/kubesim/controllers/nodegroups.py); once kubesim listens, the cluster's endpoint and CA become
kubesim's. Node groups created through the API then become Nodes of the same cluster the `kubernetes` backend,
helm, kubectl and the GitOps backends use. Idempotent.
"""

from __future__ import annotations

from typing import Any

import httpx
import yaml

from devtools.moto_aws import CONTROLLER_TAG

CLUSTER = "netweave-demo"  # config/gateway.yaml's edge-aws cluster; also kubesim's kubeconfig context
ZONES = ("a", "b", "c")
_NODE_ROLE_POLICY = ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":'
                     '"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}')


def create_cluster(session: Any, region: str) -> str:
    """The cluster (and its node role), if missing; returns the node role's ARN."""
    eks, ec2, iam = session.client("eks"), session.client("ec2"), session.client("iam")
    try:
        role = iam.get_role(RoleName=f"{CLUSTER}-nodes")["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        role = iam.create_role(RoleName=f"{CLUSTER}-nodes", AssumeRolePolicyDocument=_NODE_ROLE_POLICY)["Role"]["Arn"]
    if CLUSTER in eks.list_clusters().get("clusters", []):
        return str(role)
    vpc = ec2.create_vpc(CidrBlock="10.64.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.64.{index}.0/20", AvailabilityZone=f"{region}{zone}")
               ["Subnet"]["SubnetId"] for index, zone in zip((0, 16, 32), ZONES, strict=True)]
    eks.create_cluster(name=CLUSTER, version="1.31", roleArn=str(role).replace("-nodes", "-cluster"),
                       resourcesVpcConfig={"subnetIds": subnets}, tags={CONTROLLER_TAG: "kubesim"})
    return str(role)


def point_at_kubesim(moto_url: str, region: str, kubeconfig_path: str) -> None:
    """The EKS cluster's endpoint and CA are those of the kubeconfig kubesim wrote."""
    config = yaml.safe_load(open(kubeconfig_path).read())  # noqa: SIM115 - read once
    cluster = config["clusters"][0]["cluster"]
    body = {"region": region, "cluster": CLUSTER, "endpoint": cluster["server"],
            "certificateAuthority": cluster.get("certificate-authority-data", "")}
    httpx.post(f"{moto_url}/moto-api/netweave/cluster-endpoint", json=body, timeout=5).raise_for_status()


def kubesim_environment(moto_url: str, region: str) -> dict[str, str]:
    """What switches kubesim's node-group controller on (delays: KUBESIM_NODE_JOIN_SECONDS and
    KUBESIM_NODE_READY_SECONDS, realistic by default)."""
    return {"KUBESIM_EKS_ENDPOINT": moto_url, "KUBESIM_EKS_CLUSTER": CLUSTER, "KUBESIM_EKS_REGION": region}
