"""Wire-level behaviour clients depend on, checked over plain HTTP."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from devtools.kubesim import KubeSim


def call(sim: KubeSim, method: str, path: str, body: Any = None, content_type: str = "application/json",
         accept: str = "application/json") -> tuple[int, bytes, str]:
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    request = urllib.request.Request(sim.url + path, data=data, method=method,
                                     headers={"Content-Type": content_type, "Accept": accept})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read(), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers.get("Content-Type", "")


@pytest.mark.parametrize("path", ["/version", "/version/"])
def test_version(kubesim: KubeSim, path: str) -> None:
    status, body, _ = call(kubesim, "GET", path)
    assert status == 200 and json.loads(body)["major"] == "1"


def test_discovery_reports_core_group_as_v1(kubesim: KubeSim) -> None:
    assert json.loads(call(kubesim, "GET", "/api")[1])["versions"] == ["v1"]
    core = json.loads(call(kubesim, "GET", "/api/v1")[1])
    assert core["groupVersion"] == "v1"
    assert {"pods", "pods/log", "nodes", "secrets"} <= {r["name"] for r in core["resources"]}
    groups = {g["name"] for g in json.loads(call(kubesim, "GET", "/apis")[1])["groups"]}
    assert {"apps", "batch", "networking.k8s.io", "argoproj.io", "helm.toolkit.fluxcd.io"} <= groups


def test_openapi_v2_in_json_and_protobuf(kubesim: KubeSim) -> None:
    status, body, _ = call(kubesim, "GET", "/openapi/v2")
    assert status == 200 and json.loads(body)["swagger"] == "2.0"
    status, body, ctype = call(kubesim, "GET", "/openapi/v2",
                               accept="application/com.github.proto-openapi.spec.v2@v1.0+protobuf")
    assert status == 200 and "protobuf" in ctype and b"2.0" in body


def test_create_answers_201_and_status_codes(kubesim: KubeSim) -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "proto-201"}}
    assert call(kubesim, "POST", "/api/v1/namespaces/default/configmaps", cm)[0] == 201
    status, body, _ = call(kubesim, "POST", "/api/v1/namespaces/default/configmaps", cm)
    assert status == 409 and json.loads(body)["reason"] == "AlreadyExists"
    status, body, _ = call(kubesim, "GET", "/api/v1/namespaces/default/configmaps/absent")
    assert status == 404 and json.loads(body)["kind"] == "Status"
    assert call(kubesim, "DELETE", "/api/v1/namespaces/default/configmaps/proto-201")[0] == 200


def test_json_patch_and_server_side_apply_create(kubesim: KubeSim) -> None:
    path = "/api/v1/namespaces/default/configmaps/ssa?fieldManager=test"
    applied = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}, "data": {"a": "1"}}
    status, _, _ = call(kubesim, "PATCH", path, applied, "application/apply-patch+yaml")
    assert status == 201
    ops = [{"op": "add", "path": "/data/b", "value": "2"}, {"op": "remove", "path": "/data/a"}]
    status, body, _ = call(kubesim, "PATCH", path, ops, "application/json-patch+json")
    assert status == 200 and json.loads(body)["data"] == {"b": "2"}
    call(kubesim, "DELETE", "/api/v1/namespaces/default/configmaps/ssa")


def test_watch_honours_timeout_seconds(kubesim: KubeSim) -> None:
    rv = json.loads(call(kubesim, "GET", "/api/v1/namespaces/default/configmaps")[1])["metadata"]["resourceVersion"]
    started = time.monotonic()
    status, body, _ = call(kubesim, "GET", f"/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={rv}"
                                           "&timeoutSeconds=1")
    assert status == 200 and body == b"" and 0.9 < time.monotonic() - started < 5


def test_protobuf_secret_body_is_decoded(kubesim: KubeSim) -> None:
    def field(number: int, payload: bytes) -> bytes:
        return bytes([number << 3 | 2, len(payload)]) + payload

    entry = field(1, b"key") + field(2, b"value")
    secret = field(1, field(1, b"pb-secret")) + field(2, entry) + field(3, b"Opaque")
    envelope = b"k8s\x00" + field(1, field(1, b"v1") + field(2, b"Secret")) + field(2, secret)
    status, body, _ = call(kubesim, "POST", "/api/v1/namespaces/default/secrets", envelope,
                           "application/vnd.kubernetes.protobuf")
    assert status == 201
    assert json.loads(body)["data"] == {"key": "dmFsdWU="}
    call(kubesim, "DELETE", "/api/v1/namespaces/default/secrets/pb-secret")


def test_table_output_for_kubectl(kubesim: KubeSim) -> None:
    _, body, _ = call(kubesim, "GET", "/api/v1/nodes?limit=2",
                      accept="application/json;as=Table;v=v1;g=meta.k8s.io,application/json")
    table = json.loads(body)
    assert table["kind"] == "Table" and len(table["rows"]) == 2 and table["metadata"]["continue"]
