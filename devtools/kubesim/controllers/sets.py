"""StatefulSet and DaemonSet controllers (all pods at once; updates replace out-of-date pods immediately)."""

from __future__ import annotations

import contextlib
import copy
from typing import TYPE_CHECKING, Any

from devtools.kubesim.controllers.common import (
    DAEMONSETS,
    NODES,
    PODS,
    PVCS,
    REVISION_LABEL,
    STATEFULSETS,
    create_named,
    delete_quietly,
    is_ready,
    live,
    nonzero,
    owned,
    pod_body,
    template_hash,
)
from devtools.kubesim.controllers.scheduling import fits
from devtools.kubesim.errors import ApiError

if TYPE_CHECKING:
    from devtools.kubesim.cluster import Cluster

Obj = dict[str, Any]


def reconcile_statefulset(cluster: Cluster, namespace: str, name: str) -> None:
    sts = cluster.find(STATEFULSETS, namespace, name)
    if sts is None or sts["metadata"].get("deletionTimestamp"):
        return
    revision = f"{name}-{template_hash(sts['spec']['template'])}"
    want = int(sts["spec"].get("replicas", 1))
    pods = {p["metadata"]["name"]: p for p in live(owned(cluster, sts, PODS))}
    for index in range(want):
        pod_name = f"{name}-{index}"
        pod = pods.pop(pod_name, None)
        if pod is None:
            _create_member(cluster, sts, pod_name, index, revision)
        elif pod["metadata"]["labels"].get(REVISION_LABEL) != revision:
            delete_quietly(cluster, PODS, pod)  # recreated at the new revision on the next pass
    for extra in pods.values():
        delete_quietly(cluster, PODS, extra)
    members = live(owned(cluster, sts, PODS))
    updated = sum(1 for p in members if p["metadata"]["labels"].get(REVISION_LABEL) == revision)
    ready = sum(1 for p in members if is_ready(p))
    previous = sts.get("status", {}).get("currentRevision") or revision
    current_revision = revision if updated == want else previous
    status = {
        "observedGeneration": sts["metadata"].get("generation", 1),
        "replicas": len(members),
        **nonzero(readyReplicas=ready, availableReplicas=ready, updatedReplicas=updated,
                  currentReplicas=updated if current_revision == revision else len(members) - updated),
        "currentRevision": current_revision,
        "updateRevision": revision,
        "collisionCount": 0,
    }
    cluster.write_status(cluster.resource(*STATEFULSETS), sts, status)


def _create_member(cluster: Cluster, sts: Obj, pod_name: str, index: int, revision: str) -> None:
    labels = {REVISION_LABEL: revision, "statefulset.kubernetes.io/pod-name": pod_name,
              "apps.kubernetes.io/pod-index": str(index)}
    body = pod_body(sts, sts["spec"]["template"], pod_name, labels)
    body["spec"]["hostname"] = pod_name
    if sts["spec"].get("serviceName"):
        body["spec"]["subdomain"] = sts["spec"]["serviceName"]
    volumes = body["spec"].setdefault("volumes", [])
    for claim in sts["spec"].get("volumeClaimTemplates") or []:
        claim_name = f'{claim["metadata"]["name"]}-{pod_name}'
        _ensure_claim(cluster, sts, claim, claim_name)
        if not any(v.get("name") == claim["metadata"]["name"] for v in volumes):
            volumes.append({"name": claim["metadata"]["name"], "persistentVolumeClaim": {"claimName": claim_name}})
    with contextlib.suppress(ApiError):  # a same-named pod still terminates, or the namespace is gone
        cluster.create(cluster.resource(*PODS), sts["metadata"]["namespace"], body)


def _ensure_claim(cluster: Cluster, sts: Obj, claim: Obj, claim_name: str) -> None:
    namespace = sts["metadata"]["namespace"]
    if cluster.find(PVCS, namespace, claim_name) is not None:
        return
    body = copy.deepcopy(claim)
    body["metadata"] = {"name": claim_name, "labels": dict(sts["spec"]["selector"].get("matchLabels") or {})}
    with contextlib.suppress(ApiError):
        cluster.create(cluster.resource(*PVCS), namespace, body)


def reconcile_daemonset(cluster: Cluster, namespace: str, name: str) -> None:
    ds = cluster.find(DAEMONSETS, namespace, name)
    if ds is None or ds["metadata"].get("deletionTimestamp"):
        return
    template = ds["spec"]["template"]
    revision = template_hash(template)
    eligible = {n["metadata"]["name"] for n in cluster.store.objects(NODES)
                if fits(template.get("spec") or {}, n, daemon=True)}
    by_node: dict[str, Obj] = {}
    for pod in live(owned(cluster, ds, PODS)):
        node = pod["spec"].get("nodeName", "")
        stale = pod["metadata"]["labels"].get(REVISION_LABEL) != revision
        if node not in eligible or node in by_node or stale:
            delete_quietly(cluster, PODS, pod)
        else:
            by_node[node] = pod
    for node in sorted(eligible - by_node.keys()):
        body = pod_body(ds, template, "", {REVISION_LABEL: revision,
                                           "pod-template-generation": str(ds["metadata"].get("generation", 1))})
        body["spec"]["nodeName"] = node
        create_named(cluster, body, name)
    _write_daemonset_status(cluster, ds, eligible, revision)


def _write_daemonset_status(cluster: Cluster, ds: Obj, eligible: set[str], revision: str) -> None:
    pods = [p for p in live(owned(cluster, ds, PODS)) if p["spec"].get("nodeName") in eligible]
    ready = sum(1 for p in pods if is_ready(p))
    status = {
        "observedGeneration": ds["metadata"].get("generation", 1),
        "desiredNumberScheduled": len(eligible),
        "currentNumberScheduled": len(pods),
        "numberMisscheduled": 0,
        "numberReady": ready,
        **nonzero(numberAvailable=ready,
                  updatedNumberScheduled=sum(1 for p in pods
                                             if p["metadata"]["labels"].get(REVISION_LABEL) == revision),
                  numberUnavailable=len(eligible) - ready),
    }
    cluster.write_status(cluster.resource(*DAEMONSETS), ds, status)

