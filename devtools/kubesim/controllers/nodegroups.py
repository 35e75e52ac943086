"""kubesim plays what EKS runs for managed node groups: instances join the cluster as Nodes, leave drained.

Configured with an EKS endpoint (moto on the local stack) and a cluster name, it polls that cluster's node groups
and, for each:
- while fewer of its Nodes exist than `scalingConfig.desiredSize`, one Node joins every `join_seconds` (an EC2
  instance launching and its kubelet registering), `NotReady` until `ready_seconds` later (CNI and kubelet coming
  up), labelled and sized as EKS's AMI would (devtools/kubesim/nodegroup_nodes.py);
- while more exist (a shrink, or the group is `DELETING`), the newest is cordoned (unschedulable and the
  `node.kubernetes.io/unschedulable` taint), its pods are evicted, and on the next pass the Node is deleted;
- the group's own status follows, reported to moto (devtools/moto_aws.py): `CREATING`/`UPDATING` become `ACTIVE`
  once it has exactly its desired Nodes, all Ready; a `DELETING` group is removed once its last Node is gone.
Nodes without this controller's annotation (the seeded demo pools) are never touched.

AWS calls run in a worker thread (they block); cluster writes happen on kubesim's loop.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from devtools.kubesim import nodegroup_nodes as shape
from devtools.kubesim.cluster import Cluster
from devtools.kubesim.controllers.common import NODES, PODS, delete_quietly
from devtools.kubesim.hardware import TOPOLOGY

log = logging.getLogger("kubesim.nodegroups")
Obj = dict[str, Any]
UNSCHEDULABLE = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}
READY_AT = "kubesim.netweave.io/ready-at"  # annotation: when a joining node's kubelet reports Ready (epoch seconds)
STATIC_POLICY = "cpuManagerPolicy: static"


@dataclass(frozen=True)
class NodeGroupSettings:
    """Realistic by default (a node joins every 3 s, Ready 10 s later); tests shorten both."""

    endpoint: str
    cluster: str
    region: str = "us-east-1"
    poll_seconds: float = 1.0
    join_seconds: float = 3.0
    ready_seconds: float = 10.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> NodeGroupSettings | None:
        """KUBESIM_EKS_ENDPOINT and KUBESIM_EKS_CLUSTER switch the controller on; the rest tune it."""
        env = os.environ if env is None else env
        if not env.get("KUBESIM_EKS_ENDPOINT") or not env.get("KUBESIM_EKS_CLUSTER"):
            return None
        return cls(env["KUBESIM_EKS_ENDPOINT"], env["KUBESIM_EKS_CLUSTER"],
                   env.get("KUBESIM_EKS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
                   float(env.get("KUBESIM_EKS_POLL_SECONDS", "1")), float(env.get("KUBESIM_NODE_JOIN_SECONDS", "3")),
                   float(env.get("KUBESIM_NODE_READY_SECONDS", "10")))


@dataclass
class _Group:
    """One node group as this pass sees it, with what the controller needs besides describe_nodegroup."""

    doc: Obj
    info: Obj = field(default_factory=dict)  # its instance type's describe_instance_types entry
    zones: list[str] = field(default_factory=list)  # its subnets' availability zones
    cpu_pinning: bool = False  # its launch template configures the static CPU manager


class NodeGroups:
    def __init__(self, cluster: Cluster, settings: NodeGroupSettings) -> None:
        self.cluster = cluster
        self.settings = settings
        self._next_join: dict[str, float] = {}
        self._clients: tuple[Any, Any] | None = None
        self._unreadable: set[str] = set()

    # ---- AWS side (worker thread) -----------------------------------------------------------------------------

    def _aws(self) -> tuple[Any, Any]:
        if self._clients is None:
            import boto3

            session = boto3.session.Session(region_name=self.settings.region,
                                            aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
                                            aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"))
            self._clients = (session.client("eks", endpoint_url=self.settings.endpoint),
                             session.client("ec2", endpoint_url=self.settings.endpoint))
        return self._clients

    def read_groups(self) -> list[_Group]:
        eks, ec2 = self._aws()
        names = eks.list_nodegroups(clusterName=self.settings.cluster).get("nodegroups", [])
        groups = []
        self._unreadable = set()
        for name in names:
            try:
                doc = eks.describe_nodegroup(clusterName=self.settings.cluster, nodegroupName=name)["nodegroup"]
                groups.append(_Group(doc, *self._details(ec2, doc)))
            except Exception:
                log.exception("cannot read node group %s", name)
                self._unreadable.add(name)  # its nodes stay until it can be read again
        return groups

    def _details(self, ec2: Any, doc: Obj) -> tuple[Obj, list[str], bool]:
        instance_type = (doc.get("instanceTypes") or ["t3.medium"])[0]
        types = ec2.describe_instance_types(InstanceTypes=[instance_type]).get("InstanceTypes", [])
        subnets = ec2.describe_subnets(SubnetIds=doc.get("subnets", [])).get("Subnets", []) if doc.get("subnets") \
            else []
        zones = sorted({subnet["AvailabilityZone"] for subnet in subnets}) or [f"{self.settings.region}a"]
        return (types[0] if types else {}), zones, self._pinned(ec2, doc.get("launchTemplate") or {})

    @staticmethod
    def _pinned(ec2: Any, template: Obj) -> bool:
        if not template.get("id") and not template.get("name"):
            return False
        selector = {"LaunchTemplateId": template["id"]} if template.get("id") else \
            {"LaunchTemplateName": template["name"]}
        try:
            versions = ec2.describe_launch_template_versions(**selector, Versions=[str(template.get("version") or
                                                                                       "$Default")])
        except ec2.exceptions.ClientError:
            return False  # the template is gone (its node group is being deleted): new nodes are not launched
        data = (versions.get("LaunchTemplateVersions") or [{}])[0].get("LaunchTemplateData", {})
        return STATIC_POLICY in base64.b64decode(data.get("UserData") or "").decode(errors="replace")

    def report(self, name: str, status: str) -> None:
        body = {"region": self.settings.region, "cluster": self.settings.cluster, "nodegroup": name, "status": status}
        httpx.post(f"{self.settings.endpoint}/moto-api/netweave/nodegroup-status", json=body, timeout=5
                   ).raise_for_status()

    # ---- cluster side (kubesim's loop) ------------------------------------------------------------------------

    def _nodes(self, group: str) -> list[Obj]:
        return sorted((node for node in self.cluster.store.objects(NODES)
                       if node["metadata"].get("annotations", {}).get(shape.LAUNCHED_BY)
                       and node["metadata"].get("labels", {}).get(shape.NODEGROUP_LABEL) == group),
                      key=lambda node: int(node["metadata"].get("annotations", {}).get("kubesim.netweave.io/index",
                                                                                        0)))

    def reconcile(self, groups: list[_Group], now: float) -> dict[str, str]:
        """One pass; returns the statuses to report to EKS ({group: ACTIVE | DELETED})."""
        reports: dict[str, str] = {}
        seen = {group.doc["nodegroupName"] for group in groups} | self._unreadable
        for group in groups:
            status = self._reconcile_group(group, now)
            if status is not None:
                reports[group.doc["nodegroupName"]] = status
        for node in self.cluster.store.objects(NODES):  # groups deleted outright: their nodes leave too
            labels = node["metadata"].get("labels", {})
            if node["metadata"].get("annotations", {}).get(shape.LAUNCHED_BY) and \
                    labels.get(shape.NODEGROUP_LABEL) not in seen:
                self._remove(node)
        return reports

    def _reconcile_group(self, group: _Group, now: float) -> str | None:
        name, status = group.doc["nodegroupName"], group.doc.get("status", "ACTIVE")
        desired = 0 if status == "DELETING" else int(group.doc.get("scalingConfig", {}).get("desiredSize", 0))
        nodes = self._nodes(name)
        for node in nodes:
            self._maybe_ready(node, now)
        staying = [node for node in nodes if not node["spec"].get("unschedulable")]
        leaving = [node for node in nodes if node["spec"].get("unschedulable")]
        for node in leaving:  # cordoned and drained on an earlier pass
            self._remove(node)
        if len(staying) < desired and now >= self._next_join.get(name, 0.0):
            self._join(group, nodes, now)
            self._next_join[name] = now + self.settings.join_seconds
        elif len(staying) > desired:
            self._cordon_and_drain(staying[-1])
        nodes = self._nodes(name)
        if status == "DELETING" and not nodes:
            return "DELETED"
        if status in ("CREATING", "UPDATING") and len(nodes) == desired and all(map(_ready, nodes)):
            return "ACTIVE"
        return None

    def _join(self, group: _Group, nodes: list[Obj], now: float) -> None:
        used = {int(node["metadata"]["annotations"].get("kubesim.netweave.io/index", 0)) for node in nodes}
        index = next(i for i in range(len(used) + 1) if i not in used)
        zone = group.zones[index % len(group.zones)]
        node = shape.make_node(self.settings.cluster, group.doc, group.info, zone, index, group.cpu_pinning)
        node["metadata"]["annotations"].update({"kubesim.netweave.io/index": str(index),
                                                READY_AT: f"{now + self.settings.ready_seconds:.3f}"})
        created = self.cluster.create(self.cluster.resource(*NODES), None, node)
        instance_type = (group.doc.get("instanceTypes") or ["t3.medium"])[0]
        topology = shape.topology(created, instance_type, group.info)
        if topology is not None:
            self.cluster.store.write((TOPOLOGY[0], TOPOLOGY[2]), topology)
        log.info("node %s joined node group %s (NotReady)", created["metadata"]["name"], group.doc["nodegroupName"])

    def _maybe_ready(self, node: Obj, now: float) -> None:
        due = node["metadata"].get("annotations", {}).get(READY_AT)
        if _ready(node) or due is None or float(due) > now or node["spec"].get("unschedulable"):
            return
        status = copy.deepcopy(node["status"])
        status["conditions"] = [c for c in status["conditions"] if c["type"] != "Ready"] + [shape.ready_condition(True)]
        self.cluster.write_status(self.cluster.resource(*NODES), node, status)
        log.info("node %s is Ready", node["metadata"]["name"])

    def _cordon_and_drain(self, node: Obj) -> None:
        body = copy.deepcopy(node)
        body["spec"]["unschedulable"] = True
        body["spec"]["taints"] = [*(body["spec"].get("taints") or []), {**UNSCHEDULABLE, "timeAdded": _stamp()}]
        self.cluster.update(self.cluster.resource(*NODES), "", node["metadata"]["name"], body)
        for pod in self.cluster.store.objects(PODS):
            if pod["spec"].get("nodeName") == node["metadata"]["name"]:
                delete_quietly(self.cluster, PODS, pod)  # eviction: the pods' controllers recreate them elsewhere
        log.info("node %s cordoned and drained", node["metadata"]["name"])

    def _remove(self, node: Obj) -> None:
        name = node["metadata"]["name"]
        if self.cluster.find(NODES, "", name) is not None:
            delete_quietly(self.cluster, NODES, node)
        if self.cluster.find((TOPOLOGY[0], TOPOLOGY[2]), "", name) is not None:
            self.cluster.store.remove((TOPOLOGY[0], TOPOLOGY[2]), "", name)
        log.info("node %s left", name)

    # ---- the loop -----------------------------------------------------------------------------------------------

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                groups = await loop.run_in_executor(None, self.read_groups)
                reports = self.reconcile(groups, time.time())
                for name, status in reports.items():
                    await loop.run_in_executor(None, self.report, name, status)
            except Exception:  # moto restarting or a bad group must not stop the controller
                log.exception("node group pass failed")
            await asyncio.sleep(self.settings.poll_seconds)


def _ready(node: Obj) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in node.get("status", {}).get("conditions", []))


def _stamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
