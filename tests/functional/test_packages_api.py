"""Deployment packages through the API: real charts from `helm create` + `helm package`, moto for S3 and DynamoDB,
and a local HTTP server for uploads by URL."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import os
import shutil
import subprocess
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol

import httpcore
import pytest
from chalice.test import Client

from chalicelib import resources
from chalicelib.adapters.helm_binary import helm_binary
from chalicelib.adapters.webhooks import outbound
from chalicelib.bootstrap import Components
from chalicelib.domain.auth import ALL_SCOPES
from chalicelib.domain.callback_policy import Callback, IPAddress
from chalicelib.settings import settings_from_environment
from devtools.token import mint_token
from tests.conftest import PROJECT_DIR
from tests.functional.conftest import SECRET, Api, free_port, serving, token_with

COLLECTION = "/o2dms/v1/deploymentPackages"


@pytest.fixture()
def packages_api(components: Components) -> Iterator[Api]:
    """The app with the packages Blueprint, whether or not app.py registers it yet."""
    # Imported here, not at module level: importing the Blueprint declares its routes, and until app.py serves
    # them too, other tests comparing the declared routes with the served ones would see a difference.
    import app
    from chalicelib.api import packages
    from chalicelib.api.routing import add_method_not_allowed_routes

    if COLLECTION not in app.app.routes:  # the same wiring app.py gets (see the report to the lead)
        app.app.register_blueprint(packages.blueprint)
        add_method_not_allowed_routes(app.app)
    for media_type in packages.BINARY_TYPES:
        if media_type not in app.app.api.binary_types:
            app.app.api.binary_types.append(media_type)
    with serving(components), Client(app.app, stage_name="dev", project_dir=str(PROJECT_DIR)) as client:
        yield Api(client, mint_token(SECRET, ALL_SCOPES))


@pytest.fixture(scope="module")
def chart_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("charts")
    _helm("create", str(work / "base"), cwd=work)
    return work / "base"


def _helm(*args: str, cwd: Path) -> None:
    subprocess.run(
        [helm_binary(), *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        timeout=30,
        env={"HOME": str(cwd), "PATH": "/usr/bin:/bin"},
    )


class MakeChart(Protocol):
    """The `make_chart` fixture: packages the test chart at `version` under a fresh name; returns (name, .tgz)."""

    def __call__(self, version: str = "0.1.0") -> tuple[str, bytes]: ...


@pytest.fixture()
def make_chart(chart_source: Path, tmp_path: Path) -> MakeChart:
    """A packaged chart with a name of its own (tests share the dev tables)."""

    def build(version: str = "0.1.0") -> tuple[str, bytes]:
        name = f"demo-{uuid.uuid4().hex[:8]}"
        target = tmp_path / name
        shutil.copytree(chart_source, target)
        chart_yaml = target / "Chart.yaml"
        text = chart_yaml.read_text().replace("name: base", f"name: {name}")
        chart_yaml.write_text(text.replace("version: 0.1.0", f"version: {version}"))
        _helm("package", str(target), "--destination", str(tmp_path), cwd=tmp_path)
        return name, (tmp_path / f"{name}-{version}.tgz").read_bytes()

    return build


def _upload(api: Api, data: bytes, digest: str | None = None, **kwargs: Any) -> Any:
    headers = {"Content-Type": "application/gzip", **({"Content-Digest": digest} if digest else {})}
    return api.request("POST", COLLECTION, body=data, headers=headers, **kwargs)


def _stored(components: Components) -> tuple[int, int]:
    """(objects in the packages bucket, items in the packages table)."""
    settings = components.settings
    bucket = settings.bucket_name(resources.PACKAGES_BUCKET)
    objects = components.clients.s3.list_objects_v2(Bucket=bucket).get("KeyCount", 0)
    table = settings.table_name(resources.PACKAGES)
    items = components.clients.dynamodb.scan(TableName=table, Select="COUNT")["Count"]
    return int(objects), int(items)


def test_upload_read_list_delete(components: Components, packages_api: Api, make_chart: MakeChart) -> None:
    name, data = make_chart("1.2.3")
    created = _upload(packages_api, data)
    assert created.status == 201, created.body
    package = created.json()
    assert (package["name"], package["version"], package["appVersion"]) == (name, "1.2.3", "1.16.0")
    assert package["checksum"] == "sha256:" + hashlib.sha256(data).hexdigest()
    assert package["size"] == len(data) and package["source"] == "upload" and package["packageType"] == "helm"
    location = created.header("Location")
    assert location == f"{COLLECTION}/{package['packageId']}"

    assert packages_api.get(location).json() == package
    listed = packages_api.get(f"{COLLECTION}?filter=(eq,name,{name})")
    assert listed.status == 200 and [p["packageId"] for p in listed.json()] == [package["packageId"]]

    assert packages_api.request("DELETE", location).status == 204
    assert packages_api.get(location).status == 404
    digest = package["checksum"].removeprefix("sha256:")
    bucket = components.settings.bucket_name(resources.PACKAGES_BUCKET)
    assert components.clients.s3.list_objects_v2(Bucket=bucket, Prefix=f"charts/sha256/{digest}").get("KeyCount") == 0


def test_duplicate_name_and_version_is_409(packages_api: Api, make_chart: MakeChart) -> None:
    _, data = make_chart()
    assert _upload(packages_api, data).status == 201
    again = _upload(packages_api, data)
    assert again.status == 409 and again.json()["status"] == 409


def test_multipart_upload(packages_api: Api, make_chart: MakeChart) -> None:
    name, data = make_chart()
    boundary = "netweave-test-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}.tgz"\r\n'
            "Content-Type: application/gzip\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    reply = packages_api.request(
        "POST", COLLECTION, body=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    assert reply.status == 201, reply.body
    assert reply.json()["name"] == name
    assert reply.json()["checksum"] == "sha256:" + hashlib.sha256(data).hexdigest()  # the part's bytes, unaltered


def content_digest(data: bytes) -> str:
    return "sha-256=:" + base64.b64encode(hashlib.sha256(data).digest()).decode() + ":"


def test_a_direct_upload_is_checked_against_its_content_digest(components: Components, packages_api: Api,
                                                               make_chart: MakeChart) -> None:
    name, data = make_chart()
    before = _stored(components)
    wrong = _upload(packages_api, data, content_digest(data + b"x"))
    assert wrong.status == 422 and wrong.json()["type"].endswith("checksum-mismatch"), wrong.body
    assert _stored(components) == before  # nothing stored
    for header, says in (("sha-512=:AAAA:", "sha-256 only"), ("sha-256=abc", "byte sequence"),
                         ("sha-256=:not*base64:", "base64"), ("sha-256=:AAAA:", "32 bytes")):
        refused = _upload(packages_api, data, header)
        assert refused.status == 400 and says in refused.json()["detail"], (header, refused.body)

    # several algorithms: the sha-256 member is the one checked
    right = _upload(packages_api, data, f"sha-512=:AAAA:, {content_digest(data)}")
    assert right.status == 201 and right.json()["name"] == name, right.body


def test_a_multipart_upload_is_checked_against_its_checksum_part(packages_api: Api, make_chart: MakeChart) -> None:
    name, data = make_chart()
    boundary = "netweave-checksum-boundary"

    def body(checksum: str) -> bytes:
        return (f'--{boundary}\r\nContent-Disposition: form-data; name="checksum"\r\n\r\n{checksum}\r\n'
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}.tgz"\r\n'
                "Content-Type: application/gzip\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()

    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    wrong = packages_api.request("POST", COLLECTION, body=body("sha256:" + "0" * 64), headers=headers)
    assert wrong.status == 422 and wrong.json()["type"].endswith("checksum-mismatch"), wrong.body
    malformed = packages_api.request("POST", COLLECTION, body=body("md5:abc"), headers=headers)
    assert malformed.status == 400 and "checksum" in malformed.json()["detail"]
    right = packages_api.request("POST", COLLECTION, body=body("sha256:" + hashlib.sha256(data).hexdigest()),
                                 headers=headers)
    assert right.status == 201 and right.json()["name"] == name, right.body


def test_list_pages_with_a_link(packages_api: Api, make_chart: MakeChart) -> None:
    for _ in range(2):
        assert _upload(packages_api, make_chart()[1]).status == 201
    first = packages_api.get(f"{COLLECTION}?limit=1")
    assert first.status == 200 and len(first.json()) == 1
    link = first.header("Link")
    assert link is not None and 'rel="next"' in link
    following = packages_api.get(link[link.index("/o2dms") : link.index(">")])
    assert following.status == 200 and following.json()[0]["packageId"] != first.json()[0]["packageId"]
    assert packages_api.get(f"{COLLECTION}?filter=(eq,nosuch,1)").status == 400


@pytest.mark.parametrize("data", [b"\x1f\x8bnot really gzip", b"plain text", b"\x1f\x8b" + bytes(64)])
def test_broken_archive_stores_nothing(components: Components, packages_api: Api, data: bytes) -> None:
    before = _stored(components)
    reply = _upload(packages_api, data)
    assert reply.status == 422 and reply.header("Content-Type") == "application/problem+json"
    assert _stored(components) == before


def test_oversize_upload_is_413(components: Components, packages_api: Api) -> None:
    before = _stored(components)
    reply = _upload(packages_api, b"\x1f\x8b" + bytes(10 * 1024 * 1024))
    assert reply.status == 413
    assert _stored(components) == before


def test_scopes(packages_api: Api, make_chart: MakeChart) -> None:
    _, data = make_chart()
    reader = token_with("o2dms:read")
    assert _upload(packages_api, data, token=reader).status == 403
    assert packages_api.get(COLLECTION, token=token_with("o2ims:read")).status == 403
    listed = packages_api.get(COLLECTION, token=reader)
    assert listed.status == 200 and listed.json() == packages_api.get(COLLECTION).json()


def test_unsupported_media_type(packages_api: Api) -> None:
    reply = packages_api.request("POST", COLLECTION, body=b"hello", headers={"Content-Type": "text/plain"})
    assert reply.status == 415


class _Files(BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}
    requested: list[str] = []

    def do_GET(self) -> None:
        _Files.requested.append(self.path)
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.end_headers()
            return
        data = self.files.get(self.path)
        self.send_response(200 if data is not None else 404)
        self.send_header("Content-Length", str(len(data or b"")))
        self.end_headers()
        self.wfile.write(data or b"")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture()
def file_server(packages_api: Api) -> Iterator[tuple[str, dict[str, bytes]]]:
    """A plain-HTTP file server on 127.0.0.1, which the API is configured to fetch from for this test."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Files)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Files.files = {}
    _Files.requested = []
    local = settings_from_environment({**os.environ, "NETWEAVE_CALLBACK_ALLOW_HTTP": "true",
                                       "NETWEAVE_CALLBACK_ALLOWED_NETWORKS": "127.0.0.0/8"})
    try:
        with serving(Components(local)):
            yield f"http://127.0.0.1:{server.server_address[1]}", _Files.files
    finally:
        server.shutdown()
        server.server_close()


