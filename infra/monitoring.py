"""CloudWatch alarms, their optional SNS topic, and the operator's dashboard, for infra/template.yaml.

Generated from chalicelib/resources.py (every queue and DLQ gets its alarms), the function names of app.py and the
metrics chalicelib/observability.py emits (EMF: namespace and service from .chalice/config.json, dimension `stage`),
so a new queue, poll or metric name cannot be forgotten here. What each alarm means and why its threshold is what it
is: docs/deploy-aws.md "Alarms and dashboard".
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from chalicelib import observability as obs
from chalicelib import resources
from infra.naming import STAGE, STAGE_PARAMETER, Json, cfn_id, queue_id

CHALICE_CONFIG = Path(__file__).resolve().parents[1] / ".chalice" / "config.json"

APP_NAME_PARAMETER = "AppName"
API_STAGE_PARAMETER = "ApiGatewayStage"
ALARM_EMAIL_PARAMETER = "AlarmEmail"
ALARM_TOPIC_ARN_PARAMETER = "AlarmTopicArn"
CREATE_TOPIC_CONDITION = "CreateAlarmTopic"
USE_TOPIC_ARN_CONDITION = "UseAlarmTopicArn"
ALARM_TOPIC_ID = "AlarmTopic"
DASHBOARD_ID = "Dashboard"

# app.py's functions, by the names Chalice deploys them under: `<app_name>-<stage>` for the API handler (Chalice
# keeps the old deployer's name for it), `<app_name>-<stage>-<name>` for the others.
API_HANDLER = "api_handler"
FUNCTIONS = (API_HANDLER, "poll_inventory", "poll_inventory_on_change", "fan_out", "deliver", "run_dms_operation",
             "poll_deployments")
POLL_FUNCTIONS = {obs.INVENTORY_POLL: ("poll_inventory", "poll_inventory_on_change"),
                  obs.DEPLOYMENT_POLL: ("poll_deployments",)}

PERIOD = 300
# How old the oldest message of a queue may grow before someone should look, from what the queue is for:
# - events: fan_out reads them within seconds; a quarter hour means it failed twice (6-minute visibility) or is
#   throttled, and every SMO's notifications wait behind it;
# - deliveries: a failing callback is retried with a backoff capped at 15 minutes; after an hour a subscriber has
#   missed several attempts at the cap (the message is dead-lettered at the 24-hour horizon, too late to learn of it);
# - dms-operations: an operation may run 15 minutes and a deployment's operations wait in line (batch size 1, FIFO
#   group), so an hour is four worker timeouts: the worker is failing or the line is too long.
OLDEST_MESSAGE_ALARM_SECONDS = {
    resources.EVENTS.logical_name: 15 * 60,
    resources.DELIVERIES.logical_name: 60 * 60,
    resources.DMS_OPERATIONS.logical_name: 60 * 60,
}


def oldest_message_threshold(queue: resources.Queue) -> int:
    """A queue not listed above: two visibility timeouts, i.e. its oldest message was received and not finished."""
    return OLDEST_MESSAGE_ALARM_SECONDS.get(queue.logical_name, 2 * queue.visibility_timeout_seconds)


@cache
def _chalice_config() -> Json:
    loaded: Json = json.loads(CHALICE_CONFIG.read_text())
    return loaded


def app_name() -> str:
    return str(_chalice_config()["app_name"])


def metrics_namespace() -> str:
    """The functions' POWERTOOLS_METRICS_NAMESPACE (what they emit under), not this process's environment."""
    return str(_chalice_config()["environment_variables"]["POWERTOOLS_METRICS_NAMESPACE"])


def metrics_service() -> str:
    return str(_chalice_config()["environment_variables"]["POWERTOOLS_SERVICE_NAME"])


def function_name(function: str) -> str:
    """The deployed function name, with `${AppName}` and `${Stage}` for Fn::Sub."""
    base = f"${{{APP_NAME_PARAMETER}}}-{STAGE}"
    return base if function == API_HANDLER else f"{base}-{function}"


def alarm_name(suffix: str) -> str:
    return f"netweave-{STAGE}-{suffix}"


# ---- parameters, conditions, the topic -------------------------------------------------------------------------

def parameters() -> Json:
    return {
        APP_NAME_PARAMETER: {
            "Type": "String",
            "Default": app_name(),
            "AllowedPattern": "^[A-Za-z0-9_-]+$",
            "Description": "Chalice app_name (.chalice/config.json): the functions are <AppName>-<Stage>[-<function>] "
                           "and the REST API is named <AppName>; the alarms and the dashboard find them by these names",
        },
        API_STAGE_PARAMETER: {
            "Type": "String",
            "Default": str(_chalice_config()["stages"]["dev"]["api_gateway_stage"]),
            "AllowedPattern": "^[A-Za-z0-9_-]+$",
            "Description": "The Chalice stage's api_gateway_stage in .chalice/config.json (dev: api, prod: v1), "
                           "for the API Gateway 5xx alarm and the dashboard",
        },
        ALARM_EMAIL_PARAMETER: {
            "Type": "String",
            "Default": "",
            "AllowedPattern": "^$|^[^@\\s]+@[^@\\s]+$",
            "ConstraintDescription": "empty, or one e-mail address",
            "Description": "When set, the stack creates the SNS topic netweave-<Stage>-alarms with this address "
                           "subscribed (it must confirm the subscription), and every alarm notifies it",
        },
        ALARM_TOPIC_ARN_PARAMETER: {
            "Type": "String",
            "Default": "",
            "AllowedPattern": "^$|^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$",
            "ConstraintDescription": "empty, or the ARN of a standard SNS topic",
            "Description": "When set, every alarm also notifies this existing SNS topic (a pager, chat or ticket "
                           "integration); its policy must let CloudWatch publish",
        },
    }


def conditions() -> Json:
    def is_set(parameter: str) -> Json:
        return {"Fn::Not": [{"Fn::Equals": [{"Ref": parameter}, ""]}]}

    return {CREATE_TOPIC_CONDITION: is_set(ALARM_EMAIL_PARAMETER),
            USE_TOPIC_ARN_CONDITION: is_set(ALARM_TOPIC_ARN_PARAMETER)}


def alarm_topic() -> Json:
    # No KmsMasterKeyId: CloudWatch cannot publish to a topic encrypted with the AWS-managed SNS key, and a
    # customer key for alarm texts (names and thresholds, no data) is not worth its cost here.
    return {
        "Type": "AWS::SNS::Topic",
        "Condition": CREATE_TOPIC_CONDITION,
        "Properties": {
            "TopicName": {"Fn::Sub": alarm_name("alarms")},
            "DisplayName": {"Fn::Sub": f"netweave {STAGE} alarms"},
            "Subscription": [{"Protocol": "email", "Endpoint": {"Ref": ALARM_EMAIL_PARAMETER}}],
        },
    }


def alarm_actions() -> list[Json]:
    """The topic given and/or the topic created; an empty list when neither parameter is set."""
    no_value = {"Ref": "AWS::NoValue"}
    return [{"Fn::If": [USE_TOPIC_ARN_CONDITION, {"Ref": ALARM_TOPIC_ARN_PARAMETER}, no_value]},
            {"Fn::If": [CREATE_TOPIC_CONDITION, {"Ref": ALARM_TOPIC_ID}, no_value]}]


# ---- alarms ----------------------------------------------------------------------------------------------------

def _dimensions(**values: Any) -> list[Json]:
    return [{"Name": name, "Value": value} for name, value in values.items()]


def _netweave_dimensions(**values: str) -> list[Json]:
    """What every EMF document of chalicelib/observability.py carries, plus the metric's own dimensions."""
    return _dimensions(service=metrics_service(), **{obs.STAGE_DIMENSION: {"Ref": STAGE_PARAMETER}}, **values)


