"""EventBridge rules played locally: what AWS wires as "rule → Lambda function", moto holds as "rule → SQS queue",
which the event pump drains into the function. moto's EventBridge matches the app's own event pattern and puts
each matching event, as EventBridge would hand it to Lambda, on that queue.

One standard queue per `@app.on_cw_event` rule, named after it (`netweave-<stage>-rule-<function>`)."""

from __future__ import annotations

import json
from typing import Any

from chalice.app import CloudWatchEventConfig


def rule_queue_name(stage: str, rule: CloudWatchEventConfig) -> str:
    return f"netweave-{stage}-rule-{rule.name}"


def create_rule_targets(session: Any, rules: list[CloudWatchEventConfig], stage: str) -> dict[str, str]:
    """Create (idempotently) each rule with its event pattern on the default bus and a queue as its target; returns
    the queue URL of each rule by name."""
    sqs, events = session.client("sqs"), session.client("events")
    urls: dict[str, str] = {}
    for rule in rules:
        url = sqs.create_queue(QueueName=rule_queue_name(stage, rule))["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        name = f"netweave-{stage}-{rule.name}"
        events.put_rule(Name=name, EventPattern=json.dumps(rule.event_pattern), State="ENABLED")
        events.put_targets(Rule=name, Targets=[{"Id": "local-event-pump", "Arn": arn}])
        urls[rule.name] = url
    return urls