def _by_url(api: Api, url: str, digest: str) -> Any:
    return api.request("POST", COLLECTION, body={"packageUrl": url, "checksum": f"sha256:{digest}"})


def test_upload_by_url(packages_api: Api, make_chart: MakeChart, file_server: tuple[str, dict[str, bytes]]) -> None:
    base, files = file_server
    name, data = make_chart()
    files["/chart.tgz"] = data
    digest = hashlib.sha256(data).hexdigest()

    wrong = _by_url(packages_api, f"{base}/chart.tgz", "0" * 64)
    assert wrong.status == 422 and "checksum" in wrong.json()["detail"]
    created = _by_url(packages_api, f"{base}/chart.tgz", digest)
    assert created.status == 201, created.body
    assert created.json()["name"] == name and created.json()["source"] == f"{base}/chart.tgz"


def test_the_seeds_package_body_with_package_url_spelt_packageURL(
        packages_api: Api, make_chart: MakeChart, file_server: tuple[str, dict[str, bytes]]) -> None:
    base, files = file_server
    name, data = make_chart()
    files["/seed.tgz"] = data
    body = {"packageURL": f"{base}/seed.tgz", "packageType": "helm",
            "checksum": f"sha256:{hashlib.sha256(data).hexdigest()}"}  # as the O2dms extension writes it
    created = packages_api.request("POST", COLLECTION, body=body)
    assert created.status == 201, created.body
    assert created.json()["name"] == name and created.json()["source"] == f"{base}/seed.tgz"


