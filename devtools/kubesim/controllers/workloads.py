"""Deployment and ReplicaSet controllers.

Rollouts are instantaneous: the new ReplicaSet gets all replicas at once and old ones scale to zero. What helm's
readiness check reads is kept faithful: the new ReplicaSet is found by owner uid + template equality (ignoring
``pod-template-hash``), ``observedGeneration`` tracks ``generation``, and ready counts come from real pod status. A
rollout that makes no progress for ``spec.progressDeadlineSeconds`` (default 600) gets
``Progressing=False/ProgressDeadlineExceeded``, which ArgoCD reads as Degraded.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from devtools.kubesim.cluster import now
from devtools.kubesim.controllers.common import (
    DEPLOYMENTS,
    HASH_LABEL,
    PODS,
    REPLICASETS,
    condition,
    controller_ref,
    create_named,
    delete_quietly,
    is_ready,
    live,
    max_unavailable,
    merge_conditions,
    nonzero,
    owned,
    pod_body,
    same_template,
    template_hash,
    without_label,
)
from devtools.kubesim.errors import ApiError
from devtools.kubesim.selectors import matches_selector

if TYPE_CHECKING:
    from devtools.kubesim.cluster import Cluster

Obj = dict[str, Any]
REVISION = "deployment.kubernetes.io/revision"


def _revision(obj: Obj) -> int:
    try:
        return int((obj["metadata"].get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


def reconcile_replicaset(cluster: Cluster, namespace: str, name: str) -> None:
    rs = cluster.find(REPLICASETS, namespace, name)
    if rs is None or rs["metadata"].get("deletionTimestamp"):
        return
    want = int(rs["spec"].get("replicas", 1))
    pods = [p for p in live(owned(cluster, rs, PODS)) if p["status"].get("phase") not in ("Succeeded", "Failed")]
    for _ in range(want - len(pods)):
        create_named(cluster, pod_body(rs, rs["spec"]["template"], ""), name)
    if len(pods) > want:
        # Scale down the least useful pods first: not ready, then newest.
        victims = sorted(pods, key=lambda p: (is_ready(p), p["metadata"]["creationTimestamp"]))
        for pod in victims[: len(pods) - want]:
            delete_quietly(cluster, PODS, pod)
    pods = [p for p in live(owned(cluster, rs, PODS)) if p["status"].get("phase") not in ("Succeeded", "Failed")]
    selector = rs["spec"].get("selector")
    ready = sum(1 for p in pods if is_ready(p))
    status = {
        **nonzero(fullyLabeledReplicas=sum(1 for p in pods if matches_selector(selector, p["metadata"]["labels"])),
                  readyReplicas=ready, availableReplicas=ready),
        "replicas": len(pods),
        "observedGeneration": rs["metadata"].get("generation", 1),
    }
    cluster.write_status(cluster.resource(*REPLICASETS), rs, status)


def reconcile_deployment(cluster: Cluster, namespace: str, name: str,
                         later: Callable[[float, tuple[str, str, str]], None] | None = None) -> None:
    """`later(delay, key)` asks for another reconcile when a rollout's progress deadline will have passed."""
    dep = cluster.find(DEPLOYMENTS, namespace, name)
    if dep is None or dep["metadata"].get("deletionTimestamp"):
        return
    sets = owned(cluster, dep, REPLICASETS)
    template = dep["spec"]["template"]
    new_rs = next((rs for rs in sets if same_template(without_label(rs["spec"]["template"], HASH_LABEL), template)),
                  None)
    if not dep["spec"].get("paused"):
        new_rs = _roll_out(cluster, dep, sets, new_rs)
        _prune_history(cluster, dep)
    if new_rs is not None and (dep["metadata"].get("annotations") or {}).get(REVISION) != str(_revision(new_rs)):
        dep = _annotate(cluster, dep, str(_revision(new_rs)))
    deadline = _write_deployment_status(cluster, dep, owned(cluster, dep, REPLICASETS), new_rs)
    if deadline is not None and later is not None:
        later(deadline, ("deployments", namespace, name))


def _roll_out(cluster: Cluster, dep: Obj, sets: list[Obj], new_rs: Obj | None) -> Obj | None:
    replicas = int(dep["spec"].get("replicas", 1))
    top = max((_revision(rs) for rs in sets), default=0)
    if new_rs is None:
        new_rs = _create_replicaset(cluster, dep, top + 1)
    elif new_rs["spec"].get("replicas") != replicas or (_revision(new_rs) < top):
        # A rollback re-activates an old ReplicaSet: it becomes the newest revision again.
        revision = _revision(new_rs) if _revision(new_rs) == top else top + 1
        new_rs = _scale(cluster, new_rs, replicas, revision)
    for rs in sets:
        if new_rs is not None and rs["metadata"]["uid"] != new_rs["metadata"]["uid"] and rs["spec"].get("replicas"):
            _scale(cluster, rs, 0, _revision(rs))
    return new_rs


