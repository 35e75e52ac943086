"""Structured JSON logs and CloudWatch EMF metrics (Powertools), shared by every function."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "netweave")
METRICS_NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "netweave")

logger = Logger(service=SERVICE)


def record_request(route: str, status: int, latency_ms: float) -> None:
    """One EMF document per request, dimensioned by route.

    EphemeralMetrics keeps no state shared between instances, so concurrent requests (threads of `chalice local`)
    cannot mix their figures the way the process-wide `Metrics` store would.
    """
    metrics = EphemeralMetrics(namespace=METRICS_NAMESPACE, service=SERVICE)
    metrics.add_dimension(name="route", value=route)
    metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="Latency", unit=MetricUnit.Milliseconds, value=latency_ms)
    metrics.add_metric(name="ClientErrors", unit=MetricUnit.Count, value=1 if 400 <= status < 500 else 0)
    metrics.add_metric(name="ServerErrors", unit=MetricUnit.Count, value=1 if status >= 500 else 0)
    metrics.flush_metrics()
