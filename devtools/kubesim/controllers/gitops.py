"""Shared machinery of the simulated GitOps controllers (``GitOps``: delays, finalizers, status writes). ArgoCD, which
renders and applies charts itself, is in ``argocd``; Flux, which runs the real helm against kubesim, is in ``flux``.

Both report an in-progress status first and the outcome after a short delay (``SYNC_DELAY``, ``SOURCE_DELAY``), so
adapters see a Progressing/Reconciling phase first. On delete, their finalizers are removed after ``FINALIZE_DELAY``
once their cleanup is over (ArgoCD deletes what it deployed, Flux uninstalls the Helm release).

Each object carries a due time (monotonic) from its last input change; a reconcile before that time writes the
in-progress status, one at or after it writes the outcome.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

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
GITREPOSITORIES: StoreKey = ("source.toolkit.fluxcd.io", "gitrepositories")
ARGOCD_FINALIZERS = ("resources-finalizer.argocd.argoproj.io", "resources-finalizer.argocd.argoproj.io/background",
                     "resources-finalizer.argocd.argoproj.io/foreground")
FLUX_FINALIZER = "finalizers.fluxcd.io"
OWN_FINALIZERS = (*ARGOCD_FINALIZERS, FLUX_FINALIZER)
REQUESTED_AT = "reconcile.fluxcd.io/requestedAt"
HISTORY_LIMIT = 10  # ArgoCD's default revisionHistoryLimit; Flux keeps 5 snapshots by default
FLUX_HISTORY_LIMIT = 5


def digest(value: Any) -> str:
    return "sha256:" + hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


class GitOps:
    """What the simulated GitOps controllers share; subclasses name the resources they `watch`."""

    watched: dict[StoreKey, str] = {}

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
    def on_event(self, event: Event) -> None:
        kind = self.watched.get(event.key)
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
        elif event.key in (HELMREPOSITORIES, OCIREPOSITORIES, GITREPOSITORIES):
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

    def _finalize(self, key: StoreKey, obj: Obj, cleanup: Callable[[Obj], None] | None = None) -> bool:
        """True when the object is being deleted; our finalizers go once the cleanup is over."""
        meta = obj["metadata"]
        if not meta.get("deletionTimestamp"):
            return False
        finalizers = meta.get("finalizers") or []
        if self._ripe(obj) and any(f in OWN_FINALIZERS for f in finalizers):
            if cleanup is not None:
                cleanup(obj)
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


def _inputs(obj: Obj) -> tuple[Any, ...]:
    """What the controllers react to: spec, a requested operation, deletion and the reconcile request annotation."""
    meta = obj["metadata"]
    return (obj.get("spec"), obj.get("operation"), meta.get("deletionTimestamp"), meta.get("finalizers"),
            (meta.get("annotations") or {}).get(REQUESTED_AT))
