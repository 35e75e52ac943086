"""Inventory poll benchmark (docs/architecture.md §6), printed, never asserted. (The API page's cost is
bench/api_overhead.py's.)

Polling a 5,000-node simulated cluster: DynamoDB writes and published events of a no-change poll (target 0 and 0)
and of a poll after k = 50 node changes (target 50 and 50), counted at the boto3 call level, and durations.

    .venv/bin/python bench/inventory.py [--nodes 5000] [--changes 50]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import start_aws, start_kubesim  # noqa: E402

WRITE_CALLS = {"PutItem": 1, "DeleteItem": 1, "UpdateItem": 1}


class CallCounter:
    """Counts DynamoDB write calls (items written) and SQS messages sent, at the botocore level."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def attach(self, client: Any) -> None:
        # before-parameter-build sees the API parameters (before-call sees the serialised HTTP request)
        client.meta.events.register("before-parameter-build.*.*", self._count)

    def _count(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        name = model.name
        if name in WRITE_CALLS:
            self.counts["dynamodb item writes"] += 1
        elif name == "TransactWriteItems":
            self.counts["dynamodb item writes"] += len(params.get("TransactItems", []))
        elif name == "BatchWriteItem":
            self.counts["dynamodb item writes"] += sum(len(v) for v in params.get("RequestItems", {}).values())
        elif name == "SendMessageBatch":
            self.counts["events published"] += len(params.get("Entries", []))
        elif name == "SendMessage":
            self.counts["events published"] += 1

    def reset(self) -> None:
        self.counts.clear()


def poll_benchmark(kubeconfig: Path, changes: int) -> None:
    from chalicelib.bootstrap import components
    from chalicelib.handlers import inventory as handlers

    counter = CallCounter()
    counter.attach(components().clients.dynamodb)
    counter.attach(components().clients.sqs)
    started = time.perf_counter()
    objects = seed_snapshot()
    print(f"seeded the snapshot with {objects} objects in {time.perf_counter() - started:.1f}s (a first poll, "
          "without publishing its events: in moto that alone took over 12 minutes; the targets are the polls after it)")
    counter.reset()
    started = time.perf_counter()
    [unchanged] = handlers.poll_inventory()
    took = time.perf_counter() - started
    print(f"no-change poll of {unchanged['objects']} objects: {counter.counts['dynamodb item writes']} DynamoDB item "
          f"writes, {counter.counts['events published']} events (target 0 and 0), {took:.2f}s, status "
          f"{unchanged['status']}")
    _relabel(kubeconfig, changes)
    counter.reset()
    started = time.perf_counter()
    [changed] = handlers.poll_inventory()
    took = time.perf_counter() - started
    writes = counter.counts["dynamodb item writes"]
    print(f"poll after {changes} node changes: {writes} DynamoDB item writes ({changed['written']} objects + "
          f"{writes - changed['written']} manifest), {counter.counts['events published']} events "
          f"(target {changes} and {changes}), modified={changed['modified']}, {took:.2f}s")


def seed_snapshot() -> int:
    """Write the cluster's current inventory and its manifest straight into the store, as a first poll would,
    without publishing its events: the targets are about the polls after it."""
    from chalicelib.adapters.store.inventory_store import Manifest
    from chalicelib.bootstrap import components
    from chalicelib.domain.snapshot import diff, snapshot_hash

    adapter = components().ims_registry.get()
    objects = adapter.read_inventory(components().inventory_context)
    store = components().inventory_store
    store.apply(adapter.adapter_id, diff({}, objects), 1)
    store.put_manifest(Manifest(adapter.adapter_id, snapshot_hash(objects), 1, {"reachable": True}))
    return len(objects)


def _relabel(kubeconfig: Path, count: int) -> None:
    from kubernetes import client
    from kubernetes import config as kube_config

    api = client.CoreV1Api(kube_config.new_client_from_config(str(kubeconfig)))
    for name in [node.metadata.name for node in api.list_node(limit=count).items]:
        api.patch_node(name, {"metadata": {"labels": {"bench.netweave.io/touched": "yes"}}})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=5_000)
    parser.add_argument("--changes", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        kubeconfig = tmp / "kubeconfig"
        kubesim = start_kubesim(kubeconfig, args.nodes)
        gateway = (f"imsAdapters:\n  - id: bench-cluster\n    type: kubernetes\n    default: true\n"
                   f"    options:\n      kubeconfig: {kubeconfig}\n")
        server = start_aws(tmp, gateway)
        try:
            poll_benchmark(kubeconfig, args.changes)
        finally:
            kubesim.terminate()
            server.terminate()


if __name__ == "__main__":
    main()
