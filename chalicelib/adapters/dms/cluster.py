"""The Kubernetes API as every DMS backend (Helm, ArgoCD, Flux) reaches it, and the reads they share: the workloads,
pods and logs of a release, found by the `app.kubernetes.io/instance` label charts put on them.

`kubernetes` is imported when the first call needs it, never at module level (the registry imports the adapters in
the API function too). Errors are left to each backend, which maps them in its own terms.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Collection
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chalicelib.adapters.dms import helm_status
from chalicelib.adapters.dms.port import ChartRepositoryUrl, PodLogs, PodStatus, WorkloadStatus
from chalicelib.adapters.kube_errors import credential_errors
from chalicelib.domain.errors import BackendUnavailable, ConfigurationError

INSTANCE_LABEL = "app.kubernetes.io/instance"
_WORKLOAD_LISTS = (("Deployment", "list_namespaced_deployment"), ("StatefulSet", "list_namespaced_stateful_set"),
                   ("DaemonSet", "list_namespaced_daemon_set"))


class ClusterOptions(BaseModel):
    """The `options` every DMS backend in config/gateway.yaml has: how it reaches its cluster, and how long it waits."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    kubeconfig: str | None = None  # default: KUBECONFIG, then the in-cluster service account
    context: str | None = None
    default_timeout_seconds: int = Field(default=300, alias="defaultTimeoutSeconds", gt=0)
    request_timeout_seconds: float = Field(default=10.0, alias="requestTimeoutSeconds", gt=0)

    @classmethod
    def of(cls, adapter_id: str, options: dict[str, Any]) -> Self:
        """The validated options, or the configuration error naming the adapter."""
        try:
            return cls.model_validate(options)
        except ValidationError as error:
            raise ConfigurationError(f"dms adapter '{adapter_id}': {error}") from error


class GitOpsOptions(ClusterOptions):
    """What the GitOps backends (ArgoCD, Flux) add: how often they look at their controller's progress, and where
    their controller reads the uploaded archives netweave publishes (unset: references only, no archives)."""

    poll_interval_seconds: float = Field(default=1.0, alias="pollIntervalSeconds", gt=0)
    chart_repository_url: ChartRepositoryUrl = Field(default=None, alias="chartRepositoryUrl")


