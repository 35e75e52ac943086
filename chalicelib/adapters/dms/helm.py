"""The `helm` DMS backend: releases of chart archives, driven through pyhelm3 and the real `helm` 3 binary; the
workloads, pods and logs of a release are read from the cluster with the official `kubernetes` client.

`pyhelm3` (278 ms) and `kubernetes` (372 ms) are imported inside the methods that use them, never at module level:
the registry imports this module in the API function too. pyhelm3 is asyncio-based and the worker is synchronous,
so every helm call runs in its own `asyncio.run`. Readiness is helm's `--wait`; a failed upgrade is not rolled back
automatically (no `--atomic`): the SMO sees the release `failed` and decides whether to roll back — unless the
deployment's template asks for it (`rollbackOnFailure`: `--atomic`, docs/dms.md "Deployments from templates").
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Awaitable, Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from pydantic import Field, ValidationError

from chalicelib.adapters.dms import helm_status as mapping
from chalicelib.adapters.dms import placement_renderer
from chalicelib.adapters.dms.cluster import Cluster, ClusterOptions
from chalicelib.adapters.dms.port import DeploymentFailed, PodLogs, ReleaseSpec, ReleaseStatus, Revision
from chalicelib.adapters.helm_binary import helm_binary
from chalicelib.adapters.kube_errors import forbidden_message, read_errors, transport_errors
from chalicelib.domain.capabilities import Capability
from chalicelib.domain.errors import BackendUnavailable, NotFound
from chalicelib.domain.ownership import DEPLOYMENT_LABEL, deployment_labels, require_owned
from chalicelib.domain.packages import chart_name_problem
from chalicelib.settings import AdapterConfig

T = TypeVar("T")
HISTORY_MAX = 10  # revisions helm keeps per release (pyhelm3's default, which netweave used before)
# Metadata only: a list of helm's release Secrets would otherwise carry every revision's whole chart.
_METADATA_ONLY = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1, application/json"


class HelmOptions(ClusterOptions):
    """`options` of a `helm` DMS adapter in config/gateway.yaml."""

    helm_binary: str | None = Field(default=None, alias="helmBinary")
    # `helm --create-namespace`. Off under least-privilege RBAC (deploy/kubernetes/netweave-rbac.yaml), which grants
    # no namespace creation: the API server refuses it even for a namespace that exists, so the install would fail.
    create_namespace: bool = Field(default=True, alias="createNamespace")


def _use_writable_helm_home() -> None:
    """helm writes cache, config and data under $HOME, which is read-only in Lambda: point them at the temp dir.
    Lambda sets no HOME at all, so helm's Kubernetes discovery cache would go to `.kube/cache` under the working
    directory, /var/task (read-only too): KUBECACHEDIR moves it. Process-wide (pyhelm3 starts helm with our
    environment); settings an operator made explicitly are kept."""
    base = Path(tempfile.gettempdir()) / "netweave-helm"
    for variable, directory in (("HELM_CACHE_HOME", "cache"), ("HELM_CONFIG_HOME", "config"),
                                ("HELM_DATA_HOME", "data"), ("KUBECACHEDIR", "kube-cache")):
        if not os.environ.get(variable):
            (base / directory).mkdir(parents=True, exist_ok=True)
            os.environ[variable] = str(base / directory)


class HelmDeploymentAdapter:
    """`DeploymentAdapter` for one cluster, through helm (docs/architecture.md §3)."""

    # Chart archives netweave stores; it cannot fetch from repositories itself.
    package_types: frozenset[str] = frozenset({"helm"})
    archive_repository: str | None = None  # helm installs the archive it is handed
    placement_refusal: str | None = None  # helm's --post-renderer places every pod template (placement_renderer)
    rolls_back_on_failure = True  # `--atomic` (ReleaseSpec.atomic); docs/dms.md, "Deployments from templates"

    def __init__(self, config: AdapterConfig) -> None:
        self.adapter_id = config.id
        self.options = HelmOptions.of(config.id, config.options)
        self.helm_binary = self.options.helm_binary or helm_binary()
        self._lock = threading.Lock()
        self._helm_client: Any = None
        self.cluster = Cluster(config.id, self.options.kubeconfig, self.options.context,
                               self.options.request_timeout_seconds)

    @property
    def capabilities(self) -> frozenset[Capability]:
        return frozenset({Capability.DEPLOY, Capability.SCALE, Capability.UPGRADE,
                          Capability.ROLLBACK, Capability.STATUS, Capability.LOGS})

    # --- lifecycle -----------------------------------------------------------------------------------------------

    def install(self, spec: ReleaseSpec) -> ReleaseStatus:
        # `upgrade --install`: a worker retrying an install after a crash converges instead of failing, provided
        # the release it finds is the one the first attempt made (our marker); anyone else's is refused.
        if self._release_labels(spec.name, spec.namespace) is not None:
            self._require_owned(spec.name, spec.namespace, spec.owner)
        self._apply(spec.name, spec.namespace, spec.chart_path, spec.values, spec.timeout_seconds, spec.owner,
                    reuse=False, node_selector=spec.node_selector)
        return self.status(spec.name, spec.namespace)

    def upgrade(self, spec: ReleaseSpec) -> ReleaseStatus:
        # NotFound before `upgrade --install` could create the release; NotOwned before it could take one over
        self._require_owned(spec.name, spec.namespace, spec.owner)
        self._apply(spec.name, spec.namespace, spec.chart_path, spec.values, spec.timeout_seconds, spec.owner,
                    reuse=False, node_selector=spec.node_selector, atomic=spec.atomic)
        return self.status(spec.name, spec.namespace)

    def scale(self, name: str, namespace: str, replicas: int, timeout_seconds: int | None = None, *,
              owner: str, node_selector: Mapping[str, str] | None = None) -> ReleaseStatus:
        """An upgrade to the release's own chart (rebuilt from helm's record of the current revision) with the
        current values and `replicaCount`, so nothing but the replica count changes."""
        revision = int(self._metadata(name, namespace)["revision"])
        self._require_owned(name, namespace, owner)
        with self._current_chart(name, namespace, revision) as chart_dir:
            self._apply(name, namespace, str(chart_dir), {"replicaCount": replicas}, timeout_seconds, owner,
                        reuse=True, node_selector=node_selector)
        return self.status(name, namespace)

    def rollback(self, name: str, namespace: str, revision: int | None = None,
                 timeout_seconds: int | None = None, *, owner: str) -> ReleaseStatus:
        # helm copies the target revision's labels: docs/dms.md has operators label every revision they adopt.
        # helm rollback has no --post-renderer: it re-applies the target revision's stored manifests, which are the
        # post-rendered ones, so a revision installed on a pool comes back on that pool.
        self._require_owned(name, namespace, owner)
        timeout = self._timeout(timeout_seconds)
        with self._explained(name, namespace):
            self._helm(lambda client: client._command.rollback(name, revision, namespace=namespace,
                                                               timeout=timeout, wait=True))
        return self.status(name, namespace)

    def uninstall(self, name: str, namespace: str, timeout_seconds: int | None = None, *, owner: str) -> None:
        """Idempotent: a release that is already gone counts as uninstalled (pyhelm3 treats it so, and a retried
        delete operation must succeed)."""
        if self._release_labels(name, namespace) is None:
            return
        self._require_owned(name, namespace, owner)
        timeout = self._timeout(timeout_seconds)
        self._helm(lambda client: client.uninstall_release(name, namespace=namespace, timeout=timeout, wait=True))

    # --- reads ---------------------------------------------------------------------------------------------------

    def status(self, name: str, namespace: str) -> ReleaseStatus:
        metadata = self._metadata(name, namespace)
        labels = self._release_labels(name, namespace) or {}
        with self._cluster_errors():
            workloads, pods = self.cluster.workloads_and_pods(name, namespace)
        return mapping.release_status(metadata, workloads, pods, labels.get(DEPLOYMENT_LABEL))

    def statuses(self, namespace: str, names: Collection[str]) -> dict[str, ReleaseStatus]:
        """`status` of each of `names` that has a release in `namespace`, for the poller: one `helm list` (one
        subprocess instead of one per release), one list of helm's release Secrets' metadata (the ownership markers)
        and one list per workload kind and of pods, however many releases. Releases netweave did not name are
        listed by helm but never looked at further."""
        raw = self._helm(lambda client: client._command.run(
            ["list", "--namespace", namespace, "--all", "--max", "0",  # 0: no limit (helm's default stops at 256)
             "--time-format", mapping.RFC3339_LAYOUT, "--output", "json"]))
        wanted = set(names)
        listed = {str(entry["name"]): entry for entry in json.loads(raw) or [] if entry.get("name") in wanted}
        if not listed:
            return {}
        labels = mapping.labels_by_release(self._release_secrets(namespace, "owner=helm"))
        with self._cluster_errors():
            observed = self.cluster.workloads_and_pods_of(listed, namespace)
        return {name: mapping.listed_release_status(entry, *observed[name],
                                                    owner=labels.get(name, {}).get(DEPLOYMENT_LABEL))
                for name, entry in listed.items()}

    def history(self, name: str, namespace: str) -> list[Revision]:
        entries = self._helm(lambda client: client._command.history(name, namespace=namespace))
        return sorted((mapping.revision(entry) for entry in entries), key=lambda r: r.revision)

    def logs(self, name: str, namespace: str, container: str | None = None, tail_lines: int | None = None,
             since_seconds: int | None = None) -> list[PodLogs]:
        self._metadata(name, namespace)
        with self._cluster_errors():
            return self.cluster.logs(name, namespace, container, tail_lines, since_seconds)

    def close(self) -> None:
        self.cluster.close()

    # --- helm ----------------------------------------------------------------------------------------------------

    def _timeout(self, seconds: int | None) -> str:
        # helm wants a Go duration; a bare number is rejected ("missing unit in duration").
        return f"{seconds or self.options.default_timeout_seconds}s"

    def _apply(self, name: str, namespace: str, chart_ref: str, values: dict[str, Any], timeout_seconds: int | None,
               owner: str, *, reuse: bool, node_selector: Mapping[str, str] | None = None,
               atomic: bool = False) -> None:
        """`helm upgrade --install` carrying the ownership marker as release labels (on the release's storage
        Secret). pyhelm3's own upgrade has no `--labels`, so the command is built here; every revision gets the
        labels again, which also marks a release an operator adopted by labelling only its latest revision. With a
        node selector, helm's post-renderer places every pod template on the pool (placement_renderer); helm
        stores the post-rendered manifests, so what the release records is what runs."""
        labels = ",".join(f"{key}={value}" for key, value in deployment_labels(owner).items())
        command = ["upgrade", name, chart_ref, "--install", "--namespace", namespace,
                   "--labels", labels, "--history-max", str(HISTORY_MAX), "--timeout", self._timeout(timeout_seconds),
                   "--wait", "--wait-for-jobs", "--values", "-", "--output", "json"]
        if self.options.create_namespace:
            command.append("--create-namespace")
        if reuse:
            command.append("--reuse-values")
        if atomic:  # only when a template asks (rollbackOnFailure): the default leaves a failure for the SMO to see
            command.append("--atomic")
        if node_selector:
            # an argument list, never a shell: the selector (label syntax, checked again by the renderer) is one
            # argument whatever it holds
            command += ["--post-renderer", str(_launcher()),
                        "--post-renderer-args", json.dumps(dict(node_selector), sort_keys=True)]

        async def run(client: Any) -> Any:
            await client.get_chart(chart_ref)  # `helm show chart`: rejects a broken archive up front
            return await client._command.run(command, json.dumps(values).encode())

        with self._explained(name, namespace):
            self._helm(run)

    @contextmanager
    def _explained(self, name: str, namespace: str) -> Iterator[None]:
        """helm says only "context deadline exceeded" when --wait gives up; name the pods that kept it waiting."""
        try:
            yield
        except DeploymentFailed as error:
            if "deadline exceeded" not in error.detail:
                raise
            try:
                pods = self.cluster.release_pods(name, namespace)
            except read_errors():  # best effort: the helm error alone is still the answer
                raise error from None
            raise DeploymentFailed(mapping.with_waiting_pods(error.detail, pods)) from error

    def _release_labels(self, name: str, namespace: str) -> dict[str, str] | None:
        """The labels of the release's latest revision (helm keeps them on its storage Secret), None if there is
        no release."""
        return mapping.latest_release_labels(self._release_secrets(namespace, f"owner=helm,name={name}"))

    def _release_secrets(self, namespace: str, selector: str) -> list[dict[str, Any]]:
        """helm's release Secrets in `namespace` matching `selector`: their metadata only, so their data (whole
        charts) is never transferred."""
        with self._cluster_errors():
            response = self.cluster.core().list_namespaced_secret(
                namespace, label_selector=selector, _request_timeout=self.cluster.request_timeout,
                _preload_content=False, _headers={"Accept": _METADATA_ONLY})
        items: list[dict[str, Any]] = json.loads(response.data).get("items") or []
        return items

    def _require_owned(self, name: str, namespace: str, owner: str) -> None:
        """NotFound without a release; NotOwned unless its latest revision carries this deployment's marker."""
        labels = self._release_labels(name, namespace)
        if labels is None:
            raise NotFound(f"no helm release found: {name} in namespace {namespace}")
        require_owned(f"helm release '{name}' in namespace '{namespace}'", labels, owner,
                      f"kubectl label secret --namespace {namespace} --selector owner=helm,name={name} "
                      f"{DEPLOYMENT_LABEL}={owner} (docs/dms.md, \"Ownership markers\")")

    def _metadata(self, name: str, namespace: str) -> dict[str, Any]:
        """`helm get metadata`: revision, state and chart of the current revision in one call."""
        raw = self._helm(lambda client: client._command.run(
            ["get", "metadata", name, "--namespace", namespace, "--output", "json"]))
        metadata: dict[str, Any] = json.loads(raw)
        return metadata

    def _client(self) -> Any:
        with self._lock:
            if self._helm_client is None:
                from pyhelm3 import Client, Command

                _use_writable_helm_home()
                if shutil.which(self.helm_binary) is None:
                    raise BackendUnavailable(f"backend '{self.adapter_id}': no helm binary at {self.helm_binary}")
                kubeconfig = self.options.kubeconfig
                command = Command(executable=self.helm_binary, kubecontext=self.options.context,
                                  kubeconfig=Path(kubeconfig) if kubeconfig else None,
                                  default_timeout=self._timeout(None))
                self._helm_client = Client(command, executable=self.helm_binary)
            return self._helm_client

    def _helm(self, call: Callable[[Any], Awaitable[T]]) -> T:
        """Run one pyhelm3 call to completion and turn helm's failures into domain errors."""
        from pyhelm3 import errors as helm_errors

        client = self._client()
        try:
            return asyncio.run(_awaited(call(client)))
        except helm_errors.Error as error:
            raise self._domain_error(error.stderr.decode(errors="replace")) from error
        except ValidationError as error:  # pyhelm3 validates chart metadata and refs with pydantic
            raise DeploymentFailed(f"helm chart rejected: {error.errors()[0].get('msg', error)}") from error

    def _domain_error(self, stderr: str) -> Exception:
        message, kind = mapping.helm_message(stderr), mapping.classify_error(stderr)
        if kind == "not-found":
            return NotFound(f"no helm release found: {message}")
        if kind == "unavailable":
            return BackendUnavailable(f"backend '{self.adapter_id}': cluster unreachable: {message}")
        return DeploymentFailed(message)

    @contextmanager
    def _current_chart(self, name: str, namespace: str, revision: int) -> Iterator[Path]:
        """The release's chart, rebuilt in a fresh temporary directory. The record is untrusted: anyone who can
        write Secrets in the namespace (a chart's own templates included) can forge helm's release storage, so its
        chart name and file names are checked and every path is resolved and kept inside the directory before
        anything is written (docs/security.md, "Confinement")."""
        with self._cluster_errors():
            secret = self.cluster.core().read_namespaced_secret(
                f"sh.helm.release.v1.{name}.v{revision}", namespace, _request_timeout=self.cluster.request_timeout,
                _preload_content=False)
        refused = f"cannot rebuild the chart of release {name} revision {revision}"
        try:
            record = mapping.decode_release_record(json.loads(secret.data)["data"]["release"])
            files = mapping.chart_files(record)
            chart_name = record["chart"]["metadata"].get("name")
        except (KeyError, ValueError, OSError, AttributeError, TypeError) as error:
            raise DeploymentFailed(f"{refused}: {error}") from error
        problem = chart_name_problem(chart_name)
        if problem is not None:
            raise DeploymentFailed(f"{refused}: the release record's chart name {str(chart_name)[:100]!r} is not a "
                                   f"chart name ({problem}); nothing was written")
        with tempfile.TemporaryDirectory(prefix="netweave-chart-") as directory:
            base = Path(directory).resolve()
            root = _confined(base, base / chart_name, refused)
            targets = {_confined(root, root / relative, refused): content for relative, content in files.items()}
            try:
                for target, content in targets.items():  # all checked before the first write
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(content)
            except OSError as error:  # e.g. a forged record holding both `a` and `a/b`
                raise DeploymentFailed(f"{refused}: {error.strerror} ({error.filename})") from error
            yield root

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
                                     f"{mapping.helm_message(str(error))}") from error


def _launcher() -> Path:
    try:
        return placement_renderer.launcher()
    except (placement_renderer.RenderError, OSError) as error:  # nothing ran yet: the operation fails, says why
        raise DeploymentFailed(f"cannot prepare helm's post-renderer for placement: {error}") from error


def _confined(base: Path, path: Path, refused: str) -> Path:
    """`path` resolved, provided it stays inside `base` (already resolved); DeploymentFailed otherwise."""
    resolved = path.resolve()
    if resolved == base or not resolved.is_relative_to(base):
        raise DeploymentFailed(f"{refused}: the path {str(path)[:200]!r} leaves its directory; nothing was written")
    return resolved


async def _awaited(awaitable: Awaitable[T]) -> T:
    return await awaitable
