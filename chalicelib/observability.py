"""Structured JSON logs and CloudWatch EMF metrics (Powertools), shared by every function.

Counts are emitted only when they are not zero (a request's error counts, a poll's changes, failures and unreachable
backends, a batch's delivery outcomes): CloudWatch bills a custom metric for each hour it receives data, so a
metric sent as 0 every minute costs a full metric-month (0.30 USD) for nothing, and a quiet stage would pay for
every count it might ever have (docs/performance.md "Cost"). Alarms and the dashboard read a missing count as 0
(`FILL(m, 0)` in infra/monitoring.py and infra/dashboard.py).

The metric names and dimensions below are what `infra/monitoring.py` builds the stack's alarms and dashboard from
(docs/deploy-aws.md "Alarms and dashboard"): rename one here and the generated template follows.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "netweave")
METRICS_NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "netweave")

# Every metric carries the dimensions service (Powertools') and stage: two stages in one account and region share
# the namespace, and an alarm of one stage must not fire on the other's figures.
STAGE_DIMENSION = "stage"
# API requests, dimension `route` ("GET /o2ims-infrastructureInventory/v1/resourcePools/{resourcePoolId}").
ROUTE_DIMENSION = "route"
REQUESTS, LATENCY, CLIENT_ERRORS, SERVER_ERRORS = "Requests", "Latency", "ClientErrors", "ServerErrors"
# Polls, dimension `poll`: duration of one poll, objects it found changed, backends (or deployments) it could not
# read because of netweave itself (a bug, the store), and backends that did not answer.
POLL_DIMENSION = "poll"
INVENTORY_POLL, DEPLOYMENT_POLL = "inventory", "deployments"
POLLS = (INVENTORY_POLL, DEPLOYMENT_POLL)
POLL_DURATION, POLL_CHANGES, POLL_FAILURES, POLL_UNREACHABLE = (
    "PollDuration", "PollChanges", "PollFailures", "PollUnreachable")
# Notifications, one document per `deliver` batch: delivery outcome (services/delivery.py Outcome) -> metric.
DELIVERY_METRICS = {
    "delivered": "NotificationsDelivered",
    "retry": "NotificationsRetried",
    "dead": "NotificationsDeadLettered",
    "dropped": "NotificationsDropped",
    "disabled": "SubscriptionsDisabled",
}
# DMS operations, dimension `result`: what services/dms_operations.run_operation answered, or `retried` when it
# raised (the message comes back).
DMS_OPERATIONS, DMS_OPERATION_DURATION, RESULT_DIMENSION = "DmsOperations", "DmsOperationDuration", "result"
DMS_RESULTS = ("succeeded", "failed", "refused", "skipped", "retried")

logger = Logger(service=SERVICE)


def _metrics(**dimensions: str) -> EphemeralMetrics:
    """EphemeralMetrics keeps no state shared between instances, so concurrent requests (threads of `chalice local`)
    cannot mix their figures the way the process-wide `Metrics` store would.

    The stage is read here, at emission, like the POWERTOOLS_* variables above: this module sits below settings in
    the layers (docs/architecture.md §8) and NETWEAVE_STAGE is set once per function by Chalice."""
    metrics = EphemeralMetrics(namespace=METRICS_NAMESPACE, service=SERVICE)
    metrics.add_dimension(name=STAGE_DIMENSION, value=os.environ.get("NETWEAVE_STAGE", "dev"))
    for name, value in dimensions.items():
        metrics.add_dimension(name=name, value=value)
    return metrics


def _flush(metrics: EphemeralMetrics) -> None:
    """Figures are not worth a failed batch: the work they describe is done (and logged) by the time they are sent."""
    try:
        metrics.flush_metrics()
    except Exception:
        logger.exception("metrics not emitted")


def record_request(route: str, status: int, latency_ms: float) -> None:
    """One EMF document per request, dimensioned by route."""
    metrics = _metrics(**{ROUTE_DIMENSION: route})
    metrics.add_metric(name=REQUESTS, unit=MetricUnit.Count, value=1)
    metrics.add_metric(name=LATENCY, unit=MetricUnit.Milliseconds, value=latency_ms)
    if 400 <= status < 500:
        metrics.add_metric(name=CLIENT_ERRORS, unit=MetricUnit.Count, value=1)
    elif status >= 500:
        metrics.add_metric(name=SERVER_ERRORS, unit=MetricUnit.Count, value=1)
    _flush(metrics)


def record_poll(poll: str, duration_ms: float, changes: int, failures: int, unreachable: int) -> None:
    """One EMF document per poll: its duration, and the counts that are not zero."""
    metrics = _metrics(**{POLL_DIMENSION: poll})
    metrics.add_metric(name=POLL_DURATION, unit=MetricUnit.Milliseconds, value=duration_ms)
    for name, count in ((POLL_CHANGES, changes), (POLL_FAILURES, failures), (POLL_UNREACHABLE, unreachable)):
        if count:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=count)
    _flush(metrics)


def record_deliveries(outcomes: Mapping[str, int]) -> None:
    """One EMF document per `deliver` batch: how many messages ended with each outcome that happened (none: none)."""
    counted = {name: outcomes.get(outcome, 0) for outcome, name in DELIVERY_METRICS.items()}
    if not any(counted.values()):
        return
    metrics = _metrics()
    for name, count in counted.items():
        if count:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=count)
    _flush(metrics)


def record_dms_operation(result: str, duration_ms: float) -> None:
    """One EMF document per DMS operation message, dimensioned by its result."""
    metrics = _metrics(**{RESULT_DIMENSION: result})
    metrics.add_metric(name=DMS_OPERATIONS, unit=MetricUnit.Count, value=1)
    metrics.add_metric(name=DMS_OPERATION_DURATION, unit=MetricUnit.Milliseconds, value=duration_ms)
    _flush(metrics)
