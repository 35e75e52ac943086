"""Inventory poll benchmark (docs/performance.md, "Inventory poll"), printed, never asserted.

Polling one backend, a 5,000-node simulated cluster: the first poll (every object created), an
unchanged poll, and a poll after k = 50 node changes. For each: DynamoDB and SQS requests by operation, counted at
the botocore level (every HTTP attempt), the read and write capacity DynamoDB would bill for them (estimated from
item sizes: devtools/dynamodb_capacity.py; moto's own figure is a constant per call), events published, and moto's
resident memory. Wall times are moto's and kubesim's as much as netweave's: printed for reference only.

The first poll's events go to a publisher that only counts them unless `--publish-first`: moto's SQS slows down as
a queue fills (of a 5,000-node first poll's ~48,000 messages, 27,000 were sent after 25 minutes on the shared
machine), and its SQS requests per 1,000 events are the same at any size (run `--nodes 500 --publish-first`).

    .venv/bin/python bench/inventory.py [--nodes 5000] [--changes 50] [--publish-first]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import start_aws, start_kubesim  # noqa: E402
from devtools.aws_requests import AwsRequestCounter  # noqa: E402
from devtools.dynamodb_capacity import CapacityMeter  # noqa: E402


class Meters:
    def __init__(self) -> None:
        from chalicelib import resources
        from chalicelib.bootstrap import components

        parts = components()
        table = parts.settings.table_name(resources.INVENTORY)
        self.requests = AwsRequestCounter().attach(parts.clients.dynamodb, parts.clients.sqs)
        self.capacity = CapacityMeter((table, resources.INVENTORY)).attach(parts.clients.dynamodb)

    def reset(self) -> None:
        self.requests.reset()
        self.capacity.reset()


class CountingPublisher:
    """Counts the events of a poll without sending them."""

    def publish(self, events: list[Any]) -> int:
        return len(events)


def poll(label: str, meters: Meters, moto: subprocess.Popen[bytes], publish: bool = True) -> Any:
    from chalicelib.bootstrap import components
    from chalicelib.services.inventory_poll import poll_backend

    parts = components()
    publisher = parts.events_publisher if publish else CountingPublisher()
    adapter = parts.ims_registry.get()
    objects = adapter.read_inventory(parts.inventory_context)  # warms kubesim's lists; the poll reads them again
    meters.reset()
    started = time.perf_counter()
    report = poll_backend(adapter, parts.inventory_context, parts.inventory_store, publisher)
    took = time.perf_counter() - started
    rcu, wcu = meters.capacity.total()
    sqs = meters.requests.of("sqs")
    print(f"\n{label}: {len(objects)} objects, status {report.status}, created {report.created}, modified "
          f"{report.modified}, deleted {report.deleted}, {'published' if publish else 'events (counted, not sent)'} "
          f"{report.published}, written {report.written}")
    print(f"  DynamoDB requests: {meters.requests.summary('dynamodb')}")
    print(f"  SQS requests:      {meters.requests.summary('sqs')}"
          + (f" = {1000 * sqs / report.published:.0f} per 1,000 events" if report.published and publish else ""))
    print(f"  capacity (estimated from item sizes): {rcu:.1f} RCU ({_by_op(meters.capacity.rcu)}), {wcu:.0f} WCU "
          f"({_by_op(meters.capacity.wcu)})")
    print(f"  wall time (moto and kubesim included, not a netweave figure): {took:.1f} s; moto RSS "
          f"{_rss_mb(moto.pid)}")
    return report


def _by_op(counts: Any) -> str:
    return ", ".join(f"{op} {n:g}" for op, n in sorted(counts.items())) or "none"


def _rss_mb(pid: int) -> str:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return f"{int(fields['VmRSS'].split()[0]) // 1024} MB (peak {int(fields['VmHWM'].split()[0]) // 1024} MB)"


def _relabel(kubeconfig: Path, count: int) -> None:
    from kubernetes import client
    from kubernetes import config as kube_config

    api = client.CoreV1Api(kube_config.new_client_from_config(str(kubeconfig)))
    for name in [node.metadata.name for node in api.list_node(limit=count).items]:
        api.patch_node(name, {"metadata": {"labels": {"bench.netweave.io/touched": str(time.time_ns())}}})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=5_000)
    parser.add_argument("--changes", type=int, default=50)
    parser.add_argument("--publish-first", action="store_true", help="send the first poll's events to SQS too")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        kubeconfig = tmp / "kubeconfig"
        kubesim = start_kubesim(kubeconfig, args.nodes)
        gateway = (f"imsAdapters:\n  - id: bench-cluster\n    type: kubernetes\n    default: true\n"
                   f"    options:\n      kubeconfig: {kubeconfig}\n")
        moto = start_aws(tmp, gateway, local_stack_moto=True)
        try:
            meters = Meters()
            poll("first poll", meters, moto, publish=args.publish_first)
            poll("unchanged poll", meters, moto)
            _relabel(kubeconfig, args.changes)
            poll(f"poll after {args.changes} node changes", meters, moto)
        finally:  # also on Ctrl-C; a SIGTERM to the bench leaves them to be stopped by their pids
            kubesim.terminate()
            moto.terminate()


if __name__ == "__main__":
    main()
