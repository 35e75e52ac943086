"""bench/cost.py's price list and arithmetic: measured figures in, USD per month out. Pure: no I/O but reading the
committed Chalice config and infra template (memory sizes, alarm and secret counts).

Prices: AWS list prices for us-east-1, on-demand, no free tier and no savings plan, as AWS's pricing pages give them
(DynamoDB on-demand after its November 2024 reduction). Taken on PRICES_DATE; check them before quoting the table.
"""

from __future__ import annotations

import json
import math
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRICES_DATE = "2026-12-07"
PRICES = {
    "lambda_gb_second": 0.0000166667,  # x86_64, first 6 billion GB-s a month
    "lambda_request": 0.20 / 1e6,
    "dynamodb_read_unit": 0.125 / 1e6,  # on-demand read request unit
    "dynamodb_write_unit": 0.625 / 1e6,  # on-demand write request unit
    "dynamodb_gb_month": 0.25,  # standard table class storage
    "dynamodb_pitr_gb_month": 0.20,  # continuous backups (the infra stack turns them on)
    "sqs_fifo_request": 0.50 / 1e6,  # per 64 KB chunk of a request
    "api_gateway_rest_request": 3.50 / 1e6,  # first 333 million a month
    "logs_ingested_gb": 0.50,
    "custom_metric_month": 0.30,  # first 10,000 metrics
    "alarm_month": 0.10,  # standard resolution
    "dashboard_month": 3.00,
    "secret_month": 0.40,
}
MINUTES_PER_MONTH = 30 * 24 * 60
AWS_LATENCY_MS = 8.0  # assumed per AWS request from a Lambda function in the same region (DynamoDB, SQS)
LAMBDA_REPORT_BYTES = 350  # Lambda's own START, END and REPORT log lines per invocation
# Lambda's SQS event source mapping long-polls each queue with five pollers at rest, 20 s per empty receive:
# requests billed to the queue's owner even when nothing arrives (AWS Lambda developer guide, SQS scaling).
ESM_POLLERS, ESM_RECEIVES_PER_MINUTE = 5, 3


@dataclass
class Measured:
    """One handler run (or one unit of work): what it sent to AWS, what it cost in time, what it logged."""

    requests: Counter[tuple[str, str]] = field(default_factory=Counter)
    read_units: float = 0.0
    write_units: float = 0.0
    cpu_s: float = 0.0
    wall_s: float = 0.0
    log_bytes: float = 0.0
    metrics: set[str] = field(default_factory=set)

    @staticmethod
    def median(runs: list[Measured]) -> Measured:
        keys = {key for run in runs for key in run.requests}
        return Measured(
            requests=Counter({k: statistics.median(r.requests.get(k, 0) for r in runs) for k in keys}),
            read_units=statistics.median(r.read_units for r in runs),
            write_units=statistics.median(r.write_units for r in runs),
            cpu_s=statistics.median(r.cpu_s for r in runs), wall_s=statistics.median(r.wall_s for r in runs),
            log_bytes=statistics.median(r.log_bytes for r in runs),
            metrics=set().union(*(r.metrics for r in runs)))

    def __add__(self, other: Measured) -> Measured:
        return Measured(self.requests + other.requests, self.read_units + other.read_units,
                        self.write_units + other.write_units, self.cpu_s + other.cpu_s, self.wall_s + other.wall_s,
                        self.log_bytes + other.log_bytes, self.metrics | other.metrics)

    def of(self, service: str) -> float:
        return sum(n for (s, _), n in self.requests.items() if s == service)

    def aws_estimate_s(self) -> float:
        """Duration on AWS if netweave's CPU time were all its own work and each AWS request took AWS_LATENCY_MS."""
        return self.cpu_s + sum(self.requests.values()) * AWS_LATENCY_MS / 1000


