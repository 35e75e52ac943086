"""Pure mapping for the `argocd` DMS backend: a `ReleaseSpec` to an ArgoCD `Application`, an Application's status to
port types, and the decision whether a sync the adapter asked for is over. No I/O here (unit-tested without a
cluster).

Revisions: ArgoCD numbers its `status.history` entries from 0 and records only successful syncs; netweave's revision
of an entry is its id + 1, so the first deployed sync is revision 1 as with helm.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any, Literal

from chalicelib.adapters.dms.port import (
    ChartSource,
    PodStatus,
    ReleaseState,
    ReleaseStatus,
    Revision,
    WorkloadStatus,
)
from chalicelib.domain.ownership import DEPLOYMENT_LABEL, deployment_labels

Obj = dict[str, Any]
GROUP, VERSION, PLURAL = "argoproj.io", "v1alpha1", "applications"
FINALIZER = "resources-finalizer.argocd.argoproj.io"
TARGET_NAMESPACE = "netweave.io/target-namespace"
ADAPTER_ANNOTATION = "netweave.io/adapter"
FAILED_PHASES = frozenset({"Failed", "Error"})
INVALID_SPEC = "InvalidSpecError"
MAX_MESSAGE = 600
Outcome = Literal["pending", "succeeded", "failed"]


@dataclass(frozen=True)
class AppSettings:
    """What the adapter's options put into every Application it writes."""

    project: str
    destination_server: str
    automated_sync: bool
    prune: bool
    self_heal: bool
    adapter_id: str = ""


def argocd_source(source: ChartSource, name: str, values: Obj) -> Obj:
    """`spec.source` for a Helm repository chart or a chart directory in Git, values inline."""
    out: Obj = {"repoURL": source.repo_url, "targetRevision": source.revision}
    if source.kind == "helm-repo":
        out["chart"] = source.chart or name
    else:
        out["path"] = source.path or "."
    out["helm"] = {"releaseName": name, "valuesObject": copy.deepcopy(values)}
    return out


def application(name: str, namespace: str, source: Obj, settings: AppSettings, owner: str) -> Obj:
    """The whole Application object (without `metadata.namespace`, `resourceVersion` or `operation`), marked as
    deployment `owner`'s (chalicelib/domain/ownership.py)."""
    annotations = {TARGET_NAMESPACE: namespace}
    if settings.adapter_id:
        annotations[ADAPTER_ANNOTATION] = settings.adapter_id
    spec: Obj = {
        "project": settings.project,
        "source": source,
        "destination": {"server": settings.destination_server, "namespace": namespace},
        "syncPolicy": {"syncOptions": ["CreateNamespace=true"]},
    }
    if settings.automated_sync:
        spec["syncPolicy"]["automated"] = {"prune": settings.prune, "selfHeal": settings.self_heal}
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Application",
            "metadata": {"name": name, "labels": deployment_labels(owner), "annotations": annotations,
                         "finalizers": [FINALIZER]},
            "spec": spec}


def sync_operation(revision: str, source: Obj | None = None, prune: bool = False) -> Obj:
    """A manual sync (`operation`), optionally of another source than the spec's: that is ArgoCD's rollback."""
    sync: Obj = {"revision": revision, "prune": prune}
    if source is not None:
        sync["source"] = copy.deepcopy(source)
    return {"sync": sync, "initiatedBy": {"username": "netweave"}}


def application_name(name: str, namespace: str) -> str:
    """An Application per (namespace, release): namespaces have no dots, so the name is unambiguous (at most
    63 + 1 + 53 characters, a valid object name)."""
    return f"{namespace}.{name}"


def release_name(app: Obj) -> str:
    """The Helm release (and `app.kubernetes.io/instance` of the chart's objects) the Application deploys."""
    return str((spec_source(app).get("helm") or {}).get("releaseName") or app["metadata"]["name"])


def instance_labels(app: Obj) -> tuple[str, ...]:
    """Other `app.kubernetes.io/instance` values the release's objects may carry: the Application's name, which
    ArgoCD writes there under label tracking (ArgoCD 2's default; annotation tracking leaves the chart's)."""
    name = str(app["metadata"]["name"])
    return (name,) if name != release_name(app) else ()


def destination_namespace(app: Obj) -> str:
    return str(((app.get("spec") or {}).get("destination") or {}).get("namespace") or "")


def spec_source(app: Obj) -> Obj:
    spec = app.get("spec") or {}
    source = spec.get("source") or ((spec.get("sources") or [None])[0]) or {}
    return dict(source)


def _status(app: Obj) -> Obj:
    return dict(app.get("status") or {})


def _history(app: Obj) -> list[Obj]:
    return list(_status(app).get("history") or [])


def same_source(a: Obj | None, b: Obj | None) -> bool:
    """Whether two sources deploy the same thing (ignoring fields a controller may default or drop)."""
    def key(source: Obj | None) -> str:
        source = source or {}
        helm = source.get("helm") or {}
        return json.dumps([source.get("repoURL"), source.get("chart"), source.get("path"),
                           source.get("targetRevision"), helm.get("valuesObject"), helm.get("values"),
                           helm.get("parameters")], sort_keys=True)
    return key(a) == key(b)


def state(app: Obj) -> tuple[str, str, str]:
    """(sync status, health status, last operation phase), empty strings for what is not reported yet."""
    status = _status(app)
    return (str((status.get("sync") or {}).get("status") or ""),
            str((status.get("health") or {}).get("status") or ""),
            str((status.get("operationState") or {}).get("phase") or ""))