def test_url_redirects_and_refused_addresses(packages_api: Api, file_server: tuple[str, dict[str, bytes]]) -> None:
    base, _ = file_server
    redirected = _by_url(packages_api, f"{base}/redirect", "0" * 64)
    assert redirected.status == 422 and "169.254.169.254" not in redirected.body.decode()
    assert _by_url(packages_api, f"{base}/missing.tgz", "0" * 64).status == 422

    strict = settings_from_environment({**os.environ, "NETWEAVE_CALLBACK_ALLOW_HTTP": "true"})
    with serving(Components(strict)):  # loopback is not among the allowed networks any more
        refused = _by_url(packages_api, f"{base}/chart.tgz", "0" * 64)
    assert refused.status == 400 and "packageUrl" in refused.json()["detail"]
    bad = packages_api.request("POST", COLLECTION, body={"packageUrl": f"{base}/x.tgz", "checksum": "md5:1"})
    assert bad.status == 400


GENERIC = "packageUrl: the package URL could not be fetched"


def test_internal_hosts_answer_one_generic_reason_whatever_failed(
        packages_api: Api, file_server: tuple[str, dict[str, bytes]]) -> None:
    """A closed port, a 302 and a 404 of an (admitted) internal host look alike to the client: the endpoint is no
    port scanner. The details go to the server's log."""
    base, _ = file_server
    closed = _by_url(packages_api, f"http://127.0.0.1:{free_port()}/chart.tgz", "0" * 64)
    redirected = _by_url(packages_api, f"{base}/redirect", "0" * 64)
    missing = _by_url(packages_api, f"{base}/missing.tgz", "0" * 64)
    assert [r.status for r in (closed, redirected, missing)] == [422, 422, 422]
    assert closed.json()["detail"] == redirected.json()["detail"] == missing.json()["detail"] == GENERIC
    assert "169.254.169.254" not in redirected.body.decode()


