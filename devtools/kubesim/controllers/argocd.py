"""A minimal ArgoCD application controller that really deploys: the chart is fetched and rendered with ``helm template``
(see ``argocd_render``), the manifests are applied into the destination namespace, and the Application's health is
assessed from the live resources the way ArgoCD does (``argocd_health``).

Sync: automated (``spec.syncPolicy.automated``) whenever the spec's source differs from the last attempted one, or
manual through ``operation`` (a rollback is a manual sync of an earlier history entry's source). Every successful sync
appends a history entry, as ArgoCD does. A chart that cannot be fetched or rendered fails the sync with helm's words
(``ComparisonError``); resources that crash stay ``Progressing`` — the real health checks — until a Deployment's
progress deadline passes. Prune on automated prune or a sync with ``prune``; the resources finalizer deletes what the
Application deployed. An Application whose destination is no cluster ArgoCD knows is neither compared nor synced:
``InvalidSpecError`` with ArgoCD's message, sync and health ``Unknown`` (``argocd_clusters``). Not simulated: self-heal,
sync waves and hooks, resource exclusions.
"""

from __future__ import annotations

import contextlib
import copy
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from devtools.kubesim.cluster import NAMESPACES, now
from devtools.kubesim.controllers import argocd_clusters as clusters
from devtools.kubesim.controllers import argocd_health as health
from devtools.kubesim.controllers.argocd_render import Rendered, render
from devtools.kubesim.controllers.gitops import APPLICATIONS, HISTORY_LIMIT, GitOps, Key, Obj, digest
from devtools.kubesim.errors import ApiError
from devtools.kubesim.resources import StoreKey
from devtools.kubesim.store import Event

TRACKING = "argocd.argoproj.io/tracking-id"
RENDER_RESULTS = 64  # finished renders kept for their Applications to pick up
Background = Callable[[Callable[[], Rendered], Callable[[Rendered], None]], None]
Ref = tuple[StoreKey, str, str]


