"""Helpers shared by the simulated controllers: ownership, pod templates, conditions, rollout arithmetic."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import math
from typing import TYPE_CHECKING, Any

from devtools.kubesim.errors import ApiError
from devtools.kubesim.resources import StoreKey

if TYPE_CHECKING:
    from devtools.kubesim.cluster import Cluster

Obj = dict[str, Any]
PODS: StoreKey = ("", "pods")
NODES: StoreKey = ("", "nodes")
DEPLOYMENTS: StoreKey = ("apps", "deployments")
REPLICASETS: StoreKey = ("apps", "replicasets")
STATEFULSETS: StoreKey = ("apps", "statefulsets")
DAEMONSETS: StoreKey = ("apps", "daemonsets")
JOBS: StoreKey = ("batch", "jobs")
PVCS: StoreKey = ("", "persistentvolumeclaims")
HASH_LABEL = "pod-template-hash"
REVISION_LABEL = "controller-revision-hash"
_SAFE = "bcdf2456789ghjklmnpqrstvwxz"


def controller_ref(owner: Obj) -> Obj:
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


def controller_of(obj: Obj) -> Obj | None:
    return next((r for r in obj["metadata"].get("ownerReferences") or [] if r.get("controller")), None)


def owned(cluster: Cluster, owner: Obj, key: StoreKey) -> list[Obj]:
    """Live dependents of ``owner`` in store ``key`` whose controller reference points at it."""
    uid = owner["metadata"]["uid"]
    result = []
    for dep_key, ns, name in cluster.store.owned_by(uid):
        if dep_key != key:
            continue
        obj = cluster.store.get(key, ns, name)
        ref = controller_of(obj) if obj else None
        if obj is not None and ref is not None and ref.get("uid") == uid:
            result.append(obj)
    return result


def live(pods: list[Obj]) -> list[Obj]:
    return [p for p in pods if not p["metadata"].get("deletionTimestamp")]


def pruned(value: Any) -> Any:
    """Drop nulls and empty maps/lists: clients that round-trip through Go structs add them (``creationTimestamp:
    null``, ``resources: {}``), and a real server's typed decoding makes such templates compare equal."""
    if isinstance(value, dict):
        items = ((k, pruned(v)) for k, v in value.items())
        return {k: v for k, v in items if v not in (None, {}, [])}
    if isinstance(value, list):
        return [pruned(v) for v in value]
    return value


def same_template(a: Obj, b: Obj) -> bool:
    return bool(pruned(a) == pruned(b))


def template_hash(template: Obj) -> str:
    """A stable short hash of a pod template, rendered like Kubernetes' safe-encoded name suffixes."""
    digest = hashlib.sha256(json.dumps(pruned(template), sort_keys=True).encode()).digest()
    value = int.from_bytes(digest[:4], "big")
    out = []
    while value:
        value, rem = divmod(value, len(_SAFE))
        out.append(_SAFE[rem])
    return "".join(out) or _SAFE[0]


def without_label(template: Obj, label: str) -> Obj:
    clone = copy.deepcopy(template)
    labels = clone.get("metadata", {}).get("labels")
    if labels:
        labels.pop(label, None)
    return clone


def pod_body(owner: Obj, template: Obj, name: str, labels: Obj | None = None) -> Obj:
    meta = template.get("metadata") or {}
    pod: Obj = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": owner["metadata"]["namespace"],
            "labels": {**(meta.get("labels") or {}), **(labels or {})},
            "ownerReferences": [controller_ref(owner)],
        },
        "spec": copy.deepcopy(template.get("spec") or {}),
    }
    if meta.get("annotations"):
        pod["metadata"]["annotations"] = dict(meta["annotations"])
    return pod


def create_named(cluster: Cluster, body: Obj, base: str) -> Obj | None:
    """Create a pod named ``base-<suffix>``, retrying on the rare suffix collision."""
    rt = cluster.resource("", "pods")
    for _ in range(5):
        body["metadata"]["name"] = f"{base}-{cluster.suffix()}"
        try:
            return cluster.create(rt, body["metadata"]["namespace"], body)
        except ApiError as exc:
            if exc.code != 409:
                return None  # e.g. the namespace is being deleted
    return None


def delete_quietly(cluster: Cluster, key: StoreKey, obj: Obj) -> None:
    rt = cluster.resource(*key)
    with contextlib.suppress(ApiError):
        cluster.delete(rt, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])


def is_ready(pod: Obj) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in pod.get("status", {}).get("conditions") or [])


def condition(kind: str, status: bool, reason: str, message: str, stamp: str, update_time: bool = False) -> Obj:
    cond = {"type": kind, "status": "True" if status else "False", "reason": reason, "message": message,
            "lastTransitionTime": stamp}
    if update_time:
        cond["lastUpdateTime"] = stamp
    return cond


def merge_conditions(old: list[Obj] | None, new: list[Obj]) -> list[Obj]:
    """Keep old timestamps when a condition did not change, so recomputed status compares equal (no write)."""
    previous = {c.get("type"): c for c in old or []}
    merged = []
    for fresh in new:
        cond = dict(fresh)
        before = previous.get(cond["type"])
        if before is not None and before.get("status") == cond["status"]:
            cond["lastTransitionTime"] = before.get("lastTransitionTime")
            if "lastUpdateTime" in cond and before.get("reason") == cond["reason"] and \
                    before.get("message") == cond["message"]:
                cond["lastUpdateTime"] = before.get("lastUpdateTime")
        merged.append(cond)
    return merged


def scaled(value: Any, total: int, round_up: bool) -> int:
    """Resolve an int-or-percent rollout parameter against ``total`` replicas."""
    if isinstance(value, str) and value.endswith("%"):
        exact = total * int(value[:-1]) / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    return int(value or 0)


def max_unavailable(deployment: Obj) -> int:
    spec = deployment.get("spec", {})
    replicas = int(spec.get("replicas", 1))
    strategy = spec.get("strategy") or {}
    if strategy.get("type") != "RollingUpdate" or replicas == 0:
        return 0
    rolling = strategy.get("rollingUpdate") or {}
    surge = scaled(rolling.get("maxSurge", "25%"), replicas, True)
    unavailable = scaled(rolling.get("maxUnavailable", "25%"), replicas, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return min(unavailable, replicas)


def nonzero(**counts: int) -> Obj:
    """Status counters are omitempty in the Kubernetes API: zero values are left out."""
    return {k: v for k, v in counts.items() if v}
