"""The alarms, their SNS wiring and the dashboard in the committed `infra/template.yaml` (infra/monitoring.py,
infra/dashboard.py): every queue and DLQ has its alarm, each alarm watches exactly the metric AWS or netweave
emits (the EMF documents chalicelib/observability.py prints are parsed and compared), the notifications follow the
parameters, and the dashboard body is valid JSON naming every queue, function and alarm of the stage."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from chalicelib import observability as obs
from chalicelib import resources
from chalicelib.services.delivery import Outcome
from infra import dashboard, generate, monitoring

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "template.yaml"
CONFIG = json.loads((ROOT / ".chalice" / "config.json").read_text())
STAGE = "prod"
PSEUDO = {"AWS::Region": "eu-west-1", "AWS::AccountId": "123456789012", "AWS::Partition": "aws"}
NO_VALUE = object()
ALARM = "AWS::CloudWatch::Alarm"

Json = dict[str, Any]


@pytest.fixture(scope="module")
def template() -> Json:
    loaded: Json = yaml.safe_load(TEMPLATE.read_text())
    return loaded


def _parameters(template: Json, **overrides: str) -> dict[str, str]:
    values = {name: str(spec.get("Default", "")) for name, spec in template["Parameters"].items()}
    return {**values, "Stage": STAGE, **overrides}


def resolve(value: Any, template: Json, parameters: dict[str, str]) -> Any:  # noqa: PLR0911 (one per intrinsic)
    """CloudFormation's evaluation of the intrinsics the monitoring part uses, for these parameter values. A Ref to
    a resource or a GetAtt stays as it is (the resource is checked by its logical id)."""
    if isinstance(value, list):
        items = [resolve(item, template, parameters) for item in value]
        return [item for item in items if item is not NO_VALUE]
    if not isinstance(value, dict):
        return value
    if len(value) != 1 or not next(iter(value)).startswith(("Fn::", "Ref")):
        return {key: resolve(item, template, parameters) for key, item in value.items()}
    (function, argument), = value.items()
    if function == "Ref":
        if argument == "AWS::NoValue":
            return NO_VALUE
        return parameters.get(argument, PSEUDO.get(argument, value))
    if function == "Fn::Sub":
        known = {**parameters, **PSEUDO}
        unknown = set(re.findall(r"\$\{([^}!]*)\}", argument)) - set(known)
        assert not unknown, f"Fn::Sub refers to {unknown}"
        return re.sub(r"\$\{([^}!]*)\}", lambda m: known[m[1]], argument)
    if function == "Fn::If":
        condition, if_true, if_false = argument
        chosen = if_true if resolve(template["Conditions"][condition], template, parameters) else if_false
        return resolve(chosen, template, parameters)
    if function == "Fn::Equals":
        left, right = (resolve(side, template, parameters) for side in argument)
        return left == right
    if function == "Fn::Not":
        return not resolve(argument[0], template, parameters)
    if function == "Fn::GetAtt":
        return value
    raise AssertionError(f"unexpected intrinsic {function}")


def alarms(template: Json, **overrides: str) -> dict[str, Json]:
    parameters = _parameters(template, **overrides)
    return {logical_id: resolve(body["Properties"], template, parameters)
            for logical_id, body in template["Resources"].items() if body["Type"] == ALARM}


def emitted(capsys: pytest.CaptureFixture[str]) -> list[Json]:
    """The EMF documents printed since the last call."""
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]


def identity(document: Json, metric: str) -> tuple[str, str, dict[str, str]]:
    """(namespace, metric, dimensions) of `metric` in one EMF document: what CloudWatch files it under."""
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    (dimension_names,) = directive["Dimensions"]
    assert metric in {m["Name"] for m in directive["Metrics"]}
    return directive["Namespace"], metric, {name: document[name] for name in dimension_names}


def watched(stat: Json) -> tuple[str, str, dict[str, str]]:
    metric = stat["MetricStat"]["Metric"]
    return metric["Namespace"], metric["MetricName"], {d["Name"]: d["Value"] for d in metric["Dimensions"]}


@pytest.fixture()
def emf(monkeypatch: pytest.MonkeyPatch) -> None:
    """Metrics printed as the functions print them, for the stage under test."""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    monkeypatch.setenv("NETWEAVE_STAGE", STAGE)


# ---- the functions' metrics are filed where the template looks ---------------------------------------------------

def test_the_template_reads_the_namespace_and_service_every_function_emits_under() -> None:
    top = CONFIG["environment_variables"]
    assert monitoring.metrics_namespace() == top["POWERTOOLS_METRICS_NAMESPACE"]
    assert monitoring.metrics_service() == top["POWERTOOLS_SERVICE_NAME"]
    for stage in CONFIG["stages"].values():
        overridden = set(stage.get("environment_variables", {})) & {"POWERTOOLS_METRICS_NAMESPACE",
                                                                      "POWERTOOLS_SERVICE_NAME"}
        for function in stage.get("lambda_functions", {}).values():
            overridden |= set(function.get("environment_variables", {})) & {"POWERTOOLS_METRICS_NAMESPACE",
                                                                            "POWERTOOLS_SERVICE_NAME"}
        assert not overridden, "a stage or function emitting elsewhere would leave its alarms blind"


def test_the_functions_are_app_py_s_and_config_json_s(template: Json) -> None:
    import app

    assert set(monitoring.FUNCTIONS) == {"api_handler"} | {source.name for source in app.app.event_sources}
    for settings in CONFIG["stages"].values():
        assert set(settings["lambda_functions"]) == set(monitoring.FUNCTIONS)
    assert {f for functions in monitoring.POLL_FUNCTIONS.values() for f in functions} == {
        "poll_inventory", "poll_inventory_on_change", "poll_deployments"}
    parameters = _parameters(template)
    assert parameters["AppName"] == CONFIG["app_name"]
    # Chalice deploys the API handler as <app>-<stage> and every other function as <app>-<stage>-<name>.
    assert resolve({"Fn::Sub": monitoring.function_name("api_handler")}, template, parameters) == "netweave-prod"
    assert resolve({"Fn::Sub": monitoring.function_name("deliver")}, template, parameters) == "netweave-prod-deliver"


@pytest.mark.parametrize("poll", obs.POLLS)
def test_a_poll_alarm_sums_its_functions_errors_and_the_failures_the_poll_emits(
        template: Json, poll: str, emf: None, capsys: pytest.CaptureFixture[str]) -> None:
    alarm = alarms(template)[f"{generate.cfn_id(poll)}PollFailuresAlarm"]
    stats = {m["Id"]: m for m in alarm["Metrics"] if "MetricStat" in m}
    errors = [watched(m) for key, m in stats.items() if key.startswith("errors_")]
    assert sorted(dims["FunctionName"] for _, _, dims in errors) == sorted(
        f"netweave-{STAGE}-{function}" for function in monitoring.POLL_FUNCTIONS[poll])
    assert {(namespace, name) for namespace, name, _ in errors} == {("AWS/Lambda", "Errors")}
    obs.record_poll(poll, 12.0, changes=0, failures=1, unreachable=0)
    (document,) = emitted(capsys)
    assert watched(stats["failures"]) == identity(document, obs.POLL_FAILURES)
    (total,) = [m for m in alarm["Metrics"] if m.get("ReturnData")]
    assert set(re.findall(r"FILL\((\w+), 0\)", total["Expression"])) == set(stats)
    assert (alarm["ComparisonOperator"], alarm["Threshold"], alarm["EvaluationPeriods"]) == (
        "GreaterThanThreshold", 0, 2)


def test_the_delivery_alarm_watches_retried_and_dead_lettered_notifications(
        template: Json, emf: None, capsys: pytest.CaptureFixture[str]) -> None:
    alarm = alarms(template)["DeliveryFailuresAlarm"]
    obs.record_deliveries({"retry": 1, "dead": 1})
    (document,) = emitted(capsys)
    stats = [m for m in alarm["Metrics"] if "MetricStat" in m]
    assert {watched(m)[1] for m in stats} == {"NotificationsRetried", "NotificationsDeadLettered"}
    for stat in stats:
        assert watched(stat) == identity(document, watched(stat)[1])
        assert stat["MetricStat"]["Period"] == 900  # the longest retry backoff: each period sees an attempt


def test_every_delivery_outcome_and_dms_result_has_its_metric() -> None:
    assert set(obs.DELIVERY_METRICS) == {outcome.value for outcome in Outcome}
    source = (ROOT / "chalicelib" / "services" / "dms_operations.py").read_text()
    returned = set(re.findall(r'^\s+return "(\w+)"$', source, flags=re.MULTILINE))
    assert returned and returned | {"retried"} == set(obs.DMS_RESULTS)


# ---- queues ----------------------------------------------------------------------------------------------------

def _sqs_alarm(alarm: Json) -> tuple[str, str, Any, float]:
    (dimension,) = alarm["Dimensions"]
    assert dimension["Name"] == "QueueName" and alarm["Namespace"] == "AWS/SQS"
    return alarm["MetricName"], alarm["Statistic"], dimension["Value"], alarm["Threshold"]


@pytest.mark.parametrize("queue", resources.QUEUES, ids=lambda q: q.logical_name)
def test_every_dlq_alarms_on_its_first_message_and_every_queue_on_its_oldest(template: Json,
                                                                               queue: resources.Queue) -> None:
    found = alarms(template)
    dlq = found[f"{generate.cfn_id(queue.dlq_logical_name)}MessagesAlarm"]
    assert _sqs_alarm(dlq) == ("ApproximateNumberOfMessagesVisible", "Maximum",
                               {"Fn::GetAtt": [generate.queue_id(queue, True), "QueueName"]}, 0)
    assert dlq["ComparisonOperator"] == "GreaterThanThreshold"
    oldest = found[f"{generate.cfn_id(queue.logical_name)}OldestMessageAlarm"]
    assert _sqs_alarm(oldest) == ("ApproximateAgeOfOldestMessage", "Maximum",
                                  {"Fn::GetAtt": [generate.queue_id(queue), "QueueName"]},
                                  monitoring.OLDEST_MESSAGE_ALARM_SECONDS[queue.logical_name])
    # A message may wait out at least one visibility timeout normally (a retry); the alarm must not fire before.
    assert oldest["Threshold"] >= min(queue.visibility_timeout_seconds, 15 * 60)
    assert dlq["AlarmName"] == f"netweave-{STAGE}-{queue.dlq_logical_name}-messages"


def test_a_new_queue_gets_its_alarms_and_a_threshold_without_anyone_editing_infra(
        monkeypatch: pytest.MonkeyPatch) -> None:
    extra = resources.Queue("audit", fifo=False, visibility_timeout_seconds=300, max_receive_count=5)
    monkeypatch.setattr(resources, "QUEUES", (*resources.QUEUES, extra))
    built = generate.build_template()["Resources"]
    assert built["AuditOldestMessageAlarm"]["Properties"]["Threshold"] == 600  # two visibility timeouts
    assert built["AuditDlqMessagesAlarm"]["Properties"]["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["AuditDeadLetterQueue", "QueueName"]}}]
    assert "netweave-${Stage}-audit-dlq" in built["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]


# ---- API -------------------------------------------------------------------------------------------------------

def test_the_api_alarm_is_the_share_of_5xx_answers_of_this_stage_s_rest_api(template: Json) -> None:
    alarm = alarms(template, ApiGatewayStage="v1")["ApiServerErrorRateAlarm"]
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"], alarm["Period"]) == (
        "AWS/ApiGateway", "5XXError", "Average", 300)
    # Chalice names the REST API after app_name (its OpenAPI title) and deploys it as the api_gateway_stage.
    assert alarm["Dimensions"] == [{"Name": "ApiName", "Value": CONFIG["app_name"]}, {"Name": "Stage", "Value": "v1"}]
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0.01, "GreaterThanThreshold")
    assert template["Parameters"]["ApiGatewayStage"]["Default"] == CONFIG["stages"]["dev"]["api_gateway_stage"]


# ---- notifications: the SNS wiring -------------------------------------------------------------------------------

TOPIC_ARN = "arn:aws:sns:eu-west-1:123456789012:pager"


@pytest.mark.parametrize(("overrides", "topic_created", "actions"), [
    ({}, False, []),
    ({"AlarmTopicArn": TOPIC_ARN}, False, [TOPIC_ARN]),
    ({"AlarmEmail": "noc@example.net"}, True, [{"Ref": "AlarmTopic"}]),
    ({"AlarmEmail": "noc@example.net", "AlarmTopicArn": TOPIC_ARN}, True, [TOPIC_ARN, {"Ref": "AlarmTopic"}]),
], ids=["silent", "existing-topic", "e-mail", "both"])
def test_alarms_notify_exactly_the_topics_the_parameters_ask_for(template: Json, overrides: dict[str, str],
                                                                  topic_created: bool, actions: list[Any]) -> None:
    parameters = _parameters(template, **overrides)
    topic = template["Resources"]["AlarmTopic"]
    assert resolve(template["Conditions"][topic["Condition"]], template, parameters) is topic_created
    found = alarms(template, **overrides)
    assert len(found) == 2 * len(resources.QUEUES) + len(obs.POLLS) + 2
    for logical_id, alarm in found.items():
        assert alarm["AlarmActions"] == actions and alarm["OKActions"] == actions, logical_id
        assert alarm["TreatMissingData"] == "notBreaching", logical_id
    output = template["Outputs"]["AlarmTopicArn"]
    assert output["Condition"] == topic["Condition"] and output["Value"] == {"Ref": "AlarmTopic"}


def test_the_created_topic_mails_the_address_given(template: Json) -> None:
    topic = resolve(template["Resources"]["AlarmTopic"]["Properties"], template,
                    _parameters(template, AlarmEmail="noc@example.net"))
    assert topic["Subscription"] == [{"Protocol": "email", "Endpoint": "noc@example.net"}]
    assert topic["TopicName"] == f"netweave-{STAGE}-alarms"


@pytest.mark.parametrize(("parameter", "value", "accepted"), [
    ("AlarmEmail", "", True), ("AlarmEmail", "noc@example.net", True), ("AlarmEmail", "two@a.b,three@c.d", False),
    ("AlarmEmail", "not an address", False), ("AlarmTopicArn", TOPIC_ARN, True), ("AlarmTopicArn", "pager", False),
])
def test_notification_parameters_are_validated_by_cloudformation(template: Json, parameter: str, value: str,
                                                                  accepted: bool) -> None:
    pattern = template["Parameters"][parameter]["AllowedPattern"]
    assert (re.fullmatch(pattern, value) is not None) is accepted


# ---- dashboard -------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def board(template: Json) -> Json:
    properties = resolve(template["Resources"]["Dashboard"]["Properties"], template,
                         _parameters(template, ApiGatewayStage="v1"))
    assert properties["DashboardName"] == f"netweave-{STAGE}"
    loaded: Json = json.loads(properties["DashboardBody"])
    return loaded


def test_the_dashboard_names_every_queue_dlq_function_and_alarm(board: Json, template: Json) -> None:
    text = json.dumps(board)
    for queue in resources.QUEUES:
        for dead_letter in (False, True):
            assert f'"{resources.queue_name(STAGE, queue, dead_letter)}"' in text
    for function in monitoring.FUNCTIONS:
        name = "netweave-prod" if function == "api_handler" else f"netweave-prod-{function}"
        assert f'"FunctionName", "{name}"' in text
    (status,) = [w for w in board["widgets"] if w["type"] == "alarm"]
    names = {alarm["AlarmName"] for alarm in alarms(template).values()}
    arns = status["properties"]["alarms"]
    assert len(arns) == len(names)
    assert set(arns) == {f"arn:aws:cloudwatch:eu-west-1:123456789012:alarm:{name}" for name in names}
    assert '"ApiName", "netweave", "Stage", "v1"' in text
    assert "${" not in text, "every placeholder is substituted"


def test_the_dashboard_plots_what_the_functions_emit(board: Json, emf: None,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    obs.record_request("GET /o2ims-infrastructureInventory/v1", 200, 3.0)
    for poll in obs.POLLS:  # every count once (zero counts are not emitted)
        obs.record_poll(poll, 10.0, changes=1, failures=1, unreachable=1)
    obs.record_deliveries(dict.fromkeys(obs.DELIVERY_METRICS, 1))
    for result in obs.DMS_RESULTS:
        obs.record_dms_operation(result, 5.0)
    emitted_metrics: set[tuple[str, str, tuple[tuple[str, str], ...]]] = set()
    for document in emitted(capsys):
        for metric in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
            namespace, name, dims = identity(document, metric["Name"])
            emitted_metrics.add((namespace, name, tuple(sorted(dims.items()))))
    plotted: set[tuple[str, str, tuple[tuple[str, str], ...]]] = set()
    searched: set[str] = set()
    for widget in board["widgets"]:
        for line in widget["properties"].get("metrics", []):
            if isinstance(line[0], dict):
                searched.add(line[0]["expression"])
                continue
            values = [v for v in line if not isinstance(v, dict)]
            namespace, name, *flat = values
            plotted.add((namespace, name, tuple(sorted(zip(flat[::2], flat[1::2], strict=True)))))
    by_route = {m for m in emitted_metrics if "route" in dict(m[2])}
    assert emitted_metrics - by_route <= plotted, "a metric the functions emit is missing from the dashboard"
    assert {m for m in plotted if m[0] == "netweave"} <= emitted_metrics, "the dashboard plots a metric nobody emits"
    # Per-route metrics are found by SEARCH over the stage (any route), with the emitted dimension set as schema.
    for namespace, name, _ in by_route:
        assert any(f'{{{namespace},route,service,stage}} MetricName="{name}" stage="{STAGE}"' in expression
                   for expression in searched), name


def test_dashboard_widgets_fit_the_grid_without_overlapping(board: Json) -> None:
    cells: set[tuple[int, int]] = set()
    for widget in board["widgets"]:
        assert widget["x"] >= 0 and widget["x"] + widget["width"] <= 24
        area = {(x, y) for x in range(widget["x"], widget["x"] + widget["width"])
                for y in range(widget["y"], widget["y"] + widget["height"])}
        assert not area & cells, widget["properties"].get("title")
        cells |= area
    assert all(w["properties"]["region"] == "eu-west-1" for w in board["widgets"] if w["type"] == "metric")


def test_the_dashboard_body_is_one_widget_a_line() -> None:
    text = dashboard.dashboard(monitoring.alarms())["Properties"]["DashboardBody"]["Fn::Sub"]
    assert len(text.splitlines()) == len(json.loads(text)["widgets"]) + 2
