"""The client library against the running local stack, as an SMO uses it: reads that page through real `Link`
headers, problems as typed errors, and one subscription round trip whose notification the library's own receiver
verifies and parses; and the `netweave` command deploying with --wait."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from netweave_client import BadRequest, Client, NotFound, NotificationReceiver, PackageNotification
from netweave_client.models import PackageEventType

from devtools.chart_repo import build_repository
from tests.e2e.conftest import LocalStack
from tests.waiting import wait_until

pytestmark = pytest.mark.xdist_group("stack")
Arrived = list[tuple[bytes, dict[str, str]]]


@pytest.fixture()
def smo() -> Iterator[tuple[Arrived, str]]:
    """A bare HTTP endpoint keeping each POST's raw body and headers: verification is the library's job."""
    arrived: Arrived = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length", "0")))
            arrived.append((raw, {k.lower(): v for k, v in self.headers.items()}))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield arrived, f"http://127.0.0.1:{server.server_address[1]}/notify"
    server.shutdown()


def test_reads_page_through_the_stack_and_problems_are_typed(stack: LocalStack) -> None:
    with Client(stack.api, stack.token) as nw:
        assert nw.inventory.ocloud().o_cloud_id
        pools = nw.inventory.resource_pools().all()
        paged = nw.inventory.resource_pools(limit=2)
        assert len(pools) > 2, "the demo O-Cloud has more pools than one page of two"
        assert next(len(page) for page in paged.pages()) == 2
        assert {p.resource_pool_id for p in paged} == {p.resource_pool_id for p in pools}
        servers = nw.inventory.resources(pools[0].resource_pool_id, filter="(eq,parentId,null)").all()
        assert all(s.resource_pool_id == pools[0].resource_pool_id for s in servers)
        assert nw.inventory.resource_types().all() and nw.inventory.deployment_managers().all()
        with pytest.raises(NotFound) as missing:
            nw.inventory.resource_pool(str(uuid.uuid4()))
        assert missing.value.problem.type.startswith("https://netweave.io/problems/")
        with pytest.raises(BadRequest, match=r"filter|operator"):
            nw.inventory.resource_pools(filter="(bogus,name,x)").all()


def test_a_subscription_round_trip_verified_by_the_librarys_receiver(stack: LocalStack, smo: tuple[Arrived, str],
                                                                    tmp_path: Path) -> None:
    arrived, callback = smo
    name = f"client-e2e-{uuid.uuid4().hex[:6]}"
    with Client(stack.api, stack.token) as nw:
        subscription = nw.dms.subscribe(callback, filter=f"(eq,name,{name})", consumer_subscription_id=name,
                                        event_types=[PackageEventType.PACKAGE_CREATED])
        assert subscription.secret and subscription.secret.startswith("whsec_")
        receiver = NotificationReceiver([subscription.secret])
        uploaded: list[str] = []

        def heard() -> list[PackageNotification]:
            notes = [receiver.receive(raw, headers) for raw, headers in list(arrived)]
            found = [n for n in notes if isinstance(n, PackageNotification) and n.package_id in uploaded]
            if not found:  # fan-out caches subscriptions for seconds: upload a new version until one is heard
                version = f"0.0.{len(uploaded) + 1}"
                archive = build_repository(tmp_path / version, [(name, version)]) / f"{name}-{version}.tgz"
                uploaded.append(nw.dms.upload_package(archive).package_id)
            return found

        [note, *_] = wait_until(heard, timeout=60, interval=1, what="a PackageCreated at the receiver")
        assert note.event_type == "PackageCreated" and note.consumer_subscription_id == name
        assert note.deployment_package is not None and note.deployment_package["name"] == name
        assert subscription.subscription_id in {s.subscription_id for s in nw.dms.subscriptions()}
        nw.dms.unsubscribe(subscription.subscription_id)
        with pytest.raises(NotFound):
            nw.dms.subscription(subscription.subscription_id)


def netweave(stack: LocalStack, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed console script, as a person runs it (not a terminal: plain progress lines)."""
    env = {**os.environ, "NETWEAVE_URL": stack.api, "NETWEAVE_TOKEN": stack.token}
    command = [str(Path(sys.executable).parent / "netweave"), *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, check=False)


def test_the_cli_deploys_with_progress_and_fails_with_the_problem(stack: LocalStack, tmp_path: Path) -> None:
    name = f"cli-{uuid.uuid4().hex[:6]}"
    listed = netweave(stack, "inventory", "pools", "-o", "json")
    with Client(stack.api, stack.token) as nw:
        assert {p["resourcePoolId"] for p in json.loads(listed.stdout)} == {
            p.resource_pool_id for p in nw.inventory.resource_pools()}
    archive = build_repository(tmp_path, [(name, "1.0.0")]) / f"{name}-1.0.0.tgz"
    package_id = netweave(stack, "packages", "upload", str(archive), "-o", "id").stdout.strip()
    created = netweave(stack, "deploy", "create", name, "-n", f"oran-{name}", "-p", package_id, "--wait", "-o", "id")
    assert created.returncode == 0, created.stderr
    progress = created.stderr.splitlines()
    assert progress[0].startswith("waiting for the operation") and "  create succeeded" in progress
    deployment_id = created.stdout.strip()
    scaled = netweave(stack, "deploy", "scale", deployment_id, "2", "--wait", "-o", "json")
    assert scaled.returncode == 0 and json.loads(scaled.stdout)["operationType"] == "scale"
    refused = netweave(stack, "deploy", "upgrade", deployment_id, "-p", str(uuid.uuid4()), "--wait")
    assert refused.returncode == 1
    assert json.loads(refused.stderr)["status"] == 422  # an unknown package: the gateway's ProblemDetails
    removed = netweave(stack, "deploy", "delete", deployment_id, "--wait")
    assert removed.returncode == 0, removed.stderr
    assert netweave(stack, "packages", "delete", package_id).returncode == 0
    assert netweave(stack, "deploy", "get", deployment_id).returncode == 1  # 404 now
