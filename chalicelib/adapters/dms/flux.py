"""The `flux` DMS backend: a release is a Flux `HelmRelease` (helm.toolkit.fluxcd.io/v2) whose chart Flux fetches
itself from a HelmRepository, OCIRepository or GitRepository that this adapter keeps in `sourceNamespace`. netweave
writes the desired state and polls the HelmRelease's Ready condition; Flux's helm-controller does the Helm work.

`kubernetes` is imported inside the methods that use it, never at module level (the registry imports this module
in the API function too). Flux cannot roll back to an arbitrary earlier revision, so ROLLBACK is not a capability;
a failed upgrade is not remediated (`upgrade.remediation.strategy: none`): the SMO sees the release `failed`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from pydantic import Field

from chalicelib.adapters.dms import flux_mapping as mapping
from chalicelib.adapters.dms.cluster import Cluster, GitOpsOptions
from chalicelib.adapters.dms.helm_status import helm_message
from chalicelib.adapters.dms.port import (
    BackendRefused,
    DeploymentFailed,
    PodLogs,
    ReleaseSpec,
    ReleaseStatus,
    Revision,
)
from chalicelib.adapters.kube_errors import transport_errors
from chalicelib.domain.capabilities import Capability
from chalicelib.domain.errors import BackendUnavailable, CapabilityNotSupported, NotFound
from chalicelib.domain.ownership import DEPLOYMENT_LABEL, MANAGED_BY, MANAGED_BY_LABEL, NotOwned, require_owned
from chalicelib.settings import AdapterConfig

_CONFLICT_RETRIES = 3
# Flux's own Helm timeout is the release's timeout; netweave waits this much longer, so that it reports Flux's verdict
# (helm's message) rather than a bare timeout of its own.
_VERDICT_GRACE_SECONDS = 10.0


class FluxOptions(GitOpsOptions):
    """`options` of a `flux` DMS adapter in config/gateway.yaml."""

    source_namespace: str = Field(default="flux-system", alias="sourceNamespace", min_length=1)
    interval: str = Field(default="5m", min_length=1)


class FluxDeploymentAdapter:
    """`DeploymentAdapter` for one cluster with Flux's helm-controller and source-controller."""

    # docs/dms.md, "Placement on a resource pool": why not through the HelmRelease's spec.postRenderers
    placement_refusal: str | None = (
        "the flux backend does not place releases on a resource pool: netweave does not write HelmRelease "
        "post-renderers (spec.postRenderers), the only means Flux offers to change every pod template a chart "
        "renders; deploy through a helm backend (extensions.dmsAdapter) to place on a pool")

    def __init__(self, config: AdapterConfig) -> None:
        self.adapter_id = config.id
        self.options = FluxOptions.of(config.id, config.options)
        # Flux fetches charts from Helm/OCI repositories and Git repositories, and uploaded archives once published.
        self.archive_repository = self.options.chart_repository_url
        self.package_types = frozenset({"helm-repo", "git", *(["helm"] if self.archive_repository else [])})
        self.cluster = Cluster(config.id, self.options.kubeconfig, self.options.context,
                               self.options.request_timeout_seconds)

    def _no_placement(self, node_selector: Mapping[str, str] | None) -> None:
        """The API refuses placement for this backend; this keeps a deployment that got here anyway off it."""
        if node_selector:
            raise BackendRefused(str(self.placement_refusal))

    @property
    def capabilities(self) -> frozenset[Capability]:
        return frozenset({Capability.DEPLOY, Capability.UPGRADE, Capability.SCALE, Capability.STATUS,
                          Capability.LOGS})

    # --- lifecycle -----------------------------------------------------------------------------------------------

    def install(self, spec: ReleaseSpec) -> ReleaseStatus:
        """Create or replace the source and the HelmRelease (idempotent: a retried install converges). An existing
        HelmRelease of that name is replaced only if it carries this deployment's marker (`_replace_spec`)."""
        from kubernetes.client.exceptions import ApiException

        self._no_placement(spec.node_selector)

        source = mapping.chart_source(spec, self.options.source_namespace, self.options.interval)
        self._apply_source(source)
        self._ensure_namespace(spec.namespace)
        custom = self.cluster.custom()
        with self._cluster_errors(spec.name, spec.namespace):
            try:
                created = custom.create_namespaced_custom_object(
                    mapping.HELM_GROUP, mapping.HELM_VERSION, spec.namespace, mapping.HELMRELEASES,
                    mapping.helm_release(spec, source, self.options.interval, self._timeout(spec.timeout_seconds)),
                    _request_timeout=self.cluster.request_timeout)
                generation = int(created["metadata"].get("generation") or 1)
            except ApiException as error:
                if error.status != 409:
                    raise
                generation = self._replace_spec(spec, source)
        return self._wait(spec.name, spec.namespace, generation, mapping.awaited_revision(spec),
                          spec.timeout_seconds)

    def upgrade(self, spec: ReleaseSpec) -> ReleaseStatus:
        self._no_placement(spec.node_selector)
        self._owned(spec.name, spec.namespace, spec.owner)  # NotFound or NotOwned before anything is written
        source = mapping.chart_source(spec, self.options.source_namespace, self.options.interval)
        self._apply_source(source)
        with self._cluster_errors(spec.name, spec.namespace):
            generation = self._replace_spec(spec, source)
        return self._wait(spec.name, spec.namespace, generation, mapping.awaited_revision(spec),
                          spec.timeout_seconds)

    def scale(self, name: str, namespace: str, replicas: int, timeout_seconds: int | None = None, *,
              owner: str, node_selector: Mapping[str, str] | None = None) -> ReleaseStatus:
        """A merge patch of `spec.values.replicaCount`: the chart and the other values stay as they are."""
        self._no_placement(node_selector)
        self._owned(name, namespace, owner)
        with self._cluster_errors(name, namespace):
            patched = self.cluster.custom().patch_namespaced_custom_object(
                mapping.HELM_GROUP, mapping.HELM_VERSION, namespace, mapping.HELMRELEASES, name,
                {"spec": {"values": {"replicaCount": replicas}}}, _request_timeout=self.cluster.request_timeout)
        version = str((patched.get("status") or {}).get("lastAttemptedRevision") or "") or None
        return self._wait(name, namespace, int(patched["metadata"].get("generation") or 1), version, timeout_seconds)

    def rollback(self, name: str, namespace: str, revision: int | None = None,
                 timeout_seconds: int | None = None, *, owner: str) -> ReleaseStatus:
        raise CapabilityNotSupported(f"backend '{self.adapter_id}': Flux cannot roll back to an earlier revision; "
                                     "upgrade to the earlier chart version instead")

    def uninstall(self, name: str, namespace: str, timeout_seconds: int | None = None, *, owner: str) -> None:
        """Delete the HelmRelease (Flux uninstalls the Helm release) and wait until it is gone. Sources are shared
        between releases and stay. The delete is preconditioned on the uid the ownership check read."""
        from kubernetes.client.exceptions import ApiException

        try:
            current = self._owned(name, namespace, owner)
        except NotFound:
            return
        with self._cluster_errors(name, namespace):
            try:
                self.cluster.custom().delete_namespaced_custom_object(
                    mapping.HELM_GROUP, mapping.HELM_VERSION, namespace, mapping.HELMRELEASES, name,
                    body={"preconditions": {"uid": current["metadata"].get("uid")}},
                    _request_timeout=self.cluster.request_timeout)
            except ApiException as error:
                if error.status == 404:
                    return
                raise
        deadline = time.monotonic() + (timeout_seconds or self.options.default_timeout_seconds)
        while True:
            try:
                self._get(name, namespace)
            except NotFound:
                return
            if time.monotonic() >= deadline:
                raise DeploymentFailed(f"HelmRelease {namespace}/{name} was not removed within the timeout")
            time.sleep(self.options.poll_interval_seconds)

    # --- reads ---------------------------------------------------------------------------------------------------

    def status(self, name: str, namespace: str) -> ReleaseStatus:
        release = self._get(name, namespace)
        with self._cluster_errors(name, namespace):
            workloads, pods = self.cluster.workloads_and_pods(name, namespace)
        return mapping.release_status(release, workloads, pods)

    def history(self, name: str, namespace: str) -> list[Revision]:
        return sorted(mapping.revisions(self._get(name, namespace)), key=lambda r: r.revision)

    def logs(self, name: str, namespace: str, container: str | None = None, tail_lines: int | None = None,
             since_seconds: int | None = None) -> list[PodLogs]:
        self._get(name, namespace)
        with self._cluster_errors(name, namespace):
            return self.cluster.logs(name, namespace, container, tail_lines, since_seconds)

    def close(self) -> None:
        self.cluster.close()

    # --- Flux objects --------------------------------------------------------------------------------------------

    def _get(self, name: str, namespace: str) -> dict[str, Any]:
        with self._cluster_errors(name, namespace):
            response = self.cluster.custom().get_namespaced_custom_object(
                mapping.HELM_GROUP, mapping.HELM_VERSION, namespace, mapping.HELMRELEASES, name,
                _request_timeout=self.cluster.request_timeout, _preload_content=False)
            release: dict[str, Any] = json.loads(response.data)
        return release

    def _owned(self, name: str, namespace: str, owner: str) -> dict[str, Any]:
        """The HelmRelease, provided it carries this deployment's marker: NotFound, NotOwned otherwise."""
        release = self._get(name, namespace)
        require_owned(f"Flux HelmRelease '{name}' in namespace '{namespace}'", mapping.labels(release), owner,
                      f"kubectl label helmrelease --namespace {namespace} {name} {DEPLOYMENT_LABEL}={owner} "
                      f"(docs/dms.md, \"Ownership markers\")")
        return release

    def _apply_source(self, source: mapping.FluxSource) -> None:
        """Create the source, or replace its spec and labels when it exists (same URL: same name) and netweave made
        it; a source of that name without netweave's label is someone else's and is refused."""
        from kubernetes.client.exceptions import ApiException

        custom, namespace = self.cluster.custom(), self.options.source_namespace
        args = (mapping.SOURCE_GROUP, source.version, namespace, source.plural)
        with self._cluster_errors(source.name, namespace):
            try:
                custom.create_namespaced_custom_object(*args, source.body,
                                                       _request_timeout=self.cluster.request_timeout)
            except ApiException as error:
                if error.status != 409:
                    raise
                existing = custom.get_namespaced_custom_object(*args, source.name,
                                                               _request_timeout=self.cluster.request_timeout)
                if mapping.labels(existing).get(MANAGED_BY_LABEL) != MANAGED_BY:
                    raise NotOwned(f"Flux {source.kind} '{source.name}' in namespace '{namespace}' was not created "
                                   f"by netweave (no {MANAGED_BY_LABEL}={MANAGED_BY} label): netweave does not "
                                   "change it, and nothing was changed. An operator removes it, or labels it so "
                                   "(docs/dms.md, \"Ownership markers\")") from error
                custom.patch_namespaced_custom_object(
                    *args, source.name, {"metadata": {"labels": mapping.MANAGED_BY}, "spec": source.body["spec"]},
                    _request_timeout=self.cluster.request_timeout)

    def _replace_spec(self, spec: ReleaseSpec, source: mapping.FluxSource) -> int:
        """Replace the HelmRelease's chart and values (values are replaced, not merged, as `helm upgrade` does),
        keeping other spec fields; returns the generation to wait for. Retries optimistic-concurrency conflicts."""
        from kubernetes.client.exceptions import ApiException

        custom = self.cluster.custom()
        wanted = mapping.release_spec(spec, source, self.options.interval, self._timeout(spec.timeout_seconds))
        for attempt in range(_CONFLICT_RETRIES):
            current = self._owned(spec.name, spec.namespace, spec.owner)  # replace carries its resourceVersion
            merged = {**(current.get("spec") or {}), **wanted}
            current["spec"] = {key: value for key, value in merged.items() if value is not None}
            try:
                replaced = custom.replace_namespaced_custom_object(
                    mapping.HELM_GROUP, mapping.HELM_VERSION, spec.namespace, mapping.HELMRELEASES, spec.name,
                    current, _request_timeout=self.cluster.request_timeout)
            except ApiException as error:
                if error.status != 409 or attempt == _CONFLICT_RETRIES - 1:
                    raise
                continue
            return int(replaced["metadata"].get("generation") or 1)
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait(self, name: str, namespace: str, generation: int, version: str | None,
              timeout_seconds: int | None) -> ReleaseStatus:
        """Poll until Flux reports `generation` Ready for `version`, or failed, or the timeout passes."""
        timeout = self._timeout(timeout_seconds)
        deadline = time.monotonic() + timeout + _VERDICT_GRACE_SECONDS
        while True:
            release = self._get(name, namespace)
            state = mapping.outcome(release, generation, version)
            if state == "ready":
                return self.status(name, namespace)
            if state == "failed":
                raise DeploymentFailed(helm_message(mapping.failure_message(release)))
            if time.monotonic() >= deadline:
                raise DeploymentFailed(f"HelmRelease {namespace}/{name} not ready after {timeout}s: "
                                       f"{helm_message(mapping.failure_message(release))}")
            time.sleep(min(self.options.poll_interval_seconds, max(deadline - time.monotonic(), 0.01)))

    def _timeout(self, timeout_seconds: int | None) -> int:
        return timeout_seconds or self.options.default_timeout_seconds

    def _ensure_namespace(self, namespace: str) -> None:
        """The HelmRelease lives in the target namespace, which must exist before it."""
        from kubernetes.client.exceptions import ApiException

        with self._cluster_errors(namespace, namespace):
            try:
                self.cluster.core().create_namespace({"metadata": {"name": namespace, "labels": mapping.MANAGED_BY}},
                                      _request_timeout=self.cluster.request_timeout)
            except ApiException as error:
                # 403: netweave may not create namespaces (deploy/kubernetes/netweave-rbac.yaml); the namespace must
                # then exist already, and creating the HelmRelease in it says so (404) if it does not.
                if error.status not in (403, 409):
                    raise

    # --- kubernetes ----------------------------------------------------------------------------------------------

    @contextmanager
    def _cluster_errors(self, name: str, namespace: str) -> Iterator[None]:
        """404 → NotFound; the API refusing a write → DeploymentFailed; other API answers (auth, 5xx) and transport
        failures → BackendUnavailable. Anything else is a bug of netweave's and passes unchanged."""
        from kubernetes.client.exceptions import ApiException

        try:
            yield
        except ApiException as error:
            reason = helm_message(_api_message(error))
            if error.status == 404:
                raise NotFound(f"no Flux HelmRelease {namespace}/{name}: {reason}") from error
            if error.status == 403:
                raise DeploymentFailed(f"backend '{self.adapter_id}': the cluster refused: {reason}") from error
            if error.status in (400, 409, 422):
                raise DeploymentFailed(f"the cluster refused the Flux objects of {namespace}/{name}: {reason}") \
                    from error
            self.close()
            raise BackendUnavailable(f"backend '{self.adapter_id}': cluster request failed: {reason}") from error
        except transport_errors() as error:
            self.close()  # start the next call with fresh connections
            raise BackendUnavailable(f"backend '{self.adapter_id}': cluster unreachable: "
                                     f"{helm_message(str(error))}") from error


def _api_message(error: Any) -> str:
    """The Status message of an API error, else its reason."""
    try:
        return str(json.loads(error.body).get("message") or error.reason)
    except (TypeError, ValueError, AttributeError):
        return str(getattr(error, "reason", None) or error)