def test_a_host_that_rebinds_to_loopback_is_fetched_from_the_address_checked(
        packages_api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """The resolver answers a public address to the check and 127.0.0.1 afterwards (DNS rebinding, with the
    system resolver's `localhost` playing the attacker's second answer): nothing may reach 127.0.0.1. The
    connection to the checked public address is recorded and refused in the transport, so no packet leaves the
    machine."""
    dialled: list[str] = []

    def refuse(self: object, host: str, port: int, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        dialled.append(host)
        raise httpcore.ConnectError("refused by the test: no traffic leaves this machine")

    monkeypatch.setattr(outbound._DeadlineBackend, "connect_tcp", refuse)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Files)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Files.files, _Files.requested = {"/chart.tgz": b"not even a chart"}, []
    answers = iter([["93.184.216.34"]])

    def rebinding(target: Callback) -> list[IPAddress]:
        return [ipaddress.ip_address(a) for a in next(answers, ["127.0.0.1"])]

    settings = settings_from_environment({**os.environ, "NETWEAVE_CALLBACK_ALLOW_HTTP": "true",
                                          "NETWEAVE_PACKAGE_FETCH_TIMEOUT_SECONDS": "3"})
    try:
        with serving(Components(settings, resolver=rebinding)):
            reply = _by_url(packages_api, f"http://localhost:{server.server_address[1]}/chart.tgz", "0" * 64)
    finally:
        server.shutdown()
        server.server_close()
    assert _Files.requested == [] and dialled == ["93.184.216.34"]  # the checked address, never the second answer
    assert reply.status == 422 and reply.json()["detail"].startswith(GENERIC)


# ---- repositoryUrl: fetched by ArgoCD/Flux inside the cluster, so checked at registration ------------------------

DNS = {"charts.example.net": "93.184.216.34", "charts.internal.example": "10.20.0.5",
       "meta.example.net": "169.254.169.254", "rebound.example.net": "2002:a9fe:a9fe::1"}


def fake_dns(target: Callback) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(target.host)]
    except ValueError:
        return [ipaddress.ip_address(DNS[target.host])] if target.host in DNS else []


def _register(api: Api, url: str, **environment: str) -> Any:
    settings = settings_from_environment({**os.environ, **environment})
    body = {"packageType": "helm-repo", "repositoryUrl": url, "chart": "du", "version": "1.0.0",
            "name": f"du-{uuid.uuid4().hex[:8]}"}
    with serving(Components(settings, resolver=fake_dns)):
        return api.request("POST", COLLECTION, body=body)


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8879", "https://charts.internal.example/stable", "oci://10.0.0.7/charts",
    "git@charts.internal.example:ran/du.git", "ssh://git@[::1]/ran/du.git", "https://[2002:a00:1::1]/charts",
    "http://chartmuseum.tools.svc.cluster.local:8080", "http://chartmuseum.tools.svc", "http://chartmuseum:8080",
    "https://unknown.example.net/charts",
])
def test_in_cluster_and_internal_repositories_are_refused_unless_listed(packages_api: Api, url: str) -> None:
    reply = _register(packages_api, url)
    assert reply.status == 400, reply.body
    assert "repositoryUrl" in reply.json()["detail"] and "NETWEAVE_REPOSITORY_ALLOWED" in reply.json()["detail"]


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest", "https://meta.example.net/charts",
                                 "https://rebound.example.net/charts"])
def test_metadata_repositories_are_refused_even_when_listed(packages_api: Api, url: str) -> None:
    reply = _register(packages_api, url, NETWEAVE_REPOSITORY_ALLOWED_NETWORKS="0.0.0.0/0,::/0",
                      NETWEAVE_REPOSITORY_ALLOWED_HOSTS="meta.example.net,rebound.example.net")
    assert reply.status == 400 and "metadata" in reply.json()["detail"]


def test_public_and_listed_repositories_are_registered(packages_api: Api) -> None:
    assert _register(packages_api, "https://charts.example.net/stable").status == 201
    listed = {"NETWEAVE_REPOSITORY_ALLOWED_HOSTS": "*.svc.cluster.local, chartmuseum",
              "NETWEAVE_REPOSITORY_ALLOWED_NETWORKS": "10.20.0.0/16"}
    for url in ("http://chartmuseum.tools.svc.cluster.local:8080", "http://chartmuseum:8080",
                "git@charts.internal.example:ran/du.git", "oci://charts.internal.example/charts"):
        reply = _register(packages_api, url, **listed)
        assert reply.status == 201, (url, reply.body)
    assert _register(packages_api, "oci://10.0.0.7/charts", **listed).status == 400  # outside the listed network
