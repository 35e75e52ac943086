"""The EMF metrics the event functions print, which the stack's alarms and dashboard read (infra/monitoring.py):
one document per poll, per `deliver` batch and per DMS operation, with the stage as a dimension. A metric that is
not printed leaves its alarm silent, so each is checked from the handler or service that emits it."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any, cast

import pytest
from aws_lambda_powertools.metrics import EphemeralMetrics

from chalicelib import observability as obs
from chalicelib.adapters.store.poll_state import PollState
from chalicelib.bootstrap import Components
from chalicelib.handlers import dms as dms_handlers
from chalicelib.handlers import inventory as inventory_handlers
from chalicelib.services.alarm_evaluation import AlarmReport
from chalicelib.services.delivery import deliver_batch
from chalicelib.services.deployment_poll import PollReport as DeploymentPollReport
from chalicelib.services.inventory_poll import PollReport
from tests.unit.test_delivery_policy import (
    FakeLog,
    FakeSender,
    FakeSqs,
    FakeStore,
    at_status,
    ports,
    record,
    subscription,
)
from tests.unit.test_dms_handlers import record as dms_record
from tests.unit.test_dms_handlers import run_one

Json = dict[str, Any]


@pytest.fixture(autouse=True)
def emf(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    monkeypatch.setenv("NETWEAVE_STAGE", "prod")


def documents(capsys: pytest.CaptureFixture[str], metric: str) -> list[Json]:
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    return [line for line in lines if metric in line]


def value(document: Json, metric: str) -> float:
    """A count's value; a count that is zero is not emitted (chalicelib/observability.py), which alarms read as 0."""
    found = document.get(metric, 0)
    return float(found[0] if isinstance(found, list) else found)


def dimensions(document: Json) -> dict[str, str]:
    (names,) = document["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
    return {name: document[name] for name in names}


# ---- deliver ---------------------------------------------------------------------------------------------------

def test_a_delivery_batch_counts_each_outcome_once_in_one_document(capsys: pytest.CaptureFixture[str]) -> None:
    sender = FakeSender({"https://smo/a": [at_status(503)], "https://smo/b": [at_status(200)],
                         "https://smo/c": [at_status(400)], "https://smo/d": [at_status(410)]})
    store = FakeStore(subscription("a"), subscription("b"), subscription("c"), subscription("d"))
    event = {"Records": [record("a", 1), record("a", 2), record("b", 1), record("b", 2), record("c", 1),
                         record("d", 1), record("gone", 1), record("e", 1, body="{not json")]}
    deliver_batch(event, ports(store, sender, FakeSqs(), FakeLog()))
    (document,) = documents(capsys, "NotificationsDelivered")
    counts = {metric: value(document, metric) for metric in obs.DELIVERY_METRICS.values()}
    # a-2 is held back behind a-1 without an attempt: it is not counted.
    assert counts == {"NotificationsDelivered": 2, "NotificationsRetried": 1, "NotificationsDeadLettered": 2,
                      "NotificationsDropped": 1, "SubscriptionsDisabled": 1}
    assert dimensions(document) == {"service": obs.SERVICE, "stage": "prod"}
    assert document["_aws"]["CloudWatchMetrics"][0]["Namespace"] == obs.METRICS_NAMESPACE


def test_a_delivery_that_raises_unexpectedly_counts_as_retried(capsys: pytest.CaptureFixture[str]) -> None:
    class BrokenStore(FakeStore):
        def get(self, subscription_id: str) -> Any:
            raise ConnectionError("DynamoDB unreachable")

    response = deliver_batch({"Records": [record("a", 1)]}, ports(BrokenStore(), FakeSender({}), FakeSqs(), FakeLog()))
    assert response["batchItemFailures"] == [{"itemIdentifier": "m-a-1"}]
    (document,) = documents(capsys, "NotificationsRetried")
    assert value(document, "NotificationsRetried") == 1 and value(document, "NotificationsDelivered") == 0


def test_a_dead_letter_that_cannot_be_sent_is_not_counted_as_dead(capsys: pytest.CaptureFixture[str]) -> None:
    class NoDlq(FakeSqs):
        def send_message(self, **kwargs: Any) -> None:
            raise ConnectionError("SQS unreachable")

    sender = FakeSender({"https://smo/a": [at_status(400)]})
    deliver_batch({"Records": [record("a", 1)]}, ports(FakeStore(subscription("a")), sender, NoDlq(), FakeLog()))
    (document,) = documents(capsys, "NotificationsRetried")
    assert (value(document, "NotificationsDeadLettered"), value(document, "NotificationsRetried")) == (0, 1)
    assert "NotificationsDeadLettered" not in document, "a zero count is not emitted"


# ---- run_dms_operation -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("outcome", "result"), [("succeeded", "succeeded"), ("refused", "refused"),
                                                 (ConnectionError("DynamoDB unreachable"), "retried")])
