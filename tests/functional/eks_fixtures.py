"""An EKS cluster kubesim stands for, on a moto server of its own with EKS's node group states
(devtools/moto_aws.py): node groups created through netweave become kubesim Nodes, listed by the `edge-aws` backend.
Shared by the tests of the pool extension and of provisioning requests."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
from moto.server import ThreadedMotoServer

from devtools.kubesim.controllers.nodegroups import NodeGroupSettings
from devtools.moto_aws import CONTROLLER_TAG, patch_nodegroup_lifecycle
from tests.functional.inventory_fixtures import Site, site_environment

NODE_ROLE = "arn:aws:iam::123456789012:role/eks-nodes"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def eks_site(tmp: Path, cluster: str, more_adapters: str = "", cidr: str = "10.77",
             extra_clusters: tuple[str, ...] = ()) -> Iterator[Site]:
    """The site: kubesim (its nodes: the cluster's), `edge-aws` (type aws) on the cluster, `routing.ims` sending
    `edge-` locations there, plus `more_adapters` (gateway.yaml imsAdapters entries)."""
    patch_nodegroup_lifecycle()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=_free_port(), verbose=False)
    server.start()
    eks_url = f"http://127.0.0.1:{server._port}"
    ec2, eks = boto3.client("ec2"), boto3.client("eks")
    vpc = ec2.create_vpc(CidrBlock=f"{cidr}.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"{cidr}.{i}.0/24", AvailabilityZone=f"us-east-1{zone}")
               ["Subnet"]["SubnetId"] for i, zone in ((1, "a"), (2, "b"))]
    eks.create_cluster(name=cluster, version="1.31", roleArn="arn:aws:iam::123456789012:role/eks",
                       resourcesVpcConfig={"subnetIds": subnets}, tags={CONTROLLER_TAG: "kubesim"})
    aws = ("  - id: edge-aws\n    type: aws\n    options:\n"
           f"      clusters: [{cluster}]\n      endpointUrl: {eks_url}\n"
           f"      nodeRoleArn: {NODE_ROLE}\n"
           f"      kubeconfigs: {{{cluster}: {tmp / 'kubeconfig'}}}\n" + more_adapters +
           "routing:\n  ims:\n    - {locationPrefix: edge-, adapter: edge-aws}\n")
    controller = NodeGroupSettings(eks_url, cluster, poll_seconds=0.05, join_seconds=0.05, ready_seconds=0.1)
    try:
        yield from site_environment(tmp, adapter_id="site-k8s", more_adapters=aws, node_groups=controller)
    finally:
        remove_clusters(eks_url, (cluster, *extra_clusters))  # moto's backends are the worker's: leave none behind
        server.stop()


def remove_clusters(eks_url: str, names: tuple[str, ...]) -> None:
    eks = boto3.client("eks")
    for name in set(names) & set(eks.list_clusters()["clusters"]):
        for group in eks.list_nodegroups(clusterName=name)["nodegroups"]:
            eks.delete_nodegroup(clusterName=name, nodegroupName=group)
            httpx.post(f"{eks_url}/moto-api/netweave/nodegroup-status", timeout=5,
                       json={"region": "us-east-1", "cluster": name, "nodegroup": group, "status": "DELETED"})
        eks.delete_cluster(name=name)
