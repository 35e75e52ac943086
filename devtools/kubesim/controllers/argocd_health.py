"""ArgoCD's health assessment of live resources, as gitops-engine's built-in checks decide it (pure functions).

Only kinds with a built-in check count towards an Application's health; the rest report no health. The
Application's health is the worst of its resources', in ArgoCD's order Healthy < Suspended < Progressing < Missing <
Degraded < Unknown.
"""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]
Health = tuple[str, str]  # (status, message)
ORDER = ("Healthy", "Suspended", "Progressing", "Missing", "Degraded", "Unknown")


def worst(statuses: list[str]) -> str:
    known = [s for s in statuses if s in ORDER]
    return max(known, key=ORDER.index) if known else "Healthy"


def _observed(obj: Obj) -> bool:
    return int((obj.get("status") or {}).get("observedGeneration") or 0) >= int(obj["metadata"].get("generation") or 0)


def deployment(obj: Obj) -> Health:
    spec, status, name = obj.get("spec") or {}, obj.get("status") or {}, obj["metadata"]["name"]
    if spec.get("paused"):
        return "Suspended", "Deployment is paused"
    if not _observed(obj):
        return "Progressing", ("Waiting for rollout to finish: observed deployment generation less than desired "
                               "generation")
    for cond in status.get("conditions") or []:
        if cond.get("type") == "Progressing" and cond.get("reason") == "ProgressDeadlineExceeded":
            return "Degraded", f'Deployment "{name}" exceeded its progress deadline'
    return _rollout(spec, status)


def _rollout(spec: Obj, status: Obj) -> Health:
    replicas = spec.get("replicas", 1)
    updated = int(status.get("updatedReplicas") or 0)
    if updated < replicas:
        return "Progressing", (f"Waiting for rollout to finish: {updated} out of {replicas} new replicas have been "
                               "updated...")
    if int(status.get("replicas") or 0) > updated:
        old = int(status.get("replicas") or 0) - updated
        return "Progressing", f"Waiting for rollout to finish: {old} old replicas are pending termination..."
    available = int(status.get("availableReplicas") or 0)
    if available < updated:
        return "Progressing", (f"Waiting for rollout to finish: {available} of {updated} updated replicas are "
                               "available...")
    return "Healthy", ""


def statefulset(obj: Obj) -> Health:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    if not _observed(obj):
        return "Progressing", "Waiting for statefulset spec update to be observed..."
    replicas, ready = spec.get("replicas", 1), int(status.get("readyReplicas") or 0)
    if ready < replicas:
        return "Progressing", f"Waiting for {replicas - ready} pods to be ready..."
    strategy = (spec.get("updateStrategy") or {}).get("type", "RollingUpdate")
    if strategy == "RollingUpdate" and status.get("updateRevision") != status.get("currentRevision"):
        return "Progressing", "waiting for statefulset rolling update to complete"
    return "Healthy", ""


def daemonset(obj: Obj) -> Health:
    status = obj.get("status") or {}
    if not _observed(obj):
        return "Progressing", ("Waiting for rollout to finish: observed daemon set generation less than desired "
                               "generation")
    desired = int(status.get("desiredNumberScheduled") or 0)
    if int(status.get("updatedNumberScheduled") or 0) < desired:
        return "Progressing", "Waiting for daemon set rollout to finish"
    if int(status.get("numberAvailable") or 0) < desired:
        return "Progressing", "Waiting for daemon set pods to be available"
    return "Healthy", ""


def service(obj: Obj) -> Health:
    if (obj.get("spec") or {}).get("type") == "LoadBalancer" and \
            not ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress"):
        return "Progressing", "Waiting for the load balancer"
    return "Healthy", ""


def claim(obj: Obj) -> Health:
    phase = str((obj.get("status") or {}).get("phase") or "Pending")
    return {"Bound": ("Healthy", ""), "Lost": ("Degraded", "claim lost")}.get(phase, ("Progressing", "Pending"))


def job(obj: Obj) -> Health:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("status") == "True" and cond.get("type") == "Failed":
            return "Degraded", str(cond.get("message") or "job failed")
        if cond.get("status") == "True" and cond.get("type") == "Complete":
            return "Healthy", str(cond.get("message") or "")
    return "Progressing", "job running"


CHECKS = {("apps", "Deployment"): deployment, ("apps", "StatefulSet"): statefulset,
          ("apps", "DaemonSet"): daemonset, ("", "Service"): service, ("", "PersistentVolumeClaim"): claim,
          ("batch", "Job"): job}


def assess(group: str, kind: str, obj: Obj | None) -> Health | None:
    """The resource's health, ("Missing", …) when it does not exist, None for kinds without a health check."""
    check = CHECKS.get((group, kind))
    if obj is None:
        return "Missing", "resource does not exist"
    return check(obj) if check is not None else None
