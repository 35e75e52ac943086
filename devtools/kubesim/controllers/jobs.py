"""Job controller: runs pods up to parallelism until completions succeed or backoffLimit failures pile up."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from devtools.kubesim.cluster import now
from devtools.kubesim.controllers.common import (
    JOBS,
    PODS,
    condition,
    create_named,
    is_ready,
    live,
    nonzero,
    owned,
    pod_body,
)

if TYPE_CHECKING:
    from devtools.kubesim.cluster import Cluster

Obj = dict[str, Any]


def _finished(job: Obj) -> bool:
    return any(c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
               for c in job.get("status", {}).get("conditions") or [])


def reconcile_job(cluster: Cluster, namespace: str, name: str) -> None:
    job = cluster.find(JOBS, namespace, name)
    if job is None or job["metadata"].get("deletionTimestamp") or _finished(job):
        return
    spec = job["spec"]
    if spec.get("suspend"):
        return
    pods = live(owned(cluster, job, PODS))
    succeeded = sum(1 for p in pods if p.get("status", {}).get("phase") == "Succeeded")
    failed = sum(1 for p in pods if p.get("status", {}).get("phase") == "Failed")
    active = len(pods) - succeeded - failed
    completions = int(spec.get("completions") or 1)
    parallelism = int(spec.get("parallelism", 1))
    if failed <= int(spec.get("backoffLimit", 6)) and succeeded < completions:
        for _ in range(max(0, min(parallelism - active, completions - succeeded - active))):
            create_named(cluster, pod_body(job, spec["template"], ""), name)
            active += 1
    stamp = now()
    old = job.get("status") or {}
    status: Obj = {"startTime": old.get("startTime") or stamp, "terminating": 0, "uncountedTerminatedPods": {},
                   **nonzero(active=active, succeeded=succeeded, failed=failed),
                   "ready": sum(1 for p in pods if is_ready(p))}
    if succeeded >= completions:
        status.pop("active", None)
        status["completionTime"] = stamp
        status["conditions"] = [
            condition("SuccessCriteriaMet", True, "CompletionsReached", "Reached expected number of succeeded pods",
                      stamp),
            condition("Complete", True, "CompletionsReached", "Reached expected number of succeeded pods", stamp)]
    elif failed > int(spec.get("backoffLimit", 6)):
        status.pop("active", None)
        status["conditions"] = [
            condition("FailureTarget", True, "BackoffLimitExceeded", "Job has reached the specified backoff limit",
                      stamp),
            condition("Failed", True, "BackoffLimitExceeded", "Job has reached the specified backoff limit", stamp)]
    if {k: v for k, v in status.items() if k != "startTime"} != {k: v for k, v in old.items() if k != "startTime"}:
        cluster.write_status(cluster.resource(*JOBS), job, status)