@dataclass
class PriceLines:
    """Rows of (section, item, USD at the measured wall time, USD at the AWS estimate)."""

    rows: list[tuple[str, str, float, float]] = field(default_factory=list)

    def add(self, section: str, item: str, measured: float, estimate: float | None = None) -> None:
        self.rows.append((section, item, measured, measured if estimate is None else estimate))

    def total(self, section: str) -> tuple[float, float]:
        chosen = [row for row in self.rows if row[0] == section]
        return sum(r[2] for r in chosen), sum(r[3] for r in chosen)

    def table(self, idle_title: str) -> str:
        lines = [f"\nUSD, us-east-1 list prices of {PRICES_DATE}; 'wall' prices Lambda at this machine's wall time "
                 f"(moto and kubesim included), 'estimate' at netweave's CPU + {AWS_LATENCY_MS:g} ms per AWS request",
                 "| section | item | USD (wall) | USD (estimate) |", "|---|---|---|---|"]
        sections = list(dict.fromkeys(row[0] for row in self.rows))
        for section in sections:
            for _, item, measured, estimate in (row for row in self.rows if row[0] == section):
                lines.append(f"| {section} | {item} | {measured:.4f} | {estimate:.4f} |")
            measured_total, estimate_total = self.total(section)
            lines.append(f"| **{section}** | **total** | **{measured_total:.2f}** | **{estimate_total:.2f}** |")
        lines.append(f"\n{IDLE}: {idle_title}")
        return "\n".join(lines)


IDLE, FIXED, API, NOTIFICATIONS = ("idle, per month", "fixed per stage, per month", "per million API requests",
                                   "per million notifications")


def memory_gb(function: str, stage: str = "dev") -> float:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    size = config["stages"][stage]["lambda_functions"].get(function, {}).get("lambda_memory_size",
                                                                             config.get("lambda_memory_size", 128))
    return float(size) / 1024


def lambda_usd(function: str, seconds: float, invocations: float) -> float:
    billed = math.ceil(seconds * 1000) / 1000  # Lambda rounds each invocation up to the millisecond
    return invocations * (billed * memory_gb(function) * PRICES["lambda_gb_second"] + PRICES["lambda_request"])


def _aws_usd(run: Measured, times: float) -> float:
    return times * (run.read_units * PRICES["dynamodb_read_unit"] + run.write_units * PRICES["dynamodb_write_unit"]
                    + run.of("sqs") * PRICES["sqs_fifo_request"])


def _logs_usd(log_bytes: float, times: float) -> float:
    return times * (log_bytes + LAMBDA_REPORT_BYTES) / 1e9 * PRICES["logs_ingested_gb"]


def idle_month(lines: PriceLines, inventory: Measured, deployments: Measured, nodes: int, objects: int,
               subscriptions: int, stored_bytes: float) -> None:
    runs = MINUTES_PER_MONTH
    for function, run in (("poll_inventory", inventory), ("poll_deployments", deployments)):
        lines.add(IDLE, f"Lambda {function} ({memory_gb(function):g} GB, {run.wall_s * 1000:.0f} ms wall / "
                        f"{run.aws_estimate_s() * 1000:.0f} ms estimate)",
                  lambda_usd(function, run.wall_s, runs), lambda_usd(function, run.aws_estimate_s(), runs))
        lines.add(IDLE, f"{function}: DynamoDB {run.read_units:g} RRU + {run.write_units:g} WRU, "
                        f"SQS {run.of('sqs'):g} requests per run", _aws_usd(run, runs))
        lines.add(IDLE, f"{function}: CloudWatch Logs ({run.log_bytes / 1024:.1f} KiB per run)",
                  _logs_usd(run.log_bytes, runs))
    metrics = len(inventory.metrics | deployments.metrics)
    lines.add(IDLE, f"CloudWatch custom metrics the polls emit ({metrics})", metrics * PRICES["custom_metric_month"])
    receives = 3 * ESM_POLLERS * ESM_RECEIVES_PER_MINUTE * MINUTES_PER_MONTH
    lines.add(IDLE, f"SQS: Lambda's pollers on the 3 queues with event sources ({receives / 1e6:.2f} M empty "
                    "receives, assumed)", receives * PRICES["sqs_fifo_request"])
    gigabytes = stored_bytes / 1e9
    lines.add(IDLE, f"DynamoDB storage + point-in-time recovery ({stored_bytes / 1e6:.1f} MB: {objects:,} objects, "
                    f"{subscriptions} subscriptions)",
              gigabytes * (PRICES["dynamodb_gb_month"] + PRICES["dynamodb_pitr_gb_month"]))
    template = (ROOT / "infra" / "template.yaml").read_text()
    alarms = len(re.findall(r"Type: AWS::CloudWatch::Alarm\b", template))
    secrets = len(re.findall(r"Type: AWS::SecretsManager::Secret\b", template))
    lines.add(FIXED, f"CloudWatch alarms of the infra stack ({alarms})", alarms * PRICES["alarm_month"])
    lines.add(FIXED, "CloudWatch dashboard (1)", PRICES["dashboard_month"])
    lines.add(FIXED, f"Secrets Manager secrets ({secrets})", secrets * PRICES["secret_month"])


