"""What netweave costs to run on AWS, in USD per month (docs/performance.md "Cost"), printed, never asserted.

Measured here, then priced with the published us-east-1 list prices in `PRICES` (no free tier, no savings plan):
- an idle O-Cloud: one Kubernetes backend of `--nodes` nodes (kubesim) and a helm deployment backend, polled each
  minute by both schedules (`poll_inventory`, `poll_deployments`), with `--subscriptions` inventory subscriptions
  and nothing changing. Per poll: AWS requests by operation (botocore, `devtools/aws_requests.py`), DynamoDB capacity
  units (by DynamoDB's billing rules from the items sent and received, `devtools/dynamodb_capacity.py`), handler CPU
  and wall time, and the bytes it logs (Lambda sends stdout to CloudWatch Logs);
- an API request: the 100-item resource page of bench/api_overhead.py through the real Lambda entry point (RS256
  token, JWKS), against `devtools/dynamodb_responder.py`;
- a notification: one change fanned out to 100 subscriptions (`fan_out_batch`), then delivered (`deliver_batch`)
  to a live HTTP receiver on loopback, in batches of 10 as the event source mapping hands them over.

Lambda bills wall time. Here the wall time includes moto's and kubesim's answers on this machine, so each line is
priced twice: at the measured wall time (what this machine shows, simulator included) and at netweave's CPU time
plus `AWS_LATENCY_MS` per AWS request (an assumption, printed with the table). Neither is AWS's figure; the request
counts and capacity units are netweave's own and are what AWS would bill.

    .venv/bin/python bench/cost.py [--nodes 1000] [--subscriptions 10] [--polls 5] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import start_aws, start_kubesim, stdout_to
from bench.cost_model import (
    MINUTES_PER_MONTH,
    Measured,
    PriceLines,
    idle_month,
    per_million_api,
    per_million_notifications,
)

NODES, SUBSCRIPTIONS = 1_000, 10
API_RESOURCES = 10_000  # the pool bench/api_overhead.py pages through


@dataclass
class Meter:
    """Requests, capacity units, CPU, wall time, log bytes and EMF metrics of what runs inside `measure`."""

    clients: list[Any]
    measured: list[Measured] = field(default_factory=list)

    def __post_init__(self) -> None:
        from chalicelib import resources
        from chalicelib.settings import settings_from_environment
        from devtools.aws_requests import AwsRequestCounter
        from devtools.dynamodb_capacity import CapacityMeter

        settings = settings_from_environment()
        self.requests = AwsRequestCounter().attach(*self.clients)
        self.capacity = CapacityMeter(*((settings.table_name(table), table) for table in resources.TABLES))
        self.capacity.attach(*(c for c in self.clients if c.meta.service_model.service_name == "dynamodb"))

    @contextlib.contextmanager
    def measure(self, units: int = 1) -> Iterator[None]:
        """One measured run, divided by `units` (a batch of notifications counts per notification)."""
        self.requests.reset()
        self.capacity.reset()
        with tempfile.TemporaryFile() as log, stdout_to(log):
            wall, cpu = time.perf_counter(), time.process_time()
            yield
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            sys.stdout.flush()
            log.seek(0)
            lines = log.read().splitlines()
        self.measured.append(Measured(
            requests=Counter({key: count / units for key, count in self.requests.counts.items()}),
            read_units=self.capacity.total()[0] / units, write_units=self.capacity.total()[1] / units,
            cpu_s=cpu / units, wall_s=wall / units, log_bytes=sum(len(line) + 1 for line in lines) / units,
            metrics=_emf_metrics(lines)))


def _emf_metrics(lines: list[bytes]) -> set[str]:
    """Distinct CloudWatch custom metrics (name + dimension values) in embedded metric format log lines."""
    found: set[str] = set()
    for line in lines:
        if b'"_aws"' not in line:
            continue
        record = json.loads(line)
        for directive in record["_aws"].get("CloudWatchMetrics", []):
            dimensions = [f"{d}={record.get(d)}" for group in directive.get("Dimensions", []) for d in group]
            found.update(f"{m['Name']}|{','.join(sorted(dimensions))}" for m in directive.get("Metrics", []))
    return found


def idle_polls(polls: int, subscriptions: int) -> tuple[Measured, Measured, int]:
    """The first inventory poll (its events), then `polls` unchanged polls of each schedule."""
    from chalicelib.bootstrap import components
    from chalicelib.handlers import dms as dms_handlers
    from chalicelib.handlers import inventory as inventory_handlers

    subscribe(subscriptions)
    parts = components()
    first = Meter([parts.clients.dynamodb, parts.clients.sqs])
    with first.measure():
        reports = inventory_handlers.scheduled_poll(parts)
    objects = sum(r["objects"] for r in reports)
    inventory, deployments = Meter(first.clients), Meter(first.clients)
    for _ in range(polls):
        with inventory.measure():
            inventory_handlers.scheduled_poll(parts)
        with deployments.measure():
            dms_handlers.scheduled_deployment_poll(parts)
    print_runs("first inventory poll (once)", first.measured)
    print_runs("unchanged inventory poll", inventory.measured)
    print_runs("deployment poll (no deployments)", deployments.measured)
    return Measured.median(inventory.measured), Measured.median(deployments.measured), objects


def stored_bytes() -> int:
    """What the inventory and subscriptions tables hold, by DynamoDB's item size rule (storage is billed on it)."""
    import boto3

    from chalicelib import resources
    from chalicelib.settings import settings_from_environment
    from devtools.dynamodb_capacity import item_size

    settings, client = settings_from_environment(), boto3.client("dynamodb")
    total = 0
    for table in (resources.INVENTORY, resources.SUBSCRIPTIONS):
        for page in client.get_paginator("scan").paginate(TableName=settings.table_name(table)):
            total += sum(item_size(item) + 100 for item in page["Items"])  # + DynamoDB's 100 bytes per item
    return total


