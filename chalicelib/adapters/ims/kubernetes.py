"""The `kubernetes` IMS backend: one cluster's nodes as O2ims inventory, read with the official `kubernetes` client.

`kubernetes` (and the urllib3 it drives) is imported inside the methods that use it, never at module level: the API
function imports the adapter registry on every cold start, and most requests never reach a cluster. The client is
built on first use and reused; it is rebuilt when the kubeconfig file changes, because the local stack rewrites it
whenever kubesim restarts. Everything that turns nodes into documents lives in `kubernetes_mapping` (pure).
"""

from __future__ import annotations

import base64
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chalicelib.adapters.ims import kubernetes_mapping as mapping
from chalicelib.adapters.ims.kubernetes_components import HARDWARE_SOURCES, index_hardware
from chalicelib.adapters.ims.port import DEFAULT_POOL_LABELS, InventoryContext
from chalicelib.adapters.kube_errors import credential_errors, transport_errors
from chalicelib.domain.capabilities import Capability
from chalicelib.domain.errors import BackendUnavailable, ConfigurationError
from chalicelib.domain.inventory import InventoryObject
from chalicelib.settings import AdapterConfig

PROFILE_NAME = "native_k8sapi"
_SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
_DIRECTORY = "\0directory"  # where a kubeconfig entry came from; relative file paths resolve against it