def _stat(metric_id: str, namespace: str, metric: str, dimensions: list[Json], stat: str = "Sum",
          period: int = PERIOD) -> Json:
    return {"Id": metric_id, "ReturnData": False, "MetricStat": {
        "Metric": {"Namespace": namespace, "MetricName": metric, "Dimensions": dimensions},
        "Period": period, "Stat": stat}}


def _sum_of(parts: list[Json], label: str) -> list[Json]:
    """Metric math: the sum of `parts`, each missing datapoint counted as 0 (a poll that emitted nothing is fine)."""
    expression = " + ".join(f"FILL({part['Id']}, 0)" for part in parts)
    return [*parts, {"Id": "total", "Expression": expression, "Label": label, "ReturnData": True}]


def _alarm(suffix: str, description: str, threshold: float, periods: int = 1, **metric: Any) -> Json:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmName": {"Fn::Sub": alarm_name(suffix)},
            "AlarmDescription": description,
            "ActionsEnabled": True,
            "AlarmActions": alarm_actions(),
            "OKActions": alarm_actions(),
            **metric,
            "EvaluationPeriods": periods,
            "DatapointsToAlarm": periods,
            "Threshold": threshold,
            "ComparisonOperator": "GreaterThanThreshold",
            # No data means no traffic (an idle queue, a quiet hour): nothing is wrong.
            "TreatMissingData": "notBreaching",
        },
    }