def subscribe(count: int, callback: Callable[[int], str] | None = None, secret: str | None = None) -> None:
    from chalicelib.bootstrap import components
    from chalicelib.domain.events import utc_now_iso
    from chalicelib.domain.subscriptions import Subscription, SubscriptionKind
    from chalicelib.services.subscriptions import new_secret

    store = components().subscription_store
    for index in range(count):
        store.create(Subscription(
            subscription_id=f"cost-{index:04d}-{time.time_ns()}", kind=SubscriptionKind.INVENTORY,
            secret=secret or new_secret(), created_at=utc_now_iso(),
            callback=callback(index) if callback else f"https://smo.example.net/notifications/{index}"))


def print_runs(label: str, runs: list[Measured]) -> None:
    middle = Measured.median(runs)
    requests = ", ".join(f"{op} {n:g}" for (_, op), n in sorted(middle.requests.items())) or "none"
    print(f"  {label}: {len(runs)} run(s), median: requests {sum(middle.requests.values()):g} ({requests}); "
          f"RRU {middle.read_units:g}, WRU {middle.write_units:g}; CPU {middle.cpu_s * 1000:.2f} ms, wall "
          f"{middle.wall_s * 1000:.2f} ms; log {middle.log_bytes:.0f} bytes; {len(middle.metrics)} EMF metrics")


def measure_api(requests: int) -> Measured:
    """The API page of bench/api_overhead.py: its responder, token and event, each request measured."""
    from bench.api_overhead import Sides, stdout_discarded
    from bench.common import IdentityProvider, start_responder
    from chalicelib.bootstrap import components

    with tempfile.TemporaryDirectory(prefix="netweave-bench-cost-api-") as tmp:
        provider = IdentityProvider(Path(tmp))
        responder = start_responder(API_RESOURCES, provider)
        saved = dict(os.environ)
        os.environ.pop("NETWEAVE_GATEWAY_CONFIG", None)  # the API function of a stage: no backend configuration read
        os.environ.update(responder.environment())
        components.cache_clear()  # a new container, its environment the responder's
        try:
            sides = Sides(responder, provider, API_RESOURCES)
            with stdout_discarded():
                sides.api(sides.event())  # the container's first request (keys, marker secret): not per request
            meter = Meter([components().clients.dynamodb])
            for _ in range(requests):
                event = sides.event()
                with meter.measure():
                    reply = sides.api(event)
                assert reply["statusCode"] == 200, reply
        finally:
            os.environ.clear()
            os.environ.update(saved)
            responder.stop()
    print_runs("API request (100-item page)", meter.measured)
    return Measured.median(meter.measured)


