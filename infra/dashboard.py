"""The stage's CloudWatch dashboard (`AWS::CloudWatch::Dashboard`), for infra/template.yaml.

The figures an operator watches, top to bottom: the alarms; the API (requests, latency and server errors by route
from netweave's own EMF metrics, because API Gateway's default metrics are per API and stage only: per-resource
figures need detailed metrics, which cost extra); the polls; notifications; DMS operations; the queues and their
DLQs; the functions. The body is JSON inside `Fn::Sub`, so region, account, stage and names resolve at deploy time.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib import observability as obs
from chalicelib import resources
from infra import monitoring
from infra.naming import STAGE, Json

HALF, FULL, HEIGHT = 12, 24, 6
REGION = "${AWS::Region}"


def _netweave(metric: str, dimensions: dict[str, str] | None = None, **options: str | bool) -> list[Any]:
    """A netweave EMF metric, with the dimensions every document carries (chalicelib/observability.py)."""
    flat: list[Any] = [monitoring.metrics_namespace(), metric, "service", monitoring.metrics_service(),
                       obs.STAGE_DIMENSION, STAGE]
    for name, value in (dimensions or {}).items():
        flat += [name, value]
    return [*flat, options] if options else flat


def _search(metric: str, dimension: str, stat: str, label: str | None = None, counts: bool = False) -> list[Any]:
    """One line per value of `dimension` (every route), whichever values exist: SEARCH over the stage's metrics.
    `counts`: a count emitted only when not zero (chalicelib/observability.py), its gaps drawn as 0."""
    schema = ",".join([monitoring.metrics_namespace(), *sorted([dimension, "service", obs.STAGE_DIMENSION])])
    query = f"{{{schema}}} MetricName=\"{metric}\" {obs.STAGE_DIMENSION}=\"{STAGE}\""
    expression = f"SEARCH('{query}', '{stat}', {monitoring.PERIOD})"
    line: Json = {"expression": f"FILL({expression}, 0)" if counts else expression, "id": f"search_{metric.lower()}"}
    return [{**line, "label": label} if label else line]


def _counts(lines: list[tuple[str, dict[str, str] | None, str]]) -> list[list[Any]]:
    """Counts emitted only when not zero (chalicelib/observability.py): each metric fetched unseen, and drawn
    through `FILL(m, 0)`, so a quiet period plots as 0 rather than as a gap."""
    drawn: list[list[Any]] = []
    for index, (metric, dimensions, label) in enumerate(lines):
        drawn.append(_netweave(metric, dimensions, id=f"count{index}", visible=False))
        drawn.append([{"expression": f"FILL(count{index}, 0)", "label": label, "id": f"filled{index}"}])
    return drawn


def _graph(title: str, metrics: list[list[Any]], stat: str = "Sum", width: int = HALF, **extra: Any) -> Json:
    return {"type": "metric", "width": width, "height": HEIGHT, "properties": {
        "title": title, "region": REGION, "view": "timeSeries", "stacked": False, "period": monitoring.PERIOD,
        "stat": stat, "metrics": metrics, **extra}}


def _alarm_arns(alarms: dict[str, Json]) -> list[str]:
    names = [alarm["Properties"]["AlarmName"]["Fn::Sub"] for alarm in alarms.values()]
    return [f"arn:${{AWS::Partition}}:cloudwatch:{REGION}:${{AWS::AccountId}}:alarm:{name}" for name in names]


def _api() -> list[Json]:
    api = ["ApiName", f"${{{monitoring.APP_NAME_PARAMETER}}}", "Stage", f"${{{monitoring.API_STAGE_PARAMETER}}}"]
    return [
        _graph("API requests by route", [_search(obs.REQUESTS, obs.ROUTE_DIMENSION, "Sum")]),
        _graph("API latency by route (p90, ms)", [_search(obs.LATENCY, obs.ROUTE_DIMENSION, "p90")], stat="p90"),
        _graph("API errors by route (5xx, 4xx)",
               [_search(obs.SERVER_ERRORS, obs.ROUTE_DIMENSION, "Sum", "5xx", counts=True),
                _search(obs.CLIENT_ERRORS, obs.ROUTE_DIMENSION, "Sum", "4xx", counts=True)]),
        _graph("API Gateway: requests, 4xx, 5xx (whole API)",
               [["AWS/ApiGateway", metric, *api] for metric in ("Count", "4XXError", "5XXError")]),
    ]


def _polls() -> list[Json]:
    duration = [_netweave(obs.POLL_DURATION, {obs.POLL_DIMENSION: poll}, label=f"{poll} ({stat})", stat=stat)
                for poll in obs.POLLS for stat in ("Average", "Maximum")]
    counts = _counts([(metric, {obs.POLL_DIMENSION: poll}, f"{poll} {metric}")
                      for poll in obs.POLLS for metric in (obs.POLL_CHANGES, obs.POLL_FAILURES, obs.POLL_UNREACHABLE)])
    return [_graph("Poll duration (ms)", duration, stat="Average"),
            _graph("Poll changes, failures, unreachable backends", counts)]


def _notifications_and_dms() -> list[Json]:
    notifications = _counts([(metric, None, metric) for metric in obs.DELIVERY_METRICS.values()])
    dms = [_netweave(obs.DMS_OPERATIONS, {obs.RESULT_DIMENSION: result}, label=result) for result in obs.DMS_RESULTS]
    duration = [_netweave(obs.DMS_OPERATION_DURATION, {obs.RESULT_DIMENSION: result}, label=result)
                for result in obs.DMS_RESULTS]
    return [_graph("Notifications: delivered, retried, dead-lettered", notifications),
            _graph("DMS operations by result", dms),
            _graph("DMS operation duration by result (max, ms)", duration, stat="Maximum")]


def _queues() -> list[Json]:
    def line(queue: resources.Queue, metric: str, dead_letter: bool = False) -> list[Any]:
        return ["AWS/SQS", metric, "QueueName", resources.queue_name(STAGE, queue, dead_letter)]

    thresholds = [{"label": f"{queue.logical_name} alarm", "value": monitoring.oldest_message_threshold(queue)}
                  for queue in resources.QUEUES]
    return [
        _graph("Queue depth (messages visible)",
               [line(q, "ApproximateNumberOfMessagesVisible") for q in resources.QUEUES], stat="Maximum"),
        _graph("Age of the oldest message (s)", [line(q, "ApproximateAgeOfOldestMessage") for q in resources.QUEUES],
               stat="Maximum", annotations={"horizontal": thresholds}),
        _graph("Dead-letter queues (messages visible)",
               [line(q, "ApproximateNumberOfMessagesVisible", True) for q in resources.QUEUES], stat="Maximum"),
    ]


def _functions() -> list[Json]:
    def lines(metric: str) -> list[list[Any]]:
        return [["AWS/Lambda", metric, "FunctionName", monitoring.function_name(f), {"label": f}]
                for f in monitoring.FUNCTIONS]

    return [_graph("Function errors", lines("Errors")), _graph("Function throttles", lines("Throttles")),
            _graph("Function duration (max, ms)", lines("Duration"), stat="Maximum")]


def _placed(widgets: list[Json]) -> list[Json]:
    """Left to right, top to bottom on CloudWatch's 24-column grid."""
    x = y = 0
    for widget in widgets:
        if x + widget["width"] > FULL:
            x, y = 0, y + HEIGHT
        widget.update(x=x, y=y)
        x += widget["width"]
    return widgets


