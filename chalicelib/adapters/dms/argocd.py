"""The `argocd` DMS backend: one ArgoCD `Application` per deployment, written with the official `kubernetes` client;
ArgoCD itself fetches the chart (`ReleaseSpec.source`: a Helm repository or a Git path), renders and syncs it.

`kubernetes` (372 ms) is imported inside methods only: the registry imports this module in the API function too.
Applications are named `<namespace>.<name>` (unique per ArgoCD instance, where the same release name in two site
namespaces is common); the Helm release keeps the deployment's name. Every write is followed by a wait for the
outcome of exactly that sync (see `argocd_mapping.outcome`). A rollback is
ArgoCD's own (a manual sync of an earlier history entry's source), which ArgoCD refuses while automated sync is on.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from pydantic import Field

from chalicelib.adapters.dms import argocd_mapping as mapping
from chalicelib.adapters.dms import helm_status
from chalicelib.adapters.dms.cluster import Cluster, GitOpsOptions
from chalicelib.adapters.dms.port import (
    BackendRefused,
    DeploymentFailed,
    PodLogs,
    ReleaseSpec,
    ReleaseStatus,
    Revision,
)
from chalicelib.adapters.kube_errors import forbidden_message, read_errors, transport_errors
from chalicelib.domain.capabilities import Capability
from chalicelib.domain.errors import BackendUnavailable, NotFound
from chalicelib.domain.ownership import DEPLOYMENT_LABEL, require_owned
from chalicelib.settings import AdapterConfig

Obj = dict[str, Any]


class ArgoCDOptions(GitOpsOptions):
    """`options` of an `argocd` DMS adapter in config/gateway.yaml."""

    namespace: str = Field(default="argocd", min_length=1)  # where the Applications live
    project: str = Field(default="default", min_length=1)
    destination_server: str = Field(default="https://kubernetes.default.svc", alias="destinationServer")
    automated_sync: bool = Field(default=True, alias="automatedSync")
    prune: bool = True
    self_heal: bool = Field(default=True, alias="selfHeal")


class ArgoCDDeploymentAdapter:
    """`DeploymentAdapter` for the clusters one ArgoCD instance manages."""

    # docs/dms.md, "Placement on a resource pool"
    placement_refusal: str | None = (
        "the argocd backend does not place releases on a resource pool: ArgoCD renders a Helm source itself, with no "
        "post-renderer, and changing every pod template would take a config management plugin on the ArgoCD server; "
        "deploy through a helm backend (extensions.dmsAdapter) to place on a pool")

    def __init__(self, config: AdapterConfig) -> None:
        self.adapter_id = config.id
        self.options = ArgoCDOptions.of(config.id, config.options)
        # ArgoCD fetches charts itself: from Helm/OCI repositories, from Git, and uploaded archives once published.
        self.archive_repository = self.options.chart_repository_url
        self.package_types = frozenset({"helm-repo", "git", *(["helm"] if self.archive_repository else [])})
        self.settings = mapping.AppSettings(
            project=self.options.project, destination_server=self.options.destination_server,
            automated_sync=self.options.automated_sync, prune=self.options.prune, self_heal=self.options.self_heal,
            adapter_id=config.id)
        self.cluster = Cluster(config.id, self.options.kubeconfig, self.options.context,
                               self.options.request_timeout_seconds)

    @property
    def capabilities(self) -> frozenset[Capability]:
        return frozenset({Capability.DEPLOY, Capability.UPGRADE, Capability.SCALE, Capability.ROLLBACK,
                          Capability.STATUS, Capability.LOGS})

    # --- lifecycle -----------------------------------------------------------------------------------------------

    def install(self, spec: ReleaseSpec) -> ReleaseStatus:
        """Create the Application, or replace an existing one's spec (a retried install converges), and wait."""
        source = self._source(spec)
        existing = self._lookup(spec.name, spec.namespace)
        app_name = existing["metadata"]["name"] if existing else mapping.application_name(spec.name, spec.namespace)
        return self._deploy(app_name, spec.namespace, source, existing, spec.timeout_seconds, spec.owner)

    def upgrade(self, spec: ReleaseSpec) -> ReleaseStatus:
        source = self._source(spec)
        existing = self._owned(spec.name, spec.namespace, spec.owner)
        return self._deploy(existing["metadata"]["name"], spec.namespace, source, existing, spec.timeout_seconds,
                            spec.owner)

    def scale(self, name: str, namespace: str, replicas: int, timeout_seconds: int | None = None, *,
              owner: str, node_selector: Mapping[str, str] | None = None) -> ReleaseStatus:
        if node_selector:
            raise BackendRefused(str(self.placement_refusal))
        existing = self._owned(name, namespace, owner)
        source = copy.deepcopy(mapping.spec_source(existing))
        helm = source.setdefault("helm", {})
        helm["valuesObject"] = {**(helm.get("valuesObject") or {}), "replicaCount": replicas}
        return self._deploy(existing["metadata"]["name"], namespace, source, existing, timeout_seconds, owner)

    def refusal(self, operation: str) -> str | None:
        """Why this backend will refuse `operation` whatever the deployment (the API answers 409 at once)."""
        if operation == "rollback" and self.options.automated_sync:
            return (f"ArgoCD refuses rollback while automated sync is on; disable automatedSync for this backend "
                    f"('{self.adapter_id}') to roll back, or upgrade to the earlier chart and values instead")
        return None

    def rollback(self, name: str, namespace: str, revision: int | None = None,
                 timeout_seconds: int | None = None, *, owner: str) -> ReleaseStatus:
        app = self._owned(name, namespace, owner)
        app_name = app["metadata"]["name"]
        if self.options.automated_sync or ((app.get("spec") or {}).get("syncPolicy") or {}).get("automated"):
            raise BackendRefused(self.refusal("rollback") or
                                 f"ArgoCD refuses rollback: Application {name} has automated sync on")
        entry = mapping.history_entry(app, revision)
        if entry is None or not entry.get("source"):
            wanted = f"revision {revision}" if revision is not None else "an earlier revision"
            raise DeploymentFailed(f"ArgoCD Application {name} has no {wanted} in its history")
        target = dict(entry["source"])
        operation = mapping.sync_operation(str(entry.get("revision") or target.get("targetRevision") or ""), target,
                                           prune=self.options.prune)
        self._call(lambda api: api.patch_namespaced_custom_object(
            mapping.GROUP, mapping.VERSION, self.options.namespace, mapping.PLURAL, app_name, {"operation": operation},
            _request_timeout=self.cluster.request_timeout))
        self._wait(app_name, target, require_synced=False, timeout_seconds=timeout_seconds)
        return self._follow(name, namespace, target)

    def _follow(self, name: str, namespace: str, target: Obj) -> ReleaseStatus:
        """After a rollback, make the rolled-back source the desired one: netweave owns the Application's spec (values
        are inline, not in Git), so leaving the spec on the version rolled away from would make the next scale or sync
        bring it back. Without automated sync this write syncs nothing; the Application is simply Synced again."""
        app = self._get(name, namespace)
        for _ in range(3):
            body = copy.deepcopy(app)
            body.pop("operation", None)
            body["spec"]["source"] = copy.deepcopy(target)
            body["spec"].pop("sources", None)
            try:
                self._write(app["metadata"]["name"], body)
                break
            except _Conflict:
                app = self._get(name, namespace)
        return self._release_status(self._get(name, namespace))

    def uninstall(self, name: str, namespace: str, timeout_seconds: int | None = None, *, owner: str) -> None:
        """Delete the Application; its resources finalizer makes ArgoCD delete what it deployed first. Idempotent.
        Only this deployment's Application: the delete is preconditioned on the uid of the one checked."""
        app = self._lookup(name, namespace)
        if app is None:
            return
        self._require_owned(app, owner)
        app_name, uid = app["metadata"]["name"], app["metadata"].get("uid")
        try:
            self._call(lambda api: api.delete_namespaced_custom_object(
                mapping.GROUP, mapping.VERSION, self.options.namespace, mapping.PLURAL, app_name,
                body={"preconditions": {"uid": uid}}, _request_timeout=self.cluster.request_timeout))
        except NotFound:
            return
        except _Conflict as error:  # replaced by another Application of that name since it was checked
            raise BackendRefused(f"ArgoCD Application {app_name} changed while netweave deleted it; retry") \
                from error
        timeout = timeout_seconds or self.options.default_timeout_seconds
        deadline = time.monotonic() + timeout
        while self._find(app_name) is not None:
            if time.monotonic() >= deadline:
                raise DeploymentFailed(f"ArgoCD Application {app_name} not deleted after {timeout} s")
            time.sleep(self.options.poll_interval_seconds)

    # --- reads ---------------------------------------------------------------------------------------------------

    def status(self, name: str, namespace: str) -> ReleaseStatus:
        return self._release_status(self._get(name, namespace))

    def history(self, name: str, namespace: str) -> list[Revision]:
        return mapping.revisions(self._get(name, namespace))

    def logs(self, name: str, namespace: str, container: str | None = None, tail_lines: int | None = None,
             since_seconds: int | None = None) -> list[PodLogs]:
        app = self._get(name, namespace)
        with self._cluster_errors():
            return self.cluster.logs(name, namespace, container, tail_lines, since_seconds,
                                     instances=mapping.instance_labels(app))

    def close(self) -> None:
        self.cluster.close()

    # --- Applications --------------------------------------------------------------------------------------------

    @staticmethod
    def _source(spec: ReleaseSpec) -> Obj:
        if spec.node_selector:  # the API refuses placement here; this keeps a deployment that got here anyway off
            raise BackendRefused(str(ArgoCDDeploymentAdapter.placement_refusal))
        if spec.source is None:
            raise DeploymentFailed("ArgoCD deploys helm-repo or git packages: this package has no chart source "
                                   "ArgoCD can fetch (a chart archive needs the helm backend)")
        return mapping.argocd_source(spec.source, spec.name, spec.values)

    def _deploy(self, name: str, namespace: str, source: Obj, existing: Obj | None,
                timeout_seconds: int | None, owner: str) -> ReleaseStatus:
        """Write the Application with `source` (plus a sync `operation` without automated sync), then wait. An
        existing Application is replaced only if it carries `owner`'s marker (its resourceVersion goes with the
        replacement, so one swapped in after the check is not overwritten)."""
        body = mapping.application(name, namespace, source, self.settings, owner)
        body["metadata"]["namespace"] = self.options.namespace
        if not self.options.automated_sync:
            body["operation"] = mapping.sync_operation(str(source.get("targetRevision") or "HEAD"),
                                                       prune=self.options.prune)
        for _ in range(3):  # a status write between our read and our replace is a 409 Conflict: read again
            if existing is None:
                try:
                    self._write(None, body)
                    break
                except _Conflict:
                    existing = self._find(name)
                    continue
            self._require_owned(existing, owner)
            if existing["metadata"].get("deletionTimestamp"):
                raise BackendRefused(f"ArgoCD Application {name} is being deleted; retry once it is gone")
            replacement = copy.deepcopy(body)
            meta = existing["metadata"]
            replacement["metadata"]["resourceVersion"] = meta.get("resourceVersion")
            replacement["metadata"]["labels"] = {**(meta.get("labels") or {}), **body["metadata"]["labels"]}
            replacement["metadata"]["annotations"] = {**(meta.get("annotations") or {}),
                                                      **body["metadata"]["annotations"]}
            replacement["metadata"]["finalizers"] = sorted({*(meta.get("finalizers") or []), mapping.FINALIZER})
            if "status" in existing:
                replacement["status"] = existing["status"]
            try:
                self._write(name, replacement)
                break
            except _Conflict:
                existing = self._find(name)
        else:
            raise BackendUnavailable(f"backend '{self.adapter_id}': Application {name} kept changing; retry")
        return self._wait(name, source, require_synced=True, timeout_seconds=timeout_seconds)

    def _wait(self, name: str, target: Obj, *, require_synced: bool, timeout_seconds: int | None) -> ReleaseStatus:
        timeout = timeout_seconds or self.options.default_timeout_seconds
        deadline = time.monotonic() + timeout
        while True:
            app = self._find(name)
            if app is None:
                raise DeploymentFailed(f"ArgoCD Application {name} disappeared while syncing")
            result = mapping.outcome(app, target, require_synced)
            if result == "failed":
                raise DeploymentFailed(self._with_pods(app, f"ArgoCD Application {name}: {mapping.message(app)}"))
            if result == "succeeded":
                return self._release_status(app)
            if time.monotonic() >= deadline:
                sync, health, phase = mapping.state(app)
                raise DeploymentFailed(self._with_pods(app, (
                    f"ArgoCD Application {name} not healthy after {timeout} s (sync {sync or 'unknown'}, health "
                    f"{health or 'unknown'}, operation {phase or 'none'})")))
            time.sleep(self.options.poll_interval_seconds)

    def _with_pods(self, app: Obj, message: str) -> str:
        """Name the deployed pods that are not ready (and why): what an SMO needs to act on a failed sync."""
        try:
            pods = self.cluster.release_pods(mapping.release_name(app), mapping.destination_namespace(app),
                                             instances=mapping.instance_labels(app))
        except read_errors():  # best effort: ArgoCD's own words are still the answer
            return message
        return helm_status.with_waiting_pods(message, pods)

    def _release_status(self, app: Obj) -> ReleaseStatus:
        name, namespace = mapping.release_name(app), mapping.destination_namespace(app)
        with self._cluster_errors():
            workloads, pods = self.cluster.workloads_and_pods(name, namespace, instances=mapping.instance_labels(app))
        return mapping.release_status(app, workloads, pods)

    def _write(self, name: str | None, body: Obj) -> None:
        """Create (`name` None) or replace an Application."""
        where = (mapping.GROUP, mapping.VERSION, self.options.namespace, mapping.PLURAL)
        if name is None:
            self._call(lambda api: api.create_namespaced_custom_object(
                *where, body, _request_timeout=self.cluster.request_timeout))
        else:
            self._call(lambda api: api.replace_namespaced_custom_object(
                *where, name, body, _request_timeout=self.cluster.request_timeout))

    def _find(self, name: str) -> Obj | None:
        try:
            app: Obj = self._call(lambda api: api.get_namespaced_custom_object(
                mapping.GROUP, mapping.VERSION, self.options.namespace, mapping.PLURAL, name,
                _request_timeout=self.cluster.request_timeout))
        except NotFound:
            return None
        return app

    def _lookup(self, name: str, namespace: str) -> Obj | None:
        """The Application deploying release `name` into `namespace`: `<namespace>.<name>`, or one named like the
        release (written before Application names carried the namespace) whose destination is that namespace."""
        app = self._find(mapping.application_name(name, namespace))
        if app is None:
            legacy = self._find(name)
            app = legacy if legacy is not None and mapping.destination_namespace(legacy) == namespace else None
        return app

    def _get(self, name: str, namespace: str) -> Obj:
        app = self._lookup(name, namespace)
        if app is None:
            raise NotFound(f"no ArgoCD Application deploying {name} into namespace {namespace}")
        return app

    def _owned(self, name: str, namespace: str, owner: str) -> Obj:
        app = self._get(name, namespace)
        self._require_owned(app, owner)
        return app

    def _require_owned(self, app: Obj, owner: str) -> None:
        """NotOwned unless the Application carries deployment `owner`'s marker: one an operator made is never
        adopted (netweave would add its cascade-delete finalizer and later delete what it deployed)."""
        name = app["metadata"]["name"]
        require_owned(f"ArgoCD Application '{name}' in namespace '{self.options.namespace}'",
                      (app["metadata"].get("labels") or {}), owner,
                      f"kubectl label application --namespace {self.options.namespace} {name} "
                      f"{DEPLOYMENT_LABEL}={owner} (docs/dms.md, \"Ownership markers\")")

    def _call(self, call: Callable[[Any], Any]) -> Any:
        """One CustomObjectsApi call, its failures as domain errors (409 as `_Conflict`, for the caller to retry)."""
        from kubernetes import client as k8s

        try:
            return call(self.cluster.custom())
        except k8s.ApiException as error:
            reason = _api_message(error)
            if error.status == 404:
                raise NotFound(f"ArgoCD: {reason}") from error
            if error.status == 409:
                raise _Conflict(reason) from error
            refused = forbidden_message(error)
            if refused is not None:
                raise DeploymentFailed(f"backend '{self.adapter_id}': the cluster refused: {refused}") from error
            if error.status in (0, 401) or (error.status or 0) >= 500:
                raise BackendUnavailable(f"backend '{self.adapter_id}': ArgoCD API: {reason}") from error
            raise DeploymentFailed(f"ArgoCD rejected the Application: {reason}") from error
        except transport_errors() as error:
            self.close()
            raise BackendUnavailable(f"backend '{self.adapter_id}': cluster unreachable: "
                                     f"{helm_status.helm_message(str(error))}") from error

    # --- kubernetes ----------------------------------------------------------------------------------------------

    @contextmanager
    def _cluster_errors(self) -> Iterator[None]:
        """Any transport or API failure of a read means the cluster is not usable right now; anything else is a bug
        of netweave's and passes unchanged."""
        try:
            yield
        except transport_errors() as error:
            refused = forbidden_message(error)
            if refused is not None:
                raise DeploymentFailed(f"backend '{self.adapter_id}': the cluster refused: {refused}") from error
            self.close()  # start the next call with fresh connections
            raise BackendUnavailable(f"backend '{self.adapter_id}': cluster read failed: "
                                     f"{helm_status.helm_message(str(error))}") from error


class _Conflict(Exception):
    """409 from the API server: AlreadyExists on create, a stale resourceVersion on replace."""


def _api_message(error: Any) -> str:
    """The `message` of a Kubernetes Status body, else the HTTP reason."""
    try:
        text = str(json.loads(error.body or "{}").get("message") or "")
    except (ValueError, AttributeError):
        text = ""
    return helm_status.helm_message(text or f"{error.status} {error.reason}")