def measure_notifications(subscribers: int, batches: int, tmp: Path) -> tuple[Measured, Measured]:
    """One change to `subscribers` subscriptions, fanned out, then delivered in batches of 10 (as the event source
    mapping hands them over) to devtools/smo_receiver.py in a process of its own, which verifies each signature."""
    from bench.common import free_port, start_process
    from bench.fan_out import sqs_batch
    from chalicelib.bootstrap import Components
    from chalicelib.handlers.notifications import deliver_batch, fan_out_batch
    from chalicelib.services.subscriptions import new_secret
    from chalicelib.settings import settings_from_environment

    port, secret, log = free_port(), new_secret(), tmp / "received.jsonl"
    receiver = start_process(["-m", "devtools.smo_receiver", "--port", str(port), "--secret", secret, "--log",
                              str(log)], f"http://127.0.0.1:{port}/")
    change = {"objectType": "ResourceInfo", "objectId": "node-1", "prior": {"resourceId": "node-1", "labels": {}},
              "post": {"resourceId": "node-1", "labels": {"changed": "1"}}}
    try:
        subscribe(subscribers, lambda index: f"http://127.0.0.1:{port}/smo/{index}", secret)
        parts = Components(settings_from_environment())
        fan_meter, deliver_meter = Meter([parts.clients.dynamodb, parts.clients.sqs]), Meter([parts.clients.sqs])
        for _ in range(batches):
            with fan_meter.measure(units=subscribers):
                fan_out_batch(sqs_batch(change), parts)
            for event in deliveries_batches(parts):
                with deliver_meter.measure(units=len(event["Records"])):
                    reply = deliver_batch(event, None, parts)
                assert not reply["batchItemFailures"], reply
    finally:
        receiver.terminate()
    verified = [json.loads(line)["verified"] for line in log.read_text().splitlines()]
    print_runs(f"fan-out, per notification ({subscribers} subscriptions)", fan_meter.measured)
    print_runs("delivery, per notification (batches of 10)", deliver_meter.measured)
    print(f"  the receiver got {len(verified)} notifications, {sum(verified)} with a valid signature "
          f"(expected {subscribers * batches})")
    return Measured.median(fan_meter.measured), Measured.median(deliver_meter.measured)


def deliveries_batches(parts: Any) -> Iterator[dict[str, Any]]:
    """The deliveries queue's messages as Lambda's event source mapping hands them to `deliver` (its receive and
    delete are Lambda's requests, priced as such, not the function's)."""
    import boto3

    from chalicelib import resources

    sqs = boto3.client("sqs")  # not a measured client
    url = parts.queue_url(resources.DELIVERIES)
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                          AttributeNames=["All"]).get("Messages", []):
        yield {"Records": [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                            "attributes": m.get("Attributes", {}), "messageAttributes": {}, "eventSource": "aws:sqs",
                            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:deliveries", "awsRegion": "us-east-1"}
                           for m in messages]}
        sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                                                        for i, m in enumerate(messages)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=NODES)
    parser.add_argument("--subscriptions", type=int, default=SUBSCRIPTIONS)
    parser.add_argument("--polls", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="20 nodes, 1 poll, few requests (the suite's run)")
    args = parser.parse_args()
    nodes, polls, api_requests, batches = ((20, 1, 20, 1) if args.quick else (args.nodes, args.polls, 200, 3))
    print(f"measuring on {os.cpu_count()} cores (load average {os.getloadavg()[0]:.1f}):")
    with tempfile.TemporaryDirectory(prefix="netweave-bench-cost-") as tmp_dir:
        tmp = Path(tmp_dir)
        kubesim = start_kubesim(tmp / "kubeconfig", nodes)
        gateway = (f"imsAdapters:\n  - id: bench-cluster\n    type: kubernetes\n    default: true\n    options:\n"
                   f"      kubeconfig: {tmp / 'kubeconfig'}\n"
                   f"dmsAdapters:\n  - id: helm\n    type: helm\n    default: true\n    options:\n"
                   f"      kubeconfig: {tmp / 'kubeconfig'}\n")
        try:
            server = start_aws(tmp, gateway, extra_env=RECEIVER_ENV, local_stack_moto=True)
        except BaseException:
            kubesim.terminate()
            raise
        # as .chalice/config.json deploys it: its log lines and EMF metrics are billed
        os.environ.update(POWERTOOLS_LOG_LEVEL="INFO", POWERTOOLS_METRICS_DISABLED="false")
        try:
            inventory, deployments, objects = idle_polls(polls, args.subscriptions)
            stored = stored_bytes()
            fan_out, delivery = measure_notifications(100, batches, tmp)
        finally:
            kubesim.terminate()
            server.terminate()
    api = measure_api(api_requests)
    lines = PriceLines()
    idle_month(lines, inventory, deployments, nodes, objects, args.subscriptions, stored)
    per_million_api(lines, api)
    per_million_notifications(lines, fan_out, delivery)
    print(lines.table(f"idle O-Cloud of {nodes:,} nodes ({objects:,} objects), each schedule every minute "
                      f"({MINUTES_PER_MONTH:,} runs a month), {args.subscriptions} subscriptions"))


RECEIVER_ENV = {"NETWEAVE_CALLBACK_ALLOW_HTTP": "true", "NETWEAVE_CALLBACK_ALLOWED_NETWORKS": "127.0.0.0/8",
                "NETWEAVE_CALLBACK_HTTP_NETWORKS": "127.0.0.0/8"}

if __name__ == "__main__":
    main()