def body(alarms: dict[str, Json]) -> Json:
    header = {"type": "text", "width": FULL, "height": 2, "properties": {"markdown": (
        f"# netweave {STAGE}\nAlarms first, then the API, polls, notifications, DMS operations, queues and "
        "functions. What each figure means: docs/deploy-aws.md, section Alarms and dashboard.")}}
    alarm_status = {"type": "alarm", "width": FULL, "height": 4,
                    "properties": {"title": "Alarms", "alarms": _alarm_arns(alarms)}}
    widgets = [header, alarm_status, *_api(), *_polls(), *_notifications_and_dms(), *_queues(), *_functions()]
    return {"widgets": _placed(widgets)}


def _one_widget_a_line(document: Json) -> str:
    """The body's JSON with one widget per line: short enough for the template, readable in a diff."""
    widgets = ",\n".join(f"  {json.dumps(widget, separators=(',', ':'))}" for widget in document["widgets"])
    return f'{{"widgets": [\n{widgets}\n]}}\n'


def dashboard(alarms: dict[str, Json]) -> Json:
    return {
        "Type": "AWS::CloudWatch::Dashboard",
        "Properties": {
            "DashboardName": {"Fn::Sub": f"netweave-{STAGE}"},
            "DashboardBody": {"Fn::Sub": _one_widget_a_line(body(alarms))},
        },
    }
