"""Minimal ArgoCD and Flux controllers: Applications sync, HelmReleases install/upgrade, sources become Ready.

Nothing is rendered or applied: the controllers only write the status the real ones would, after a short delay
(``SYNC_DELAY``, ``SOURCE_DELAY``), so adapters see a Progressing/Running phase first and the final state a moment
later. Failure knob: the Helm value ``image.tag`` set to ``fail``. On delete, the ArgoCD resources finalizer and the
Flux finalizer are removed after ``FINALIZE_DELAY`` (simulated cascade deletion / uninstall).

Each object carries a due time (monotonic) from its last input change; a reconcile before that time writes the
in-progress status, one at or after it writes the outcome.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from devtools.kubesim.cluster import now
from devtools.kubesim.controllers.common import merge_conditions
from devtools.kubesim.errors import ApiError
from devtools.kubesim.resources import StoreKey
from devtools.kubesim.store import Event

if TYPE_CHECKING:
    from devtools.kubesim.cluster import Cluster

Obj = dict[str, Any]
Key = tuple[str, str, str]
APPLICATIONS: StoreKey = ("argoproj.io", "applications")
HELMRELEASES: StoreKey = ("helm.toolkit.fluxcd.io", "helmreleases")
HELMREPOSITORIES: StoreKey = ("source.toolkit.fluxcd.io", "helmrepositories")
OCIREPOSITORIES: StoreKey = ("source.toolkit.fluxcd.io", "ocirepositories")
WATCHED: dict[StoreKey, str] = {APPLICATIONS: "applications", HELMRELEASES: "helmreleases",
                                HELMREPOSITORIES: "helmrepositories", OCIREPOSITORIES: "ocirepositories"}
ARGOCD_FINALIZERS = ("resources-finalizer.argocd.argoproj.io", "resources-finalizer.argocd.argoproj.io/background",
                     "resources-finalizer.argocd.argoproj.io/foreground")
FLUX_FINALIZER = "finalizers.fluxcd.io"
OWN_FINALIZERS = (*ARGOCD_FINALIZERS, FLUX_FINALIZER)
REQUESTED_AT = "reconcile.fluxcd.io/requestedAt"
HISTORY_LIMIT = 10  # ArgoCD's default revisionHistoryLimit; Flux keeps 5 snapshots by default
FLUX_HISTORY_LIMIT = 5
_FAIL_IN_STRING = re.compile(r"\btag:\s*[\"']?fail[\"']?\s*$", re.MULTILINE)


def _digest(value: Any) -> str:
    return "sha256:" + hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def _failing_values(values: Any) -> bool:
    """The failure knob: Helm values with ``image.tag: fail`` (as an object or as a YAML string)."""
    if isinstance(values, str):
        return bool(_FAIL_IN_STRING.search(values))
    if isinstance(values, dict):
        image = values.get("image")
        return isinstance(image, dict) and image.get("tag") == "fail"
    return False


def _source_fails(source: Obj) -> bool:
    helm = source.get("helm") or {}
    params = helm.get("parameters") or []
    return (_failing_values(helm.get("valuesObject")) or _failing_values(helm.get("values"))
            or any(p.get("name") == "image.tag" and p.get("value") == "fail" for p in params))


class GitOps:
    """ArgoCD application controller, Flux helm-controller and source-controller, reduced to their status."""

    SYNC_DELAY = 0.5
    SOURCE_DELAY = 0.2
    FINALIZE_DELAY = 0.2

    def __init__(self, cluster: Cluster, enqueue: Callable[[Key], None],
                 schedule_later: Callable[[float, Key], None]) -> None:
        self.cluster = cluster
        self.enqueue = enqueue
        self.schedule_later = schedule_later
        self._due: dict[str, float] = {}  # uid -> monotonic time the pending work completes

    # -- event routing ----------------------------------------------------------------------------------------
    def reconcilers(self) -> dict[str, Callable[[str, str], None]]:
        return {"applications": self.reconcile_application, "helmreleases": self.reconcile_helmrelease,
                "helmrepositories": lambda ns, n: self.reconcile_source(HELMREPOSITORIES, ns, n),
                "ocirepositories": lambda ns, n: self.reconcile_source(OCIREPOSITORIES, ns, n)}

    def on_event(self, event: Event) -> None:
        kind = WATCHED.get(event.key)
        if kind is None:
            return
        obj = event.entry.obj
        meta = obj["metadata"]
        if event.type == "DELETED":
            self._due.pop(meta["uid"], None)
            return
        if event.old is not None and _inputs(event.old) == _inputs(obj):
            return  # our own status writes, or metadata noise
        if meta.get("deletionTimestamp"):
            delay = self.FINALIZE_DELAY
        elif event.key in (HELMREPOSITORIES, OCIREPOSITORIES):
            delay = self.SOURCE_DELAY
        else:
            delay = self.SYNC_DELAY
        self._due[meta["uid"]] = time.monotonic() + delay
        key = (kind, meta.get("namespace", ""), meta["name"])
        self.enqueue(key)  # the in-progress status now
        self.schedule_later(delay, key)  # the outcome later

    def _ripe(self, obj: Obj) -> bool:
        due = self._due.get(obj["metadata"]["uid"])
        return due is None or time.monotonic() >= due - 0.001

    def _finalize(self, key: StoreKey, obj: Obj) -> bool:
        """True when the object is being deleted; our finalizers go once the (simulated) cleanup is over."""
        meta = obj["metadata"]
        if not meta.get("deletionTimestamp"):
            return False
        finalizers = meta.get("finalizers") or []
        if self._ripe(obj) and any(f in OWN_FINALIZERS for f in finalizers):
            body = copy.deepcopy(obj)
            body["metadata"]["finalizers"] = [f for f in finalizers if f not in OWN_FINALIZERS]
            with contextlib.suppress(ApiError):  # deleted or changed meanwhile; the next event brings us back
                self.cluster.update(self.cluster.resource(*key), meta.get("namespace", ""), meta["name"], body)
        return True

    def _write_status(self, key: StoreKey, obj: Obj, status: Obj) -> Obj:
        try:
            return self.cluster.write_status(self.cluster.resource(*key), obj, status)
        except ApiError:
            return obj

    # -- ArgoCD Application -------------------------------------------------------------------------------------
    def reconcile_application(self, namespace: str, name: str) -> None:
        app = self.cluster.find(APPLICATIONS, namespace, name)
        if app is None or self._finalize(APPLICATIONS, app):
            return
        spec = app.get("spec") or {}
        source = _app_source(spec)
        status = copy.deepcopy(app.get("status") or {})
        operation = app.get("operation")
        automated = (spec.get("syncPolicy") or {}).get("automated") is not None
        attempted = ((status.get("operationState") or {}).get("syncResult") or {}).get("source")
        target: Obj | None = None
        if operation:
            target = _operation_source(operation, source)
        elif automated and attempted != source:
            target = source
        if target is None:
            self._app_idle(app, status, source)
            return
        op = operation or {"sync": {"revision": source.get("targetRevision", "HEAD")},
                           "initiatedBy": {"automated": True}}
        if not self._ripe(app):
            self._app_running(app, status, source, op)
            return
        self._app_sync(app, status, source, target, op)
        if operation:
            self._clear_operation(app)

    def _app_idle(self, app: Obj, status: Obj, source: Obj) -> None:
        """No sync to run: report whether the live state (last successful sync) matches the desired source."""
        history = status.get("history") or []
        deployed = history[-1].get("source") if history else None
        sync = dict(status.get("sync") or {})
        sync["status"] = "Synced" if deployed == source else "OutOfSync"
        sync["comparedTo"] = {"source": source, "destination": (app.get("spec") or {}).get("destination") or {}}
        if "revision" not in sync and history:
            sync["revision"] = history[-1].get("revision")
        status["sync"] = sync
        status.setdefault("health", {"status": "Missing"} if not history else {"status": "Healthy"})
        status.setdefault("reconciledAt", now())
        status["observedAt"] = status["reconciledAt"]
        self._write_status(APPLICATIONS, app, status)

    def _app_running(self, app: Obj, status: Obj, source: Obj, op: Obj) -> None:
        status["sync"] = {**(status.get("sync") or {}), "status": "OutOfSync",
                          "comparedTo": {"source": source,
                                         "destination": (app.get("spec") or {}).get("destination") or {}}}
        status["health"] = {"status": "Progressing"}
        previous = status.get("operationState") or {}
        if previous.get("phase") != "Running":
            status["operationState"] = {"operation": op, "phase": "Running", "message": "waiting for completion",
                                        "startedAt": now(), "syncResult": previous.get("syncResult") or {}}
        self._write_status(APPLICATIONS, app, status)

    def _app_sync(self, app: Obj, status: Obj, source: Obj, target: Obj, op: Obj) -> None:
        stamp = now()
        revision = target.get("targetRevision", "HEAD")
        started = (status.get("operationState") or {}).get("startedAt") or stamp
        failed = _source_fails(target)
        spec = app.get("spec") or {}
        if failed:
            message = "one or more objects failed to apply: container image tag 'fail' (kubesim failure knob)"
            status["health"] = {"status": "Degraded", "message": message}
        else:
            message = "successfully synced (all tasks run)"
            status["health"] = {"status": "Healthy"}
        status["operationState"] = {"operation": op, "phase": "Failed" if failed else "Succeeded",
                                    "message": message, "startedAt": started, "finishedAt": stamp,
                                    "syncResult": {"revision": revision, "source": copy.deepcopy(target)}}
        history = list(status.get("history") or [])
        if not failed and (not history or history[-1].get("source") != target):
            next_id = int(history[-1].get("id", -1)) + 1 if history else 0
            history.append({"id": next_id, "revision": revision, "deployedAt": stamp, "deployStartedAt": started,
                            "source": copy.deepcopy(target)})
            limit = int(spec.get("revisionHistoryLimit", HISTORY_LIMIT))
            status["history"] = history[-limit:] if limit > 0 else history
        status["sync"] = {"status": "Synced" if not failed and target == source else "OutOfSync",
                          "revision": revision,
                          "comparedTo": {"source": source, "destination": spec.get("destination") or {}}}
        status["reconciledAt"] = status["observedAt"] = stamp
        status["sourceType"] = "Helm" if target.get("chart") or target.get("helm") else "Directory"
        status["summary"] = {"images": []}
        self._write_status(APPLICATIONS, app, status)

    def _clear_operation(self, app: Obj) -> None:
        current = self.cluster.find(APPLICATIONS, app["metadata"].get("namespace", ""), app["metadata"]["name"])
        if current is None or "operation" not in current:
            return
        body = {k: copy.deepcopy(v) for k, v in current.items() if k != "operation"}
        with contextlib.suppress(ApiError):
            self.cluster.update(self.cluster.resource(*APPLICATIONS), body["metadata"].get("namespace", ""),
                                body["metadata"]["name"], body)

    # -- Flux HelmRelease ---------------------------------------------------------------------------------------
    def reconcile_helmrelease(self, namespace: str, name: str) -> None:
        hr = self.cluster.find(HELMRELEASES, namespace, name)
        if hr is None or self._finalize(HELMRELEASES, hr):
            return
        spec = hr.get("spec") or {}
        status = copy.deepcopy(hr.get("status") or {})
        generation = hr["metadata"].get("generation", 1)
        requested = (hr["metadata"].get("annotations") or {}).get(REQUESTED_AT)
        if spec.get("suspend"):
            return
        if status.get("observedGeneration") == generation and status.get("lastHandledReconcileAt") == requested:
            return
        stamp = now()
        if not self._ripe(hr):
            conditions = [
                {"type": "Reconciling", "status": "True", "reason": "Progressing",
                 "message": f"Fulfilling prerequisites (generation {generation})", "lastTransitionTime": stamp,
                 "observedGeneration": generation},
                {"type": "Ready", "status": "Unknown", "reason": "Progressing",
                 "message": f"Fulfilling prerequisites (generation {generation})", "lastTransitionTime": stamp,
                 "observedGeneration": generation}]
            status["conditions"] = merge_conditions(status.get("conditions"), conditions)
            self._write_status(HELMRELEASES, hr, status)
            return
        self._helm_release(hr, spec, status, stamp)

    def _helm_release(self, hr: Obj, spec: Obj, status: Obj, stamp: str) -> None:
        meta = hr["metadata"]
        generation = meta.get("generation", 1)
        chart_name, version = self._chart(meta.get("namespace", ""), spec)
        values = spec.get("values") or {}
        config_digest = _digest(values)
        history: list[Obj] = list(status.get("history") or [])
        deployed = next((h for h in history if h.get("status") == "deployed"), None)
        install = deployed is None
        unchanged = deployed is not None and deployed.get("chartVersion") == version and \
            deployed.get("configDigest") == config_digest and deployed.get("chartName") == chart_name
        failed = _failing_values(values)
        action = "install" if install else "upgrade"
        release = spec.get("releaseName") or (f"{spec['targetNamespace']}-{meta['name']}"
                                               if spec.get("targetNamespace") else meta["name"])
        target_ns = spec.get("targetNamespace") or meta.get("namespace", "")
        if not unchanged:
            number = int(history[0].get("version", 0)) + 1 if history else 1
            snapshot = {"name": release, "namespace": target_ns, "version": number,
                        "status": "failed" if failed else "deployed", "chartName": chart_name,
                        "chartVersion": version, "appVersion": version, "configDigest": config_digest,
                        "firstDeployed": stamp, "lastDeployed": stamp,
                        "digest": _digest([release, number, chart_name, version, config_digest])}
            if not failed:
                history = [{**h, "status": "superseded"} if h.get("status") == "deployed" else h for h in history]
            history = [snapshot, *history][:FLUX_HISTORY_LIMIT]
        verb = "Helm install" if install else "Helm upgrade"
        if failed:
            reason = "InstallFailed" if install else "UpgradeFailed"
            message = (f"{verb} failed for release {target_ns}/{release} with chart {chart_name}@{version}: "
                       "container image tag 'fail' (kubesim failure knob)")
            key = "installFailures" if install else "upgradeFailures"
            status[key] = int(status.get(key, 0)) + 1
        else:
            reason = "InstallSucceeded" if install else "UpgradeSucceeded"
            message = f"{verb} succeeded for release {target_ns}/{release}.v{history[0]['version']} with chart " \
                      f"{chart_name}@{version}"
            status.pop("installFailures", None)
            status.pop("upgradeFailures", None)
        conditions = [
            {"type": "Ready", "status": "False" if failed else "True", "reason": reason, "message": message,
             "lastTransitionTime": stamp, "observedGeneration": generation},
            {"type": "Released", "status": "False" if failed else "True", "reason": reason, "message": message,
             "lastTransitionTime": stamp, "observedGeneration": generation}]
        status["conditions"] = merge_conditions(status.get("conditions"), conditions)  # drops Reconciling
        status.update(observedGeneration=generation, lastAttemptedGeneration=generation,
                      lastAttemptedRevision=version, lastAttemptedConfigDigest=config_digest,
                      lastAttemptedReleaseAction=action, history=history, storageNamespace=target_ns,
                      helmChart=f"{meta.get('namespace', '')}/{meta.get('namespace', '')}-{meta['name']}")
        requested = (meta.get("annotations") or {}).get(REQUESTED_AT)
        if requested is not None:
            status["lastHandledReconcileAt"] = requested
        self._write_status(HELMRELEASES, hr, status)

    def _chart(self, namespace: str, spec: Obj) -> tuple[str, str]:
        """(chart name, version) from ``spec.chart.spec`` or, for ``spec.chartRef``, the OCIRepository's ref."""
        chart_spec = (spec.get("chart") or {}).get("spec") or {}
        if chart_spec:
            return str(chart_spec.get("chart", "")), str(chart_spec.get("version") or "0.1.0")
        ref = spec.get("chartRef") or {}
        repo = self.cluster.find(OCIREPOSITORIES, ref.get("namespace") or namespace, ref.get("name", ""))
        tag = ((repo or {}).get("spec") or {}).get("ref", {}).get("tag") or "0.1.0"
        url = ((repo or {}).get("spec") or {}).get("url", "")
        return (url.rstrip("/").rsplit("/", 1)[-1] or str(ref.get("name", ""))), str(tag)

    # -- Flux sources -------------------------------------------------------------------------------------------
    def reconcile_source(self, key: StoreKey, namespace: str, name: str) -> None:
        repo = self.cluster.find(key, namespace, name)
        if repo is None or self._finalize(key, repo):
            return
        spec = repo.get("spec") or {}
        generation = repo["metadata"].get("generation", 1)
        status = copy.deepcopy(repo.get("status") or {})
        if status.get("observedGeneration") == generation or spec.get("suspend"):
            return
        stamp = now()
        if not self._ripe(repo):
            cond = {"type": "Ready", "status": "Unknown", "reason": "Progressing",
                    "message": "building artifact", "lastTransitionTime": stamp, "observedGeneration": generation}
            status["conditions"] = merge_conditions(status.get("conditions"), [cond])
            self._write_status(key, repo, status)
            return
        url = spec.get("url", "")
        if key == OCIREPOSITORIES:
            ref = spec.get("ref") or {}
            revision = f"{ref.get('tag') or 'latest'}@{_digest(url + str(ref))}"
            message = f"stored artifact for digest '{revision}'"
        else:
            revision = _digest([url, generation])[7:]
            message = f"stored artifact: revision '{revision}'"
        cond = {"type": "Ready", "status": "True", "reason": "Succeeded", "message": message,
                "lastTransitionTime": stamp, "observedGeneration": generation}
        status["conditions"] = merge_conditions(status.get("conditions"), [cond])
        kind = "ocirepository" if key == OCIREPOSITORIES else "helmrepository"
        status.update(observedGeneration=generation, url=url, artifact={
            "revision": revision, "digest": _digest(revision), "lastUpdateTime": stamp,
            "path": f"{kind}/{namespace}/{name}/index.tar.gz",
            "url": f"http://source-controller.flux-system.svc.cluster.local./{kind}/{namespace}/{name}/index.tar.gz"})
        self._write_status(key, repo, status)


def _inputs(obj: Obj) -> tuple[Any, ...]:
    """What the controllers react to: spec, a requested operation, deletion and the reconcile request annotation."""
    meta = obj["metadata"]
    return (obj.get("spec"), obj.get("operation"), meta.get("deletionTimestamp"), meta.get("finalizers"),
            (meta.get("annotations") or {}).get(REQUESTED_AT))


def _app_source(spec: Obj) -> Obj:
    source = spec.get("source")
    if source is None and spec.get("sources"):
        source = spec["sources"][0]
    return dict(source or {})


def _operation_source(operation: Obj, source: Obj) -> Obj:
    """The source a manual sync deploys: the operation's own (a rollback) or the spec's, at an optional revision."""
    sync = operation.get("sync") or {}
    if sync.get("source"):
        return dict(sync["source"])
    if sync.get("revision"):
        return {**source, "targetRevision": sync["revision"]}
    return source