def _create_replicaset(cluster: Cluster, dep: Obj, revision: int) -> Obj | None:
    template = copy.deepcopy(dep["spec"]["template"])
    pod_hash = template_hash(template)
    template.setdefault("metadata", {}).setdefault("labels", {})[HASH_LABEL] = pod_hash
    selector = copy.deepcopy(dep["spec"].get("selector") or {})
    selector.setdefault("matchLabels", {})[HASH_LABEL] = pod_hash
    replicas = int(dep["spec"].get("replicas", 1))
    body = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f'{dep["metadata"]["name"]}-{pod_hash}',
            "labels": dict(template["metadata"]["labels"]),
            "annotations": {REVISION: str(revision), "deployment.kubernetes.io/desired-replicas": str(replicas),
                            "deployment.kubernetes.io/max-replicas": str(replicas + 1)},
            "ownerReferences": [controller_ref(dep)],
        },
        "spec": {"replicas": replicas, "minReadySeconds": dep["spec"].get("minReadySeconds", 0),
                 "selector": selector, "template": template},
    }
    try:
        return cluster.create(cluster.resource(*REPLICASETS), dep["metadata"]["namespace"], body)
    except ApiError:
        return None


def _scale(cluster: Cluster, rs: Obj, replicas: int, revision: int) -> Obj:
    updated = copy.deepcopy(rs)
    updated["spec"]["replicas"] = replicas
    annotations = updated["metadata"].setdefault("annotations", {})
    annotations[REVISION] = str(revision)
    if replicas:
        annotations["deployment.kubernetes.io/desired-replicas"] = str(replicas)
    meta = rs["metadata"]
    return cluster.update(cluster.resource(*REPLICASETS), meta["namespace"], meta["name"], updated)


def _prune_history(cluster: Cluster, dep: Obj) -> None:
    limit = int(dep["spec"].get("revisionHistoryLimit", 10))
    idle = sorted((rs for rs in owned(cluster, dep, REPLICASETS) if not rs["spec"].get("replicas")
                   and not rs.get("status", {}).get("replicas")), key=_revision)
    for rs in idle[: max(0, len(idle) - limit)]:
        delete_quietly(cluster, REPLICASETS, rs)


def _annotate(cluster: Cluster, dep: Obj, revision: str) -> Obj:
    updated = copy.deepcopy(dep)
    updated["metadata"].setdefault("annotations", {})[REVISION] = revision
    meta = dep["metadata"]
    return cluster.update(cluster.resource(*DEPLOYMENTS), meta["namespace"], meta["name"], updated)


def _write_deployment_status(cluster: Cluster, dep: Obj, sets: list[Obj], new_rs: Obj | None) -> float | None:
    """Write the status; returns the seconds until an unfinished rollout's progress deadline, if it has not passed."""
    desired = int(dep["spec"].get("replicas", 1))
    total = sum(int(rs["spec"].get("replicas", 0)) for rs in sets)
    current = sum(int(rs.get("status", {}).get("replicas", 0)) for rs in sets)
    ready = sum(int(rs.get("status", {}).get("readyReplicas", 0)) for rs in sets)
    available = sum(int(rs.get("status", {}).get("availableReplicas", 0)) for rs in sets)
    updated = int((new_rs or {}).get("status", {}).get("replicas", 0))
    stamp = now()
    is_available = available >= desired - max_unavailable(dep)
    rs_name = (new_rs or {}).get("metadata", {}).get("name", "")
    complete = updated == desired and available >= desired and current == desired
    conditions = [
        condition("Available", is_available,
                  "MinimumReplicasAvailable" if is_available else "MinimumReplicasUnavailable",
                  "Deployment has minimum availability." if is_available else
                  "Deployment does not have minimum availability.", stamp, update_time=True),
        condition("Progressing", True, "NewReplicaSetAvailable" if complete else "ReplicaSetUpdated",
                  f'ReplicaSet "{rs_name}" has successfully progressed.' if complete else
                  f'ReplicaSet "{rs_name}" is progressing.', stamp, update_time=True),
    ]
    old_conditions = dep.get("status", {}).get("conditions")
    remaining = None if complete else _progress_deadline(dep, old_conditions, rs_name)
    if remaining is not None and remaining <= 0:
        conditions[1] = condition("Progressing", False, "ProgressDeadlineExceeded",
                                  f'ReplicaSet "{rs_name}" has timed out progressing.', stamp, update_time=True)
    status = {
        "observedGeneration": dep["metadata"].get("generation", 1),
        **nonzero(replicas=current, updatedReplicas=updated, readyReplicas=ready, availableReplicas=available,
                  unavailableReplicas=max(0, total - available)),
        "conditions": merge_conditions(old_conditions, conditions),
    }
    cluster.write_status(cluster.resource(*DEPLOYMENTS), dep, status)
    return remaining if remaining is not None and remaining > 0 else None


def _progress_deadline(dep: Obj, conditions: list[Obj] | None, rs_name: str) -> float | None:
    """Seconds left before `spec.progressDeadlineSeconds` passes without progress (negative: it has passed), from
    when this ReplicaSet's rollout last progressed (the Progressing condition's lastUpdateTime). A rollout whose pods
    never become ready (the `fail` image) thus times out, as on a real cluster."""
    limit = dep["spec"].get("progressDeadlineSeconds")
    progressing = next((c for c in conditions or [] if c.get("type") == "Progressing"), None)
    if limit is None or progressing is None or f'"{rs_name}"' not in str(progressing.get("message")):
        return None  # no deadline, or this rollout only starts now
    if progressing.get("reason") == "ProgressDeadlineExceeded":
        return 0.0
    since = dt.datetime.fromisoformat(str(progressing.get("lastUpdateTime")).replace("Z", "+00:00"))
    return float(limit) - (dt.datetime.now(dt.UTC) - since).total_seconds()
