"""Functional tier: the Chalice app through `chalice.test.Client`, against a real moto server (one per worker)."""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from chalice.test import Client
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.server import ThreadedMotoServer
from werkzeug.serving import make_server

from chalicelib.api import ports as api_ports
from chalicelib.bootstrap import Components
from chalicelib.domain.auth import ALL_SCOPES
from chalicelib.settings import settings_from_environment
from devtools.chart_repo import ChartRepository, build_git_repository, build_repository
from devtools.kubesim.controllers.gitops import GitOps
from devtools.localstack.gateway import gateway_response, is_missing_route
from devtools.localstack.provision import provision
from devtools.token import mint_token
from tests.conftest import PROJECT_DIR

SECRET = "functional-tests-signing-secret-0123456789abcdef"


logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto server access lines drown real failures


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    saved = dict(os.environ)
    os.environ.update(
        AWS_ENDPOINT_URL=url,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_REGION="us-east-1",
        NETWEAVE_STAGE="dev",
        NETWEAVE_AUTH_SECRET=SECRET,
        POWERTOOLS_METRICS_DISABLED="true",
    )
    os.environ.pop("AWS_PROFILE", None)
    provision(settings_from_environment(), boto3.session.Session())
    yield url
    server.stop()
    os.environ.clear()
    os.environ.update(saved)


@contextmanager
def quick_gitops(sync: float = 0.05, source: float = 0.05, finalize: float = 0.05) -> Iterator[None]:
    """kubesim's GitOps controllers answer after these delays (seconds) instead of their defaults, and then back."""
    saved = GitOps.SYNC_DELAY, GitOps.SOURCE_DELAY, GitOps.FINALIZE_DELAY
    GitOps.SYNC_DELAY, GitOps.SOURCE_DELAY, GitOps.FINALIZE_DELAY = sync, source, finalize
    try:
        yield
    finally:
        GitOps.SYNC_DELAY, GitOps.SOURCE_DELAY, GitOps.FINALIZE_DELAY = saved


# Charts the simulated ArgoCD fetches and renders (`helm create` scaffolds: a Deployment, Service, ServiceAccount).
TEST_CHARTS = (("du", "1.0.0"), ("du", "1.1.0"), ("du", "1.2.0"), ("cu", "2.0.0"), ("cu", "2.1.0"),
               ("cu", "3.0.0"), ("vdu", "1.0.0"), ("vdu", "1.1.0"))


@pytest.fixture(scope="session")
def chart_repository(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a real Helm chart repository with TEST_CHARTS, served on 127.0.0.1 for this worker's tests."""
    directory = build_repository(tmp_path_factory.mktemp("charts"), TEST_CHARTS)
    with ChartRepository(directory) as repository:
        yield repository.url


@pytest.fixture(scope="session")
def git_chart_repository(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a Git repository (served over HTTP) with the `du` chart at charts/du, tagged 2.0.0 and 2.1.0."""
    root = tmp_path_factory.mktemp("git")
    build_git_repository(root / "du.git", "du", ["2.0.0", "2.1.0"])
    with ChartRepository(root) as server:
        yield f"{server.url}/du.git"


@pytest.fixture(scope="session")
def serial_moto_url(moto_url: str) -> Iterator[str]:
    """A second endpoint on the same in-process moto backends that handles one request at a time. moto applies a
    transaction's condition and writes without any lock, so two concurrent transactions on the threaded server can
    both pass their conditions; DynamoDB never lets that happen to one item. Serialized requests keep the race
    (whichever arrives first wins) while restoring that atomicity, so concurrency tests exercise our conditions,
    not moto's missing isolation."""
    server = make_server("127.0.0.1", free_port(), DomainDispatcherApplication(create_backend_app), threaded=False,
                         request_handler=MotoRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


def assert_problem(reply: Reply, status: int, detail_part: str = "") -> dict[str, Any]:
    """The reply is RFC 9457 ProblemDetails as every route answers errors (docs/o2-conventions.md §6): this status,
    `application/problem+json`, `status` equal to it, a `title`, a `type` URI, a `detail` mentioning `detail_part`,
    no `instance`. Returns the body."""
    assert reply.status == status, reply.body
    assert reply.header("content-type") == "application/problem+json", reply.headers
    body: dict[str, Any] = reply.json()
    assert body["status"] == status, body
    assert isinstance(body["title"], str) and body["title"], body
    assert isinstance(body["type"], str) and body["type"].startswith("https://"), body
    assert detail_part in body["detail"], body
    assert "instance" not in body, body
    return body


class Api:
    """The app as a client sees it behind API Gateway: the test client plus the gateway responses of `infra/`."""

    def __init__(self, client: Client, token: str) -> None:
        self.client = client
        self.token = token

    def request(
        self,
        method: str,
        path: str,
        token: str | None = "default",
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        sent = {"Host": "gateway.test", **(headers or {})}
        bearer = self.token if token == "default" else token
        if bearer is not None:
            sent["Authorization"] = f"Bearer {bearer}"
        raw = body if isinstance(body, bytes) else (json.dumps(body).encode() if body is not None else b"")
        if body is not None and "Content-Type" not in sent:
            sent["Content-Type"] = "application/json"
        response = self.client.http.request(method, path, headers=sent, body=raw)
        if is_missing_route(response.status_code, response.body):
            status, gateway_headers, gateway_body = gateway_response("MISSING_AUTHENTICATION_TOKEN")
            return Reply(status, gateway_headers, gateway_body)
        return Reply(response.status_code, dict(response.headers), response.body)

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.request("GET", path, **kwargs)


def token_with(*scopes: str) -> str:
    return mint_token(SECRET, set(scopes))


@pytest.fixture()
def components(moto_url: str) -> Components:
    """The gateway's parts for this test, from the session's environment (moto, stage dev). A module whose tests
    run against a site of their own overrides this fixture with the site's components."""
    return Components(settings_from_environment())


@contextmanager
def serving(components: Components) -> Iterator[None]:
    """The API views use `components` (app.py installs the composition root's; a test installs its own)."""
    previous = api_ports.install(lambda: components)
    try:
        yield
    finally:
        api_ports.install(previous)


@pytest.fixture()
def api(components: Components) -> Iterator[Api]:
    import app

    with serving(components), Client(app.app, stage_name="dev", project_dir=str(PROJECT_DIR)) as client:
        yield Api(client, mint_token(SECRET, ALL_SCOPES))