def message(app: Obj) -> str:
    """ArgoCD's own words about what is wrong — the degraded resources, the health, a failed sync — bounded."""
    status = _status(app)
    operation = status.get("operationState") or {}
    parts = [f"{r.get('kind')}/{r.get('name')}: {(r.get('health') or {}).get('message') or 'Degraded'}"
             for r in status.get("resources") or [] if (r.get("health") or {}).get("status") == "Degraded"]
    parts.append(str((status.get("health") or {}).get("message") or ""))
    if operation.get("phase") in FAILED_PHASES:
        parts.append(str(operation.get("message") or ""))
    for condition in status.get("conditions") or []:
        text = str(condition.get("message") or "")
        if str(condition.get("type", "")).endswith("Error") and not any(text in part for part in parts):
            parts.append(text)
    text = "; ".join(dict.fromkeys(p for p in parts if p)) or "sync failed"
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def invalid_spec(app: Obj) -> str | None:
    """ArgoCD's `InvalidSpecError` about the Application's current destination or repository (an unknown cluster, a
    destination or repository the project does not allow): ArgoCD neither compares nor syncs such an Application
    until its spec changes. A condition left from an earlier spec names another destination or repository: ignored,
    ArgoCD replaces it on its next refresh."""
    destination = (app.get("spec") or {}).get("destination") or {}
    where = [str(v) for v in (destination.get("server"), destination.get("name")) if v]
    repository = str(spec_source(app).get("repoURL") or "")
    named = [*where, *([repository] if repository else [])]
    for condition in _status(app).get("conditions") or []:
        text = str(condition.get("message") or "")
        if condition.get("type") == INVALID_SPEC and (not where or any(n in text for n in named)):
            return text
    return None


def outcome(app: Obj, target: Obj, require_synced: bool) -> Outcome:
    """Whether the sync of `target` the adapter asked for is over. Only a finished operation whose result is that
    very source counts, so the state left by an earlier sync is never taken for the new one; an Application ArgoCD
    refuses to sync (`invalid_spec`) has failed at once."""
    if app["metadata"].get("deletionTimestamp"):
        return "pending"
    if invalid_spec(app):
        return "failed"
    sync, health, phase = state(app)
    result = ((_status(app).get("operationState") or {}).get("syncResult") or {}).get("source")
    if app.get("operation") or not same_source(result, target):
        return "pending"
    if phase in FAILED_PHASES or health == "Degraded":
        return "failed"
    if phase == "Succeeded" and health == "Healthy" and (sync == "Synced" or not require_synced):
        return "succeeded"
    return "pending"


def _rolled_back(app: Obj) -> bool:
    """The last operation deployed a source of its own (a rollback), which leaves the app OutOfSync with its spec."""
    operation_state = _status(app).get("operationState") or {}
    own = ((operation_state.get("operation") or {}).get("sync") or {}).get("source")
    history = _history(app)
    return bool(own) and operation_state.get("phase") == "Succeeded" and bool(history) and \
        same_source(own, history[-1].get("source"))


def release_state(app: Obj) -> ReleaseState:
    if app["metadata"].get("deletionTimestamp"):
        return "uninstalling"
    sync, health, phase = state(app)
    if phase in FAILED_PHASES or health == "Degraded" or invalid_spec(app):
        return "failed"
    if health == "Healthy" and phase != "Running" and not app.get("operation") and (
            sync == "Synced" or _rolled_back(app)):
        return "deployed"
    return "pending-upgrade" if _history(app) else "pending-install"


def revision_number(app: Obj) -> int:
    history = _history(app)
    return int(history[-1].get("id", len(history) - 1)) + 1 if history else 0


def history_entry(app: Obj, revision: int | None) -> Obj | None:
    """The history entry of a netweave revision (None: the one before the current)."""
    history = _history(app)
    if revision is None:
        return history[-2] if len(history) >= 2 else None
    return next((h for h in history if int(h.get("id", -1)) + 1 == revision), None)


def chart_of(source: Obj) -> tuple[str, str]:
    return str(source.get("chart") or source.get("path") or ""), str(source.get("targetRevision") or "")


def release_status(app: Obj, workloads: list[WorkloadStatus], pods: list[PodStatus]) -> ReleaseStatus:
    status, history = _status(app), _history(app)
    live = (history[-1].get("source") if history else None) or spec_source(app)
    chart, version = chart_of(live)
    sync, health, _ = state(app)
    updated = (history[-1].get("deployedAt") if history else None) or status.get("reconciledAt") or None
    return ReleaseStatus(
        name=release_name(app), namespace=destination_namespace(app), revision=revision_number(app),
        status=release_state(app), chart_name=chart, chart_version=version, app_version=None, updated_at=updated,
        workloads=workloads, pods=pods, owner=((app.get("metadata") or {}).get("labels") or {}).get(DEPLOYMENT_LABEL),
        details={"argocd": {"project": (app.get("spec") or {}).get("project"), "syncStatus": sync or None,
                            "healthStatus": health or None,
                            "revision": (status.get("sync") or {}).get("revision")}})


def revisions(app: Obj) -> list[Revision]:
    """Oldest first; the last entry is what ArgoCD synced last, in the Application's current state (a sync that
    applied pods which then crash is in the history, unhealthy; one that could not be applied is not)."""
    history = _history(app)
    out = []
    for index, entry in enumerate(history):
        chart, version = chart_of(entry.get("source") or {})
        out.append(Revision(revision=int(entry.get("id", index)) + 1,
                            status=release_state(app) if index == len(history) - 1 else "superseded",
                            chart=f"{chart}-{version}", app_version=None, updated_at=entry.get("deployedAt"),
                            description=f"ArgoCD sync of revision {entry.get('revision')}"))
    return out