def _sqs_metric(queue: resources.Queue, dead_letter: bool, metric: str) -> Json:
    return {"Namespace": "AWS/SQS", "MetricName": metric, "Statistic": "Maximum", "Period": PERIOD,
            "Dimensions": _dimensions(QueueName={"Fn::GetAtt": [queue_id(queue, dead_letter), "QueueName"]})}


def queue_alarms(queue: resources.Queue) -> dict[str, Json]:
    dlq, threshold = queue.dlq_logical_name, oldest_message_threshold(queue)
    return {
        f"{cfn_id(dlq)}MessagesAlarm": _alarm(
            f"{dlq}-messages",
            f"Messages are waiting in {dlq}: their consumer gave up on them (after {queue.max_receive_count} "
            "receives, or at once for a permanent failure). What to do: docs/deploy-aws.md, Alarms and dashboard.",
            0,
            **_sqs_metric(queue, True, "ApproximateNumberOfMessagesVisible")),
        f"{cfn_id(queue.logical_name)}OldestMessageAlarm": _alarm(
            f"{queue.logical_name}-oldest-message",
            f"The oldest message of {queue.logical_name} is older than {threshold} s: its consumer is failing, "
            "throttled or behind.", threshold,
            **_sqs_metric(queue, False, "ApproximateAgeOfOldestMessage")),
    }


def poll_alarm(poll: str) -> Json:
    errors = [_stat(f"errors_{function}", "AWS/Lambda", "Errors",
                    _dimensions(FunctionName={"Fn::Sub": function_name(function)}))
              for function in POLL_FUNCTIONS[poll]]
    failures = _stat("failures", metrics_namespace(), obs.POLL_FAILURES,
                     _netweave_dimensions(**{obs.POLL_DIMENSION: poll}))
    functions = ", ".join(POLL_FUNCTIONS[poll])
    return _alarm(f"{poll}-poll-failures",
                  f"The {poll} poll failed in two 5-minute periods in a row: {functions} raised or timed out, or "
                  f"could not read or store a backend's state ({obs.POLL_FAILURES}). See the functions' logs.",
                  0, periods=2, Metrics=_sum_of([*errors, failures], f"{poll} poll failures"))


def api_alarm() -> Json:
    # 5XXError is 0 or 1 per request, so its Average is the share of 5xx answers; it includes what the gateway
    # answers itself (a timed-out or crashed integration), which the function's own ServerErrors cannot count.
    return _alarm("api-5xx-rate",
                  "More than 1% of the API's answers in 5 minutes were 5xx (API Gateway 5XXError). See the API "
                  "function's logs for unhandled errors; a 504 is a function timeout.", 0.01,
                  Namespace="AWS/ApiGateway", MetricName="5XXError", Statistic="Average", Period=PERIOD,
                  Dimensions=_dimensions(ApiName={"Ref": APP_NAME_PARAMETER}, Stage={"Ref": API_STAGE_PARAMETER}))


def delivery_alarm() -> Json:
    # 15-minute periods: a failing callback is retried at most 15 minutes apart, so each period sees an attempt.
    parts = [_stat(outcome, metrics_namespace(), obs.DELIVERY_METRICS[outcome], _netweave_dimensions(), period=900)
             for outcome in ("retry", "dead")]
    return _alarm("delivery-failures",
                  "Notifications failed (retried or dead-lettered) in two 15-minute periods in a row: an SMO's "
                  "callback is down or refusing. `python -m devtools.deliveries log SUBSCRIPTION_ID` shows its "
                  "attempts.",
                  0, periods=2, Metrics=_sum_of(parts, "failed delivery attempts"))


def alarms() -> dict[str, Json]:
    result: dict[str, Json] = {}
    for queue in resources.QUEUES:
        result.update(queue_alarms(queue))
    for poll in obs.POLLS:
        result[f"{cfn_id(poll)}PollFailuresAlarm"] = poll_alarm(poll)
    result["ApiServerErrorRateAlarm"] = api_alarm()
    result["DeliveryFailuresAlarm"] = delivery_alarm()
    return result


def outputs() -> Json:
    return {
        "DashboardName": {"Description": "CloudWatch dashboard of this stage", "Value": {"Ref": DASHBOARD_ID}},
        "AlarmTopicArn": {"Description": "SNS topic the alarms notify (created when AlarmEmail is set)",
                          "Condition": CREATE_TOPIC_CONDITION, "Value": {"Ref": ALARM_TOPIC_ID}},
    }