def test_each_dms_operation_is_counted_by_its_result(monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str],
                                                     outcome: str | Exception, result: str) -> None:
    run_one(monkeypatch, dms_record("m1", "op-1"), outcome)
    (document,) = documents(capsys, "DmsOperations")
    assert dimensions(document) == {"service": obs.SERVICE, "stage": "prod", "result": result}
    assert value(document, "DmsOperations") == 1 and value(document, "DmsOperationDuration") >= 0


# ---- polls -----------------------------------------------------------------------------------------------------

def test_the_deployment_poll_reports_its_duration_changes_and_failures(monkeypatch: pytest.MonkeyPatch,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    report = DeploymentPollReport(checked=5, changed=2, unreachable=["argocd"], failed=["dep-1", "dep-2"])
    monkeypatch.setattr(dms_handlers, "poll_deployments", lambda _ports: report)
    monkeypatch.setattr(dms_handlers, "deployment_alarms", lambda _parts: AlarmReport("deployments"))
    parts = SimpleNamespace(deployment_poll_ports=object)
    dms_handlers.scheduled_deployment_poll(cast(Components, parts))
    (document,) = documents(capsys, "PollDuration")
    assert dimensions(document) == {"service": obs.SERVICE, "stage": "prod", "poll": "deployments"}
    assert (value(document, "PollChanges"), value(document, "PollFailures"), value(document, "PollUnreachable")) == (
        2, 2, 1)


def test_the_inventory_poll_reports_changes_failed_and_unreachable_backends(monkeypatch: pytest.MonkeyPatch,
                                                                            capsys: pytest.CaptureFixture[str]) -> None:
    reports = [PollReport("eks", "changed", created=3, modified=1, deleted=2),
               PollReport("k8s", "unreachable"), PollReport("aws", "failed", error="ClientError"),
               PollReport("edge", "unchanged")]
    monkeypatch.setattr(inventory_handlers, "poll_backends", lambda *_args, **_kwargs: reports)
    monkeypatch.setattr(inventory_handlers, "store_sites", lambda *_args: None)  # sites: not this test's subject
    parts = SimpleNamespace(ims_registry=SimpleNamespace(all=list), alarm_ports=object,
                            stored_pool_ids=lambda _backend: [], inventory_context=None, inventory_store=None,
                            events_publisher=None, server_linker=lambda _generation: None)
    state = SimpleNamespace(stamps={}, inventory=SimpleNamespace(known_hash=lambda _backend: None), asset_generation=0,
                            open_provisioning={})
    assert inventory_handlers.poll_inventory(cast(Components, parts), state=cast(PollState, state)) == [
        r.__dict__ for r in reports]
    (document,) = documents(capsys, "PollDuration")
    assert dimensions(document) == {"service": obs.SERVICE, "stage": "prod", "poll": "inventory"}
    assert (value(document, "PollChanges"), value(document, "PollFailures"), value(document, "PollUnreachable")) == (
        6, 1, 1)


# ---- emission itself -------------------------------------------------------------------------------------------

def test_requests_carry_the_stage_so_two_stages_in_one_account_stay_apart(monkeypatch: pytest.MonkeyPatch,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    obs.record_request("GET /x", 503, 1.0)
    monkeypatch.setenv("NETWEAVE_STAGE", "dev")
    obs.record_request("GET /x", 200, 1.0)
    prod, dev = documents(capsys, "Requests")
    assert (prod["stage"], value(prod, "ServerErrors")) == ("prod", 1)
    assert (dev["stage"], value(dev, "ServerErrors")) == ("dev", 0)


def test_zero_counts_are_not_emitted_so_a_quiet_stage_pays_for_no_idle_metric(
        capsys: pytest.CaptureFixture[str]) -> None:
    obs.record_request("GET /x", 200, 1.0)
    obs.record_poll(obs.INVENTORY_POLL, 12.0, changes=0, failures=0, unreachable=0)
    obs.record_deliveries({})
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    emitted = [{m["Name"] for m in line["_aws"]["CloudWatchMetrics"][0]["Metrics"]} for line in lines]
    assert emitted == [{"Requests", "Latency"}, {"PollDuration"}], "no zero count, no document for an empty batch"


def test_a_metric_that_cannot_be_emitted_does_not_fail_the_work_it_describes(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def broken(self: Any, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("stdout closed")

    monkeypatch.setattr(EphemeralMetrics, "flush_metrics", broken)
    obs.record_poll("inventory", 1.0, changes=0, failures=0, unreachable=0)
    assert documents(capsys, "PollDuration") == []