class ArgoCD(GitOps):
    watched = {APPLICATIONS: "applications"}

    def __init__(self, cluster: Any, enqueue: Callable[[Key], None], schedule_later: Callable[[float, Key], None],
                 background: Background) -> None:
        super().__init__(cluster, enqueue, schedule_later)
        self.background = background  # run the render off the event loop, hand the result back on it
        self._renders: OrderedDict[str, Rendered] = OrderedDict()
        self._rendering: set[str] = set()
        self._owners: dict[Ref, Key] = {}  # a deployed resource -> the Application that tracks it

    def reconcilers(self) -> dict[str, Callable[[str, str], None]]:
        return {"applications": self.reconcile_application}

    def on_event(self, event: Event) -> None:
        super().on_event(event)
        meta = event.entry.obj["metadata"]
        owner = self._owners.get((event.key, meta.get("namespace", ""), meta["name"]))
        if owner is not None:  # ArgoCD watches what it deployed: health follows the live resources
            self.enqueue(owner)
        if event.key == clusters.SECRETS and (clusters.is_cluster_secret(event.entry.obj)
                                              or clusters.is_cluster_secret(event.old)):
            for app in self.cluster.store.objects(APPLICATIONS):  # a cluster came or went: check destinations again
                self.enqueue(("applications", app["metadata"].get("namespace", ""), app["metadata"]["name"]))

    # -- reconcile -----------------------------------------------------------------------------------------------
    def reconcile_application(self, namespace: str, name: str) -> None:
        app = self.cluster.find(APPLICATIONS, namespace, name)
        if app is None or self._finalize(APPLICATIONS, app, self._delete_resources):
            return
        spec = app.get("spec") or {}
        source = _app_source(spec)
        status = copy.deepcopy(app.get("status") or {})
        operation = app.get("operation")
        invalid = clusters.destination_error(spec, self._clusters())
        if invalid is not None:
            self._app_invalid(app, status, invalid, operation)
            return
        _drop_conditions(status, clusters.INVALID_SPEC)  # the spec was fixed, or a missing cluster registered
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
        rendered = self._rendered(app, target) if self._ripe(app) else None
        if rendered is None:
            self._app_running(app, status, source, op)
            return
        self._app_sync(app, status, source, target, op, rendered)
        if operation:
            self._clear_operation(app)

    def _rendered(self, app: Obj, target: Obj) -> Rendered | None:
        """The render of `target` for this Application if it is done; else start it (once) and return None."""
        meta = app["metadata"]
        release, namespace = meta["name"], _destination(app)
        key = digest([meta["uid"], target, namespace])
        if key in self._renders:
            return self._renders.pop(key)
        if key not in self._rendering:
            self._rendering.add(key)
            app_key = ("applications", meta.get("namespace", ""), meta["name"])

            def done(result: Rendered) -> None:
                self._rendering.discard(key)
                self._renders[key] = result
                while len(self._renders) > RENDER_RESULTS:
                    self._renders.popitem(last=False)
                self.enqueue(app_key)

            self.background(lambda: render(target, release, namespace), done)
        return None

    def _clusters(self) -> list[tuple[str, str]]:
        return clusters.registered(self.cluster.store.objects(clusters.SECRETS, clusters.ARGOCD_NAMESPACE))

    def _app_invalid(self, app: Obj, status: Obj, message: str, operation: Obj | None) -> None:
        """ArgoCD's refresh of an Application it cannot even compare: the condition, sync and health Unknown,
        nothing applied. A requested sync ends in phase Error with the same words."""
        stamp = now()
        kept = [c for c in status.get("conditions") or [] if c.get("type") != clusters.INVALID_SPEC]
        same = [c for c in status.get("conditions") or []
                if c.get("type") == clusters.INVALID_SPEC and c.get("message") == message]
        status["conditions"] = [*kept, {"type": clusters.INVALID_SPEC, "message": message,
                                        "lastTransitionTime": same[0].get("lastTransitionTime") if same else stamp}]
        status["sync"] = {**(status.get("sync") or {}), "status": "Unknown"}
        status["health"] = {"status": "Unknown"}
        if operation:
            status["operationState"] = {"operation": operation, "phase": "Error", "message": message,
                                        "startedAt": stamp, "finishedAt": stamp,
                                        "syncResult": (status.get("operationState") or {}).get("syncResult") or {}}
        self._write_status(APPLICATIONS, app, status)
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
        status["resources"], status["health"] = self._assess(status.get("resources") or [], bool(history))
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

    def _app_sync(self, app: Obj, status: Obj, source: Obj, target: Obj, op: Obj, rendered: Rendered) -> None:
        stamp = now()
        spec = app.get("spec") or {}
        revision = target.get("targetRevision", "HEAD")
        started = (status.get("operationState") or {}).get("startedAt") or stamp
        error = rendered.error
        if error is None:
            error, resources = self._apply(app, rendered.manifests)
            if error is None:
                prune = bool(((spec.get("syncPolicy") or {}).get("automated") or {}).get("prune")
                             or (op.get("sync") or {}).get("prune"))
                status["resources"] = self._prune(status.get("resources") or [], resources, prune)
        if error is None:
            message = "successfully synced (all tasks run)"
            status.pop("conditions", None)
            history = list(status.get("history") or [])
            history.append({"id": int(history[-1].get("id", -1)) + 1 if history else 0, "revision": revision,
                            "deployedAt": stamp, "deployStartedAt": started, "source": copy.deepcopy(target),
                            "initiatedBy": op.get("initiatedBy") or {}})
            limit = int(spec.get("revisionHistoryLimit", HISTORY_LIMIT))
            status["history"] = history[-limit:] if limit > 0 else history
        else:
            kind = "ComparisonError" if rendered.error else "SyncError"
            message = f"{kind}: {error}"
            status["conditions"] = [{"type": kind, "message": error, "lastTransitionTime": stamp}]
        status["operationState"] = {"operation": op, "phase": "Succeeded" if error is None else "Failed",
                                    "message": message, "startedAt": started, "finishedAt": stamp,
                                    "syncResult": {"revision": revision, "source": copy.deepcopy(target)}}
        status["sync"] = {"status": "Synced" if error is None and target == source else "OutOfSync",
                          "revision": revision,
                          "comparedTo": {"source": source, "destination": spec.get("destination") or {}}}
        status["resources"], status["health"] = self._assess(status.get("resources") or [],
                                                             bool(status.get("history")))
        status["reconciledAt"] = status["observedAt"] = stamp
        status["sourceType"] = "Helm"
        self._write_status(APPLICATIONS, app, status)

    # -- resources -----------------------------------------------------------------------------------------------
    def _apply(self, app: Obj, manifests: tuple[Obj, ...]) -> tuple[str | None, list[Obj]]:
        """Create or merge-patch every manifest; (the first errors, the resource list for ``status.resources``)."""
        namespace, errors, resources = _destination(app), [], []
        app_key = ("applications", app["metadata"].get("namespace", ""), app["metadata"]["name"])
        options = ((app.get("spec") or {}).get("syncPolicy") or {}).get("syncOptions") or []
        if namespace and self.cluster.find(NAMESPACES, "", namespace) is None:
            if "CreateNamespace=true" not in options:
                return f'namespaces "{namespace}" not found', []
            self.cluster.create(self.cluster.resource("", "namespaces"), None, {"metadata": {"name": namespace}})
        for manifest in manifests:
            body = copy.deepcopy(manifest)
            rt = self.cluster.registry.by_kind(str(body.get("apiVersion", "")), str(body["kind"]))
            if rt is None:
                errors.append(f"the server could not find the requested resource ({body['kind']})")
                continue
            meta = body.setdefault("metadata", {})
            ns = (meta.get("namespace") or namespace) if rt.namespaced else ""
            meta.setdefault("annotations", {})[TRACKING] = \
                f"{app['metadata']['name']}:{rt.group}/{rt.kind}:{ns}/{meta.get('name')}"
            body.pop("status", None)
            try:
                if self.cluster.find(rt.key, ns, meta.get("name", "")) is None:
                    self.cluster.create(rt, ns or None, body)
                else:
                    self.cluster.patch(rt, ns, meta["name"], "merge", body)
            except ApiError as failure:
                errors.append(f"{rt.kind}/{meta.get('name')}: {failure.message}")
                continue
            self._owners[(rt.key, ns, meta["name"])] = app_key
            resources.append({"group": rt.group, "version": rt.version, "kind": rt.kind, "namespace": ns,
                              "name": meta["name"], "status": "Synced"})
        if errors:
            return "one or more objects failed to apply, reason: " + "; ".join(errors[:5]), resources
        return None, resources

    def _prune(self, previous: list[Obj], current: list[Obj], prune: bool) -> list[Obj]:
        keep = {_ref_id(r) for r in current}
        left = []
        for ref in previous:
            if _ref_id(ref) in keep:
                continue
            if prune:
                self._delete(ref)
            else:
                left.append({**ref, "status": "OutOfSync", "requiresPruning": True})
        return current + left

    def _delete_resources(self, app: Obj) -> None:
        for ref in (app.get("status") or {}).get("resources") or []:
            self._delete(ref)

    def _delete(self, ref: Obj) -> None:
        rt = self.cluster.registry.by_kind(_api_version(ref), str(ref.get("kind")))
        if rt is None:
            return
        self._owners.pop((rt.key, str(ref.get("namespace") or ""), str(ref.get("name"))), None)
        with contextlib.suppress(ApiError):
            self.cluster.delete(rt, str(ref.get("namespace") or ""), str(ref.get("name")))

    def _assess(self, resources: list[Obj], deployed: bool) -> tuple[list[Obj], Obj]:
        """Each resource's health from the live object, and the Application's: the worst of them."""
        assessed, statuses = [], []
        for ref in resources:
            rt = self.cluster.registry.by_kind(_api_version(ref), str(ref.get("kind")))
            live = self.cluster.find(rt.key, str(ref.get("namespace") or ""), str(ref.get("name"))) if rt else None
            result = health.assess(str(ref.get("group") or ""), str(ref.get("kind")), live)
            entry = {k: v for k, v in ref.items() if k != "health"}
            if result is not None:
                entry["health"] = {"status": result[0], **({"message": result[1]} if result[1] else {})}
                statuses.append(result[0])
            assessed.append(entry)
        return assessed, {"status": health.worst(statuses) if deployed or resources else "Missing"}

    def _clear_operation(self, app: Obj) -> None:
        current = self.cluster.find(APPLICATIONS, app["metadata"].get("namespace", ""), app["metadata"]["name"])
        if current is None or "operation" not in current:
            return
        body = {k: copy.deepcopy(v) for k, v in current.items() if k != "operation"}
        with contextlib.suppress(ApiError):
            self.cluster.update(self.cluster.resource(*APPLICATIONS), body["metadata"].get("namespace", ""),
                                body["metadata"]["name"], body)


def _drop_conditions(status: Obj, kind: str) -> None:
    conditions = [c for c in status.get("conditions") or [] if c.get("type") != kind]
    if conditions:
        status["conditions"] = conditions
    else:
        status.pop("conditions", None)


def _ref_id(ref: Obj) -> tuple[str, str, str, str]:
    return str(ref.get("group") or ""), str(ref.get("kind")), str(ref.get("namespace") or ""), str(ref.get("name"))


def _api_version(ref: Obj) -> str:
    return f"{ref['group']}/{ref.get('version')}" if ref.get("group") else str(ref.get("version") or "v1")


def _destination(app: Obj) -> str:
    return str(((app.get("spec") or {}).get("destination") or {}).get("namespace") or "")


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