def per_million_api(lines: PriceLines, request: Measured) -> None:
    million = 1e6
    lines.add(API, f"Lambda api_handler ({memory_gb('api_handler'):g} GB, {request.wall_s * 1000:.1f} ms wall / "
                   f"{request.aws_estimate_s() * 1000:.1f} ms estimate)",
              lambda_usd("api_handler", request.wall_s, million), lambda_usd("api_handler", request.aws_estimate_s(),
                                                                              million))
    lines.add(API, "API Gateway REST requests", million * PRICES["api_gateway_rest_request"])
    lines.add(API, f"DynamoDB ({request.read_units:g} RRU per request)", _aws_usd(request, million))
    lines.add(API, f"CloudWatch Logs ({request.log_bytes:.0f} bytes per request)", _logs_usd(request.log_bytes,
                                                                                           million))


def per_million_notifications(lines: PriceLines, fan_out: Measured, delivery: Measured) -> None:
    """`fan_out` and `delivery` are per notification; Lambda's receive and delete of the deliveries (one each per
    batch of 10, as the event source mapping does) are added to SQS."""
    million, notification = 1e6, fan_out + delivery
    for function, run in (("fan_out", fan_out), ("deliver", delivery)):
        # one invocation per batch of 10 records: Lambda's request fee is per invocation
        lines.add(NOTIFICATIONS, f"Lambda {function} ({memory_gb(function):g} GB, {run.wall_s * 1000:.2f} ms wall / "
                                 f"{run.aws_estimate_s() * 1000:.2f} ms estimate per notification)",
                  _per_notification_lambda(function, run.wall_s), _per_notification_lambda(function,
                                                                                            run.aws_estimate_s()))
    lines.add(NOTIFICATIONS, f"SQS ({notification.of('sqs'):.2f} requests per notification + 0.2 for the event "
                             "source's receive and delete)",
              million * (notification.of("sqs") + 0.2) * PRICES["sqs_fifo_request"])
    lines.add(NOTIFICATIONS, f"DynamoDB ({notification.read_units:.4f} RRU + {notification.write_units:.4f} WRU per "
                             "notification)", _aws_usd(Measured(read_units=notification.read_units,
                                                                write_units=notification.write_units), million))
    logs = million * notification.log_bytes + million / 10 * LAMBDA_REPORT_BYTES  # report lines: per batch of 10
    lines.add(NOTIFICATIONS, f"CloudWatch Logs ({notification.log_bytes:.0f} bytes per notification)",
              logs / 1e9 * PRICES["logs_ingested_gb"])


def _per_notification_lambda(function: str, seconds_per_notification: float) -> float:
    batches = 1e6 / 10
    return lambda_usd(function, seconds_per_notification * 10, batches)