class Cluster:
    """One backend's connection: built on first use, shared by threads, dropped by `close()` after a failure so the
    next call reconnects."""

    def __init__(self, adapter_id: str, kubeconfig: str | None, context: str | None,
                 request_timeout_seconds: float) -> None:
        self.adapter_id = adapter_id
        self.kubeconfig = kubeconfig  # None: KUBECONFIG, then the in-cluster service account
        self.context = context
        self.request_timeout = (request_timeout_seconds, request_timeout_seconds)
        self._lock = threading.Lock()
        self._api_client: Any = None

    def api_client(self) -> Any:
        with self._lock:
            if self._api_client is None:
                self._api_client = self._build()
            return self._api_client

    def core(self) -> Any:
        from kubernetes import client as k8s

        return k8s.CoreV1Api(self.api_client())

    def apps(self) -> Any:
        from kubernetes import client as k8s

        return k8s.AppsV1Api(self.api_client())

    def custom(self) -> Any:
        from kubernetes import client as k8s

        return k8s.CustomObjectsApi(self.api_client())

    def close(self) -> None:
        with self._lock:
            if self._api_client is not None:
                self._api_client.close()
            self._api_client = None

    def _build(self) -> Any:
        from kubernetes import client as k8s
        from kubernetes import config as k8s_config
        from urllib3.util.retry import Retry

        configuration = k8s.Configuration()
        configuration.retries = Retry(total=1, backoff_factor=0)  # more would multiply the timeout
        try:
            if self.kubeconfig or os.environ.get("KUBECONFIG"):
                k8s_config.load_kube_config(config_file=self.kubeconfig, context=self.context,
                                            client_configuration=configuration, persist_config=False)
            else:
                k8s_config.load_incluster_config(client_configuration=configuration)
        except credential_errors() as error:  # missing files, exec plugins, bad YAML: "cannot reach the cluster"
            raise BackendUnavailable(f"backend '{self.adapter_id}': cannot load cluster credentials: {error}") \
                from error
        return k8s.ApiClient(configuration)

    def list_items(self, method: Callable[..., Any], namespace: str, selector: str) -> list[dict[str, Any]]:
        """Items of a namespaced list call as plain JSON (no model objects: faster, and what the mappings read)."""
        response = method(namespace, label_selector=selector, _request_timeout=self.request_timeout,
                          _preload_content=False)
        items: list[dict[str, Any]] = json.loads(response.data).get("items") or []
        return items

    # --- what every backend reads of a release ------------------------------------------------------------------

    def release_pods(self, name: str, namespace: str, instances: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        return self.list_items(self.core().list_namespaced_pod, namespace, _selector(name, instances))

    def workloads_and_pods(self, name: str, namespace: str, instances: tuple[str, ...] = ()
                           ) -> tuple[list[WorkloadStatus], list[PodStatus]]:
        apps, selector = self.apps(), _selector(name, instances)
        workloads = [helm_status.workload_status(kind, item) for kind, method in _WORKLOAD_LISTS
                     for item in self.list_items(getattr(apps, method), namespace, selector)]
        pods = [helm_status.pod_status(pod) for pod in self.release_pods(name, namespace, instances)]
        return workloads, sorted(pods, key=lambda p: p.name)

    def workloads_and_pods_of(self, names: Collection[str], namespace: str
                              ) -> dict[str, tuple[list[WorkloadStatus], list[PodStatus]]]:
        """`workloads_and_pods` of several releases of one namespace: one list per workload kind and one of pods,
        however many releases (4 requests instead of 4 per release), sorted out by their instance label."""
        found: dict[str, tuple[list[WorkloadStatus], list[PodStatus]]] = {name: ([], []) for name in names}
        if not found:
            return found
        apps, selector = self.apps(), f"{INSTANCE_LABEL} in ({','.join(sorted(found))})"
        for kind, method in _WORKLOAD_LISTS:
            for item in self.list_items(getattr(apps, method), namespace, selector):
                found[_instance(item)][0].append(helm_status.workload_status(kind, item))
        for pod in self.list_items(self.core().list_namespaced_pod, namespace, selector):
            found[_instance(pod)][1].append(helm_status.pod_status(pod))
        return {name: (workloads, sorted(pods, key=lambda p: p.name)) for name, (workloads, pods) in found.items()}

    def logs(self, name: str, namespace: str, container: str | None, tail_lines: int | None,
             since_seconds: int | None, instances: tuple[str, ...] = ()) -> list[PodLogs]:
        core, result = self.core(), []
        for pod in self.release_pods(name, namespace, instances):
            pod_name = pod["metadata"]["name"]
            for spec in (pod.get("spec") or {}).get("containers") or []:
                if container is not None and spec["name"] != container:
                    continue
                response = core.read_namespaced_pod_log(
                    pod_name, namespace, container=spec["name"], tail_lines=tail_lines, since_seconds=since_seconds,
                    _request_timeout=self.request_timeout, _preload_content=False)
                result.append(PodLogs(pod=pod_name, container=spec["name"],
                                      lines=response.data.decode(errors="replace").splitlines()))
        return sorted(result, key=lambda entry: (entry.pod, entry.container))


def _instance(item: dict[str, Any]) -> str:
    """The release an object belongs to: the value the selector matched it by."""
    return str(item["metadata"]["labels"][INSTANCE_LABEL])


def _selector(name: str, instances: tuple[str, ...]) -> str:
    """The release's objects: `app.kubernetes.io/instance` is the release name (or one of `instances`)."""
    if not instances:
        return f"{INSTANCE_LABEL}={name}"
    return f"{INSTANCE_LABEL} in ({','.join((name, *instances))})"
