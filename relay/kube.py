"""The relay's Kubernetes API port, with the official `kubernetes` client (imported when the port is built, so the
unit tests and `--help` never load it). Raw JSON throughout: the relay never needs the client's model classes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from relay.kinds import Kind
from relay.watch import Gone, NotServed

Obj = dict[str, Any]


class KubernetesApi:
    def __init__(self, kubeconfig: str | None, watch_seconds: int = 300, page_size: int = 500,
                 request_timeout: float = 10.0) -> None:
        from kubernetes import client, config

        configuration = client.Configuration()
        if kubeconfig:
            config.load_kube_config(config_file=kubeconfig, client_configuration=configuration, persist_config=False)
        else:
            config.load_incluster_config(client_configuration=configuration)
        self._client = client.ApiClient(configuration)
        self.watch_seconds, self.page_size, self.request_timeout = watch_seconds, page_size, request_timeout

    def list(self, kind: Kind) -> tuple[list[Obj], str]:
        items: list[Obj] = []
        version, token = "", None
        while True:
            page = json.loads(self._get(kind, limit=self.page_size, _continue=token,
                                        _request_timeout=self.request_timeout).data)
            items.extend(page.get("items") or [])
            version = version or str((page.get("metadata") or {}).get("resourceVersion", ""))
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return items, version

    def watch(self, kind: Kind, resource_version: str) -> Iterator[Obj]:
        from kubernetes.watch.watch import iter_resp_lines

        # The read timeout outlasts the server's own end of the stream, so a quiet watch is not taken for a dead one.
        response = self._get(kind, watch=True, resource_version=resource_version, allow_watch_bookmarks=True,
                             timeout_seconds=self.watch_seconds,
                             _request_timeout=(self.request_timeout, self.watch_seconds + 30))
        try:
            for line in iter_resp_lines(response):
                if line:
                    yield json.loads(line)
        finally:
            response.close()
            response.release_conn()

    def _get(self, kind: Kind, **options: Any) -> Any:
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        try:
            if not kind.group:
                return client.CoreV1Api(self._client).list_node(_preload_content=False, **options)
            return client.CustomObjectsApi(self._client).list_cluster_custom_object(
                kind.group, kind.version, kind.plural, _preload_content=False, **options)
        except ApiException as error:
            if error.status == 410:
                raise Gone(error.reason) from error
            if error.status in (403, 404):
                raise NotServed(f"{kind}: {error.status}") from error
            raise
