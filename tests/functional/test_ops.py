"""Operational endpoints and observability: readiness, the OpenAPI document, logs and metrics."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import boto3
import pytest

import app as app_module
from chalicelib import resources
from chalicelib.adapters.store.inventory_store import Manifest
from chalicelib.api.openapi import served_routes
from chalicelib.bootstrap import Components
from chalicelib.domain.auth import Scope
from chalicelib.handlers import inventory as inventory_handlers
from chalicelib.observability import logger
from chalicelib.services.readiness import Probe
from chalicelib.settings import settings_from_environment
from tests.functional.conftest import Api, assert_problem, serving, token_with
from tests.functional.inventory_fixtures import site_environment

OPERATOR = token_with(Scope.OPERATE.value)


@pytest.fixture(autouse=True)
def snapshot_stored(components: Components) -> None:
    """The session's backends have a stored inventory snapshot, as after the first poll (without reading a cluster:
    these tests are about the probes, not the poll)."""
    for adapter in components.settings.gateway.ims_adapters:
        if components.inventory_store.manifest(adapter.id) is None:
            components.inventory_store.put_manifest(Manifest(adapter.id, "functional", 1, {}))


def test_ready_reports_every_table_and_queue_reachable_to_an_operator(api: Api) -> None:
    reply = api.get("/ready", token=OPERATOR)
    assert reply.status == 200
    body = reply.json()
    assert body["status"] == "ready"
    names = {check["name"] for check in body["checks"]}
    assert "dynamodb:netweave-dev-subscriptions" in names
    assert "sqs:netweave-dev-deliveries.fifo" in names
    assert "inventory snapshot" in names


def test_ready_waits_for_the_first_inventory_snapshot(api: Api, tmp_path: Path) -> None:
    """Issue 16: before the first poll every inventory list answers [], which an SMO reads as an empty site. Until
    the poll has stored the snapshot /ready is 503, naming why to an operator; then ready, and the lists are full."""
    with contextmanager(site_environment)(tmp_path) as site, serving(site.components):
        before = api.get("/ready", token=OPERATOR)
        body = assert_problem(before, 503, "inventory snapshot: none yet")
        assert [c for c in body["checks"] if not c["ok"]] == [
            {"name": "inventory snapshot", "ok": False, "detail": "none yet"}]
        assert_problem(api.get("/ready", token=None), 503, "not ready")
        inventory_handlers.poll_inventory(site.components)
        del site.components.readiness_cache  # a fresh container's cache: the next probe, not the cached verdict
        assert api.get("/ready", token=OPERATOR).status == 200
        assert api.get("/o2ims-infrastructureInventory/v1/resourceTypes").json()


@pytest.mark.parametrize("token", [None, token_with(Scope.IMS_READ.value)], ids=["no-token", "token-without-operate"])
def test_ready_without_the_operate_scope_gives_only_the_verdict(api: Api, token: str | None) -> None:
    reply = api.get("/ready", token=token)
    assert reply.status == 200
    assert reply.json() == {"status": "ready"}


def test_ready_with_an_invalid_token_is_401(api: Api) -> None:
    assert_problem(api.get("/ready", token="not-a-jwt"), 401)


def test_ready_is_503_naming_what_is_missing_to_an_operator(api: Api) -> None:
    elsewhere = settings_from_environment({**os.environ, "NETWEAVE_STAGE": "missing-stage"})
    with serving(Components(elsewhere)):
        reply = api.get("/ready", token=OPERATOR)
    assert reply.status == 503
    assert reply.header("content-type") == "application/problem+json"
    assert "netweave-missing-stage-inventory" in reply.json()["detail"]
    failed = [c["name"] for c in reply.json()["checks"] if not c["ok"]]
    assert "dynamodb:netweave-missing-stage-inventory" in failed


def test_ready_is_503_naming_nothing_without_a_token(api: Api) -> None:
    elsewhere = settings_from_environment({**os.environ, "NETWEAVE_STAGE": "missing-stage"})
    with serving(Components(elsewhere)):
        reply = api.get("/ready", token=None)
    body = assert_problem(reply, 503, "not ready")
    assert "checks" not in body
    assert "netweave-" not in reply.body.decode() and "dynamodb" not in reply.body.decode()


def test_ready_probes_aws_once_per_cache_period(api: Api, components: Components,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = components.readiness_probes

    def counted() -> list[Probe]:
        return [(name, _counting(calls, name, probe)) for name, probe in real()]

    monkeypatch.setattr(components, "readiness_probes", counted)
    for _ in range(5):
        assert api.get("/ready", token=None).status == 200
    # one round for five probes: every table, every queue, the snapshot marker of each backend
    assert len(calls) == len(resources.TABLES) + len(resources.QUEUES) + 1


def _counting(calls: list[str], name: str, probe: Callable[[], None]) -> Callable[[], None]:
    def run() -> None:
        calls.append(name)
        probe()

    return run


def test_openapi_lists_exactly_the_routes_the_app_serves(api: Api) -> None:
    document = api.get("/openapi.json", token=None).json()
    documented = {(path, method.upper()) for path, ops in document["paths"].items() for method in ops}
    served = {
        (path, method)
        for path, entries in app_module.app.routes.items()
        for method, entry in entries.items()
        if not entry.view_name.startswith("not_allowed_")
    }
    assert documented == served
    assert {(s.path, s.method) for s in served_routes()} == served


def test_openapi_operations_name_their_scope_and_problem_responses(api: Api) -> None:
    document = api.get("/openapi.json", token=None).json()
    root = document["paths"]["/o2ims-infrastructureInventory/v1"]["get"]
    assert root["security"] == [{"bearerAuth": ["o2ims:read"]}]
    assert "application/problem+json" in root["responses"]["401"]["content"]
    schema_ref = root["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    cloud_info = document["components"]["schemas"][schema_ref.rsplit("/", 1)[-1]]
    assert {"oCloudId", "globalCloudId", "serviceUri"} <= set(cloud_info["properties"])
    assert {p["name"] for p in root["parameters"]} == {"all_fields", "fields", "exclude_fields", "exclude_default"}


def test_each_request_emits_an_emf_metric_document_for_its_route(
    api: Api, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    api.get("/o2ims-infrastructureInventory/v1/nope-but-404-comes-from-the-gateway")
    api.get("/o2ims-infrastructureInventory/v1", token=None)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    emf = [doc for doc in lines if "Requests" in doc]
    assert emf, "no EMF metric document was printed"
    document = emf[-1]
    assert document["route"] == "GET /o2ims-infrastructureInventory/v1"
    assert document["Requests"] in (1.0, [1.0])
    assert document["ClientErrors"] in (1.0, [1.0]) and "ServerErrors" not in document  # zero counts: not sent
    assert document["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "netweave"


def test_request_log_line_is_structured_json_with_request_id(api: Api) -> None:
    stream = io.StringIO()
    handler = logger.registered_handler
    original = handler.setStream(stream)  # type: ignore[attr-defined]
    try:
        api.get("/health", token=None, headers={"X-Request-Id": "trace-log-1"})
    finally:
        handler.setStream(original)  # type: ignore[attr-defined]
    logs = [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
    request_lines = [entry for entry in logs if entry.get("message") == "request"]
    assert any(entry.get("request_id") == "trace-log-1" and entry["status"] == 200 for entry in request_lines)


def test_moto_really_holds_the_provisioned_resources(components: Components, moto_url: str) -> None:
    tables = boto3.client("dynamodb").list_tables()["TableNames"]
    assert "netweave-dev-alarms" in tables
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=components.queue_url(resources.DELIVERIES), AttributeNames=["All"]
    )["Attributes"]
    assert attributes["FifoQueue"] == "true"
    assert json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"].endswith("netweave-dev-deliveries-dlq.fifo")


def test_a_request_id_with_a_trailing_newline_is_replaced_not_echoed(api: Api) -> None:
    reply = api.get("/health", token=None, headers={"X-Request-Id": "trace-log-2\n"})
    assert reply.status == 200
    echoed = reply.header("X-Request-Id")
    assert echoed is not None and "\n" not in echoed and echoed != "trace-log-2"
