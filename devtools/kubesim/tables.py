"""Server-side printing (``meta.k8s.io/v1 Table``): what ``kubectl get`` asks for, so its output looks familiar."""

from __future__ import annotations

import calendar
import time
from collections.abc import Callable
from typing import Any

from devtools.kubesim.resources import ResourceType

Obj = dict[str, Any]
Column = tuple[str, str, int, Callable[[Obj], Any]]  # (name, type, priority, cell)


def age(obj: Obj) -> str:
    stamp = obj.get("metadata", {}).get("creationTimestamp")
    if not stamp:
        return "<unknown>"
    seconds = max(0, int(time.time()) - calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")))
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 120:
        return f"{seconds}s"
    if minutes < 60:
        return f"{minutes}m"
    if hours < 48:
        return f"{hours}h{minutes % 60}m" if hours < 8 else f"{hours}h"
    return f"{days}d" if days > 7 else f"{days}d{hours % 24}h"


def _status(obj: Obj) -> Obj:
    status = obj.get("status")
    return status if isinstance(status, dict) else {}


def _node_status(node: Obj) -> str:
    ready = next((c for c in _status(node).get("conditions") or [] if c.get("type") == "Ready"), None)
    text = "Ready" if ready and ready.get("status") == "True" else "NotReady"
    return text + (",SchedulingDisabled" if node.get("spec", {}).get("unschedulable") else "")


def _roles(node: Obj) -> str:
    prefix = "node-role.kubernetes.io/"
    roles = sorted(k[len(prefix):] for k in node["metadata"].get("labels") or {} if k.startswith(prefix))
    return ",".join(roles) or "<none>"


def _pod_status(pod: Obj) -> str:
    status = _status(pod)
    for cs in status.get("containerStatuses") or []:
        state = cs.get("state") or {}
        if state.get("waiting", {}).get("reason"):
            return str(state["waiting"]["reason"])
        if state.get("terminated", {}).get("reason") and status.get("phase") != "Running":
            return str(state["terminated"]["reason"])
    if pod["metadata"].get("deletionTimestamp"):
        return "Terminating"
    return str(status.get("phase", "Pending"))


def _pod_ready(pod: Obj) -> str:
    statuses = _status(pod).get("containerStatuses") or []
    total = len(pod.get("spec", {}).get("containers") or [])
    return f"{sum(1 for s in statuses if s.get('ready'))}/{total}"


def _internal_ip(node: Obj) -> str:
    return next((a["address"] for a in _status(node).get("addresses") or [] if a.get("type") == "InternalIP"),
                "<none>")


def _ports(svc: Obj) -> str:
    ports = svc.get("spec", {}).get("ports") or []
    return ",".join(f"{p.get('port')}{':' + str(p['nodePort']) if p.get('nodePort') else ''}/"
                    f"{p.get('protocol', 'TCP')}" for p in ports) or "<none>"


def _job_status(job: Obj) -> str:
    for cond in _status(job).get("conditions") or []:
        if cond.get("type") in ("Complete", "Failed") and cond.get("status") == "True":
            return str(cond["type"])
    return "Running"


def _ready(obj: Obj, field: str) -> str:
    """A field of the `Ready` condition, as Flux's printer columns show it."""
    cond: Obj = next((c for c in _status(obj).get("conditions") or [] if c.get("type") == "Ready"), {})
    return str(cond.get(field, ""))


NAME: Column = ("Name", "string", 0, lambda o: o["metadata"]["name"])
AGE: Column = ("Age", "string", 0, age)
COLUMNS: dict[tuple[str, str], list[Column]] = {
    ("", "nodes"): [NAME, ("Status", "string", 0, _node_status), ("Roles", "string", 0, _roles), AGE,
                    ("Version", "string", 0, lambda o: _status(o).get("nodeInfo", {}).get("kubeletVersion", "")),
                    ("Internal-IP", "string", 1, _internal_ip),
                    ("OS-Image", "string", 1, lambda o: _status(o).get("nodeInfo", {}).get("osImage", "")),
                    ("Kernel-Version", "string", 1,
                     lambda o: _status(o).get("nodeInfo", {}).get("kernelVersion", ""))],
    ("", "pods"): [NAME, ("Ready", "string", 0, _pod_ready), ("Status", "string", 0, _pod_status),
                   ("Restarts", "string", 0, lambda o: str(sum(int(s.get("restartCount", 0)) for s in
                                                               _status(o).get("containerStatuses") or []))),
                   AGE, ("IP", "string", 1, lambda o: _status(o).get("podIP", "<none>")),
                   ("Node", "string", 1, lambda o: o.get("spec", {}).get("nodeName", "<none>"))],
    ("apps", "deployments"): [
        NAME, ("Ready", "string", 0, lambda o: f"{_status(o).get('readyReplicas', 0)}/{o['spec'].get('replicas', 1)}"),
        ("Up-to-date", "integer", 0, lambda o: _status(o).get("updatedReplicas", 0)),
        ("Available", "integer", 0, lambda o: _status(o).get("availableReplicas", 0)), AGE],
    ("apps", "replicasets"): [
        NAME, ("Desired", "integer", 0, lambda o: o["spec"].get("replicas", 1)),
        ("Current", "integer", 0, lambda o: _status(o).get("replicas", 0)),
        ("Ready", "integer", 0, lambda o: _status(o).get("readyReplicas", 0)), AGE],
    ("apps", "statefulsets"): [
        NAME, ("Ready", "string", 0, lambda o: f"{_status(o).get('readyReplicas', 0)}/{o['spec'].get('replicas', 1)}"),
        AGE],
    ("apps", "daemonsets"): [
        NAME, ("Desired", "integer", 0, lambda o: _status(o).get("desiredNumberScheduled", 0)),
        ("Current", "integer", 0, lambda o: _status(o).get("currentNumberScheduled", 0)),
        ("Ready", "integer", 0, lambda o: _status(o).get("numberReady", 0)),
        ("Up-to-date", "integer", 0, lambda o: _status(o).get("updatedNumberScheduled", 0)),
        ("Available", "integer", 0, lambda o: _status(o).get("numberAvailable", 0)), AGE],
    ("batch", "jobs"): [
        NAME, ("Status", "string", 0, _job_status),
        ("Completions", "string", 0, lambda o: f"{_status(o).get('succeeded', 0)}/{o['spec'].get('completions', 1)}"),
        AGE],
    ("", "services"): [
        NAME, ("Type", "string", 0, lambda o: o["spec"].get("type", "ClusterIP")),
        ("Cluster-IP", "string", 0, lambda o: o["spec"].get("clusterIP", "<none>")),
        ("External-IP", "string", 0, lambda o: ",".join(
            i.get("ip", "") for i in _status(o).get("loadBalancer", {}).get("ingress") or []) or "<none>"),
        ("Port(s)", "string", 0, _ports), AGE],
    ("", "namespaces"): [NAME, ("Status", "string", 0, lambda o: _status(o).get("phase", "Active")), AGE],
    # The printer columns the ArgoCD and Flux CRDs declare (additionalPrinterColumns).
    ("argoproj.io", "applications"): [
        NAME, ("Sync Status", "string", 0, lambda o: _status(o).get("sync", {}).get("status", "")),
        ("Health Status", "string", 0, lambda o: _status(o).get("health", {}).get("status", "")),
        ("Revision", "string", 10, lambda o: _status(o).get("sync", {}).get("revision", "")),
        ("Project", "string", 10, lambda o: o.get("spec", {}).get("project", ""))],
    **{(group, plural): [NAME, AGE, ("Ready", "string", 0, lambda o: _ready(o, "status")),
                         ("Status", "string", 0, lambda o: _ready(o, "message"))]
       for group, plural in (("helm.toolkit.fluxcd.io", "helmreleases"),
                             ("source.toolkit.fluxcd.io", "helmrepositories"),
                             ("source.toolkit.fluxcd.io", "ocirepositories"),
                             ("source.toolkit.fluxcd.io", "gitrepositories"))},
}


def _row_object(obj: Obj, include: str) -> Obj | None:
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}


def table(rt: ResourceType, objects: list[Obj], list_meta: Obj, include: str = "Metadata") -> Obj:
    columns = COLUMNS.get(rt.key, [NAME, AGE])
    rows = []
    for obj in objects:
        row: Obj = {"cells": [cell(obj) for _, _, _, cell in columns]}
        embedded = _row_object(obj, include)
        if embedded is not None:
            row["object"] = embedded
        rows.append(row)
    definitions = [{"name": name, "type": kind, "format": "name" if name == "Name" else "", "description": "",
                    "priority": priority} for name, kind, priority, _ in columns]
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta,
            "columnDefinitions": definitions, "rows": rows}