class KubernetesOptions(BaseModel):
    """`options` of a `kubernetes` IMS adapter in config/gateway.yaml (docs/kubernetes-backend.md)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    kubeconfig: str | None = None  # path, or several joined by os.pathsep; default KUBECONFIG, then in-cluster
    context: str | None = None
    pool_labels: list[str] | None = Field(default=None, alias="poolLabels", min_length=1)
    location: str | dict[str, str] | None = None
    global_location_id: str | dict[str, str] | None = Field(default=None, alias="globalLocationId")
    page_size: int = Field(default=500, alias="pageSize", ge=1, le=10_000)
    request_timeout_seconds: float = Field(default=10.0, alias="requestTimeoutSeconds", gt=0)
    cordon_alarm_seconds: int = Field(default=3600, alias="cordonAlarmSeconds", ge=0)
    name: str | None = None
    description: str | None = None
    # Only the nodes this label selector matches (the `aws` backend reads its node groups' nodes this way).
    node_label_selector: str | None = Field(default=None, alias="nodeLabelSelector")


@dataclass(frozen=True)
class ClusterAccess:
    """How to reach the cluster, as the kubeconfig (or the pod's service account) says. Certificates and keys are
    base64 PEM, the form of a kubeconfig's `*-data` fields, so an SMO can write them back into a kubeconfig."""

    server: str
    kubeconfig: str | None = None  # None: in-cluster service account
    context: str | None = None
    ca_cert: str | None = None
    user: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    token: str | None = None


def _file_base64(entry: dict[str, Any], path: str) -> str:
    return base64.b64encode((entry[_DIRECTORY] / Path(path).expanduser()).read_bytes()).decode()


def _inline_or_file(entry: dict[str, Any], key: str) -> str | None:
    """`key-data` (already base64) wins over `key`, a file path relative to the kubeconfig that holds the entry."""
    if entry.get(f"{key}-data"):
        return str(entry[f"{key}-data"])
    return _file_base64(entry, str(entry[key])) if entry.get(key) else None


def _merged_kubeconfig(paths: str) -> dict[str, Any]:
    """kubectl's merge rules: the first file that names a cluster, user or context (or current-context) wins."""
    merged: dict[str, Any] = {"clusters": {}, "users": {}, "contexts": {}, "current-context": None}
    files = [Path(p).expanduser() for p in paths.split(os.pathsep) if p and Path(p).expanduser().exists()]
    if not files:
        raise FileNotFoundError(f"no kubeconfig file at {paths}")
    for path in files:
        document = yaml.safe_load(path.read_text()) or {}
        for section in ("clusters", "users", "contexts"):
            for entry in document.get(section) or []:
                body = {**(entry.get(section[:-1]) or {}), _DIRECTORY: path.parent}
                merged[section].setdefault(entry.get("name"), body)
        merged["current-context"] = merged["current-context"] or document.get("current-context")
    return merged


def read_kubeconfig(paths: str, context: str | None = None) -> ClusterAccess:
    """The access data of `context` (default: the current context). Only reads files: no exec plugin runs."""
    merged = _merged_kubeconfig(paths)
    name = context or merged["current-context"]
    if name not in merged["contexts"]:
        raise ValueError(f"context {name!r} is not in kubeconfig {paths}")
    entry = merged["contexts"][name]
    cluster, user = merged["clusters"].get(entry.get("cluster")), merged["users"].get(entry.get("user"))
    if not cluster or not cluster.get("server"):
        raise ValueError(f"context {name!r} names no cluster with a server in kubeconfig {paths}")
    user = user or {_DIRECTORY: Path()}
    token_file = user.get("tokenFile")
    token = user.get("token") or ((user[_DIRECTORY] / token_file).read_text().strip() if token_file else None)
    return ClusterAccess(
        server=str(cluster["server"]).rstrip("/"), kubeconfig=paths, context=name,
        ca_cert=_inline_or_file(cluster, "certificate-authority"), user=entry.get("user"),
        client_cert=_inline_or_file(user, "client-certificate"), client_key=_inline_or_file(user, "client-key"),
        token=token,
    )


def in_cluster_access() -> ClusterAccess:
    host, port = os.environ.get("KUBERNETES_SERVICE_HOST"), os.environ.get("KUBERNETES_SERVICE_PORT")
    if not host or not port:
        raise ValueError("no kubeconfig is configured (option `kubeconfig`, KUBECONFIG) and not running in a cluster")
    ca_file = _SERVICE_ACCOUNT_DIR / "ca.crt"
    ca_cert = base64.b64encode(ca_file.read_bytes()).decode() if ca_file.exists() else None
    # The pod's own service-account token is netweave's identity, not an admin credential meant to be handed out.
    return ClusterAccess(server=f"https://{f'[{host}]' if ':' in host else host}:{port}", ca_cert=ca_cert)


def cluster_profile_data(access: ClusterAccess) -> dict[str, Any]:
    """`profileData` (docs/o2-conventions.md §5); values the kubeconfig lacks are left out, never null. A static
    bearer token is added as `admin_token` (a netweave extension): without it an SMO could not reach a
    token-authenticated cluster."""
    data = {"cluster_api_endpoint": access.server, "cluster_ca_cert": access.ca_cert, "admin_user": access.user,
            "admin_client_cert": access.client_cert, "admin_client_key": access.client_key,
            "admin_token": access.token}
    return {key: value for key, value in data.items() if value}


def _unavailable(adapter_id: str, server: str, error: BaseException, timeout: float) -> BackendUnavailable:
    """One clear sentence per failure; the poller logs it and carries on with the other backends."""
    from kubernetes.client.exceptions import ApiException
    from urllib3 import exceptions as http

    reason = error.reason if isinstance(error, http.MaxRetryError) and error.reason else error
    if isinstance(reason, ApiException) and reason.status in (401, 403):
        why = f"it rejected our credentials (HTTP {reason.status} {reason.reason})"
    elif isinstance(reason, ApiException) and reason.status:
        why = f"it answered HTTP {reason.status} {reason.reason}"
    elif isinstance(reason, ApiException):  # the client reports TLS failures as status 0
        why = f"the request failed ({(str(reason.reason).splitlines() or ['no detail'])[-1]})"
    elif isinstance(reason, http.NewConnectionError):  # before TimeoutError: urllib3 makes it a subclass of it
        why = "connection refused" if "refused" in str(reason).lower() else f"cannot connect ({reason})"
    elif isinstance(reason, http.TimeoutError):
        why = f"no answer within {timeout:g} s"
    else:
        why = f"{type(reason).__name__}: {reason}"
    return BackendUnavailable(f"Kubernetes cluster {server} (backend '{adapter_id}') is unreachable: {why}")


class KubernetesInventoryAdapter:
    """`InventoryAdapter` for one Kubernetes cluster (docs/architecture.md §3)."""

    def __init__(self, config: AdapterConfig) -> None:
        self.adapter_id = config.id
        try:
            self.options = KubernetesOptions.model_validate(config.options)
        except ValidationError as error:
            raise ConfigurationError(f"ims adapter '{config.id}': {error}") from error
        self._lock = threading.Lock()
        self._client: Any = None
        self._client_key: tuple[Any, ...] | None = None
        self._access: ClusterAccess | None = None

    @property
    def capabilities(self) -> frozenset[Capability]:
        return frozenset({Capability.INVENTORY})

    def read_inventory(self, context: InventoryContext) -> list[InventoryObject]:
        access, client = self._connect()
        try:
            nodes = self._list_nodes(client)
            hardware = self._list_hardware(client)
            version = self._version(client)
        except transport_errors() as error:  # every transport or API failure means the same to the poller
            # Start the next poll from scratch: fresh connections, and credentials reloaded (exec plugins, tokens).
            self.close()
            raise _unavailable(self.adapter_id, access.server, error, self.options.request_timeout_seconds) from error
        return mapping.map_cluster(nodes, self._settings(context, access, version), index_hardware(hardware))

    def cluster_profile(self, deployment_manager_id: str) -> dict[str, Any] | None:
        access = self._cluster_access()
        if deployment_manager_id != mapping.deployment_manager_id(self.adapter_id, access.server):
            return None
        return {"profileName": PROFILE_NAME, "profileData": cluster_profile_data(access)}

    def close(self) -> None:
        with self._lock:
            self._drop_client()

    # --- configuration and client ------------------------------------------------------------------------------

    def _kubeconfig_paths(self) -> str | None:
        return self.options.kubeconfig or os.environ.get("KUBECONFIG") or None

    def _source_key(self) -> tuple[Any, ...]:
        """Identifies the configuration the client was built from: the files and their modification times."""
        paths = self._kubeconfig_paths()
        if paths is None:
            return (None,)
        stats = [(p, os.stat(p).st_mtime_ns) for p in paths.split(os.pathsep) if p and os.path.exists(p)]
        return (paths, self.options.context, *stats)

    def _cluster_access(self) -> ClusterAccess:
        with self._lock:
            return self._refresh()[0]

    def _connect(self) -> tuple[ClusterAccess, Any]:
        with self._lock:
            access, key = self._refresh()
            if self._client is None:
                self._client = self._build_client(access)
                self._client_key = key
            return access, self._client

    def _refresh(self) -> tuple[ClusterAccess, tuple[Any, ...]]:
        key = self._source_key()
        if self._access is None or key != self._client_key:
            self._drop_client()
            paths = self._kubeconfig_paths()
            try:
                self._access = read_kubeconfig(paths, self.options.context) if paths else in_cluster_access()
            except (OSError, ValueError, yaml.YAMLError, KeyError, AttributeError, TypeError) as error:
                where = f"kubeconfig {paths}" if paths else "in-cluster configuration"
                raise BackendUnavailable(f"backend '{self.adapter_id}': {where} is not usable: {error}") from error
            self._client_key = key
        return self._access, key

    def _drop_client(self) -> None:
        if self._client is not None:
            self._client.close()
        self._client, self._access = None, None

    def _build_client(self, access: ClusterAccess) -> Any:
        from kubernetes import client as k8s
        from kubernetes import config as k8s_config
        from urllib3.util.retry import Retry

        configuration = k8s.Configuration()
        # One quick retry covers a pooled connection the server closed; more would multiply the timeout.
        configuration.retries = Retry(total=1, backoff_factor=0)
        try:
            if access.kubeconfig:
                k8s_config.load_kube_config(config_file=access.kubeconfig, context=access.context,
                                            client_configuration=configuration, persist_config=False)
            else:
                k8s_config.load_incluster_config(client_configuration=configuration)
        except credential_errors() as error:  # exec plugins and auth providers fail: all mean "cannot connect"
            raise BackendUnavailable(
                f"backend '{self.adapter_id}': cannot load credentials for {access.server}: {error}") from error
        return k8s.ApiClient(configuration)

    def _settings(self, context: InventoryContext, access: ClusterAccess, version: dict[str, Any]
                  ) -> mapping.ClusterSettings:
        keys = self.options.pool_labels or list(dict.fromkeys([*context.pool_label_keys, *DEFAULT_POOL_LABELS]))
        return mapping.ClusterSettings(
            adapter_id=self.adapter_id, o_cloud_id=context.o_cloud_id, server_url=access.server,
            pool_label_keys=tuple(keys), name=self.options.name or self.adapter_id,
            description=self.options.description or f"Kubernetes cluster at {access.server}",
            location=self.options.location, global_location_id=self.options.global_location_id, version=version,
            cordon_alarm_seconds=self.options.cordon_alarm_seconds,
        )

    # --- reads ---------------------------------------------------------------------------------------------------

    def _timeout(self) -> tuple[float, float]:
        return self.options.request_timeout_seconds, self.options.request_timeout_seconds

    def _list_nodes(self, api_client: Any) -> list[dict[str, Any]]:
        """All nodes, page by page. Raw JSON (`_preload_content=False`): the mapping works on plain dicts, and
        skipping the client's model classes roughly halves the time to list 5,000 nodes."""
        from kubernetes import client as k8s

        core = k8s.CoreV1Api(api_client)
        selector = {"label_selector": self.options.node_label_selector} if self.options.node_label_selector else {}
        return self._list_all(lambda token: core.list_node(
            limit=self.options.page_size, _continue=token, _request_timeout=self._timeout(), _preload_content=False,
            **selector))

    def _list_hardware(self, api_client: Any) -> dict[str, list[dict[str, Any]]]:
        """The hardware operators' per-node objects (docs/kubernetes-backend.md "Child resources"). Each is
        optional: a cluster without the operator (404) or an identity not allowed to read its objects (403) still
        maps, with the components the nodes themselves report."""
        from kubernetes import client as k8s
        from kubernetes.client.exceptions import ApiException

        custom = k8s.CustomObjectsApi(api_client)
        found: dict[str, list[dict[str, Any]]] = {}
        for source in HARDWARE_SOURCES:
            try:
                found[source.field] = self._list_all(lambda token, s=source: custom.list_cluster_custom_object(
                    s.group, s.version, s.plural, limit=self.options.page_size, _continue=token,
                    _request_timeout=self._timeout(), _preload_content=False))
            except ApiException as error:
                if error.status not in (403, 404):
                    raise
        return found

    @staticmethod
    def _list_all(call: Any) -> list[dict[str, Any]]:
        """Every item of a paged list; `call(continue_token)` returns one raw page."""
        from kubernetes.client.exceptions import ApiException

        for attempt in range(2):
            items: list[dict[str, Any]] = []
            token: str | None = None
            try:
                while True:
                    page = json.loads(call(token).data)
                    items.extend(page.get("items") or [])
                    token = (page.get("metadata") or {}).get("continue")
                    if not token:
                        return items
            except ApiException as error:
                # 410: the continue token expired mid-list; restart once for a consistent snapshot.
                if error.status != 410 or token is None or attempt:
                    raise
        raise AssertionError("unreachable")

    def _version(self, api_client: Any) -> dict[str, Any]:
        """The API server's version for the deployment manager. Optional: a cluster hiding /version still maps."""
        from kubernetes import client as k8s
        from kubernetes.client.exceptions import ApiException

        try:
            response = k8s.VersionApi(api_client).get_code(_request_timeout=self._timeout(), _preload_content=False)
            version: dict[str, Any] = json.loads(response.data)
            return version
        except ApiException:
            return {}
