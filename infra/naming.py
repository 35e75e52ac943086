"""Logical ids and stage-relative physical names shared by the template's parts (infra/generate.py for storage and
secrets, infra/monitoring.py for alarms and the dashboard)."""

from __future__ import annotations

from typing import Any

from chalicelib import resources

Json = dict[str, Any]

# Physical names come from resources.physical_name itself, called with this placeholder as the stage, so the
# template follows any change to the naming rule; CloudFormation substitutes the Stage parameter at deploy time.
STAGE = "${Stage}"
STAGE_PARAMETER = "Stage"


def cfn_id(logical_name: str) -> str:
    """CloudFormation logical ids are alphanumeric: `delivery-log` -> `DeliveryLog`."""
    return "".join(part.capitalize() for part in logical_name.replace("_", "-").split("-"))


def table_id(table: resources.Table) -> str:
    return f"{cfn_id(table.logical_name)}Table"


def queue_id(queue: resources.Queue, dead_letter: bool = False) -> str:
    return f"{cfn_id(queue.logical_name)}{'DeadLetterQueue' if dead_letter else 'Queue'}"


def bucket_id(bucket: resources.Bucket) -> str:
    return f"{cfn_id(bucket.logical_name)}Bucket"


def name_sub(logical_name: str, fifo: bool = False) -> Json:
    """The stage's physical name of a table, queue or bucket, as an `Fn::Sub` over the Stage parameter."""
    return {"Fn::Sub": resources.physical_name(STAGE, logical_name, fifo=fifo)}
