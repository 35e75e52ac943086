"""Fan-out of one change event to 1,000 subscriptions (docs/performance.md, "Fan-out"), printed, never asserted.

What it measures is netweave's own work, not the simulator's: the SQS and DynamoDB requests `fan_out_batch` (the
function Lambda calls for a batch of the `events` queue) sends, counted at the botocore level, and the CPU time of
this process around that call (`time.process_time`, every thread included). moto answers in a process of its own,
so its time is in neither the request counts nor the CPU figure (it is in the wall time, printed for reference).
The event is a real node change: a ResourceInfo read by the kubernetes backend from kubesim, one label changed.

Two rounds: a new container's first batch (a fresh composition root: no queue URL, no cached subscriptions), then
warm batches (the subscription list cached, as for every batch within 5 s of the last). Targets (issue 20): at most
100 SQS requests per event and less than 2 s of handler CPU.

    .venv/bin/python bench/fan_out.py [--subscriptions 1000] [--warm 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import start_aws, start_kubesim

TARGET_SQS, TARGET_CPU = 100, 2.0


def node_change(kubeconfig: Path) -> dict[str, Any]:
    """A ResourceInfo as the kubernetes backend describes a kubesim node, before and after a label change."""
    from chalicelib.adapters.ims.kubernetes import KubernetesInventoryAdapter
    from chalicelib.adapters.ims.port import InventoryContext
    from chalicelib.domain.inventory import ObjectType
    from chalicelib.settings import AdapterConfig

    backend = KubernetesInventoryAdapter(AdapterConfig(id="bench", type="kubernetes",
                                                       options={"kubeconfig": str(kubeconfig)}))
    objects = backend.read_inventory(InventoryContext(o_cloud_id=str(uuid.uuid4())))
    node = next(o for o in objects if o.object_type is ObjectType.RESOURCE)
    post = json.loads(json.dumps(node.document))
    post.setdefault("extensions", {}).setdefault("labels", {})["bench.netweave.io/change"] = "1"
    return {"objectType": node.object_type.value, "objectId": node.object_id, "prior": node.document, "post": post}


def subscribe(count: int) -> None:
    """Half without a filter, half with one the event passes (O2ims filters name what NOT to report)."""
    from chalicelib.bootstrap import components
    from chalicelib.domain.events import utc_now_iso
    from chalicelib.domain.subscriptions import Subscription, SubscriptionKind
    from chalicelib.services.subscriptions import new_secret

    store = components().subscription_store
    started = time.perf_counter()

    def create(index: int) -> None:
        store.create(Subscription(
            subscription_id=str(uuid.uuid4()), kind=SubscriptionKind.INVENTORY, secret=new_secret(),
            callback=f"https://smo-{index % 10}.example.net/notifications/{index}", created_at=utc_now_iso(),
            filter="(eq,objectType,ResourceTypeInfo)" if index % 2 else None))

    for index in range(count):  # one at a time: moto applies concurrent transactions without a lock
        create(index)
    print(f"created {count} inventory subscriptions in {time.perf_counter() - started:.1f} s")


def sqs_batch(change: dict[str, Any]) -> dict[str, Any]:
    """One record of the `events` queue as Lambda hands it to fan_out_batch."""
    from chalicelib.domain.events import ChangeEvent, ChangeType, EventSource, utc_now_iso

    event = ChangeEvent(event_id=str(uuid.uuid4()), source=EventSource.IMS, event_type=ChangeType.MODIFIED,
                        backend="bench", at=utc_now_iso(), object_type=change["objectType"],
                        object_id=change["objectId"], prior=change["prior"], post=change["post"])
    body = json.dumps(event.to_wire())
    return {"Records": [{"messageId": str(uuid.uuid4()), "body": body,
                        "attributes": {"MessageGroupId": "ims:bench", "ApproximateReceiveCount": "1"}}]}


def one_batch(parts: Any, change: dict[str, Any]) -> dict[str, Any]:
    from chalicelib.handlers.notifications import fan_out_batch
    from devtools.aws_requests import AwsRequestCounter

    counter = AwsRequestCounter().attach(parts.clients.sqs, parts.clients.dynamodb)
    batch = sqs_batch(change)
    wall, cpu = time.perf_counter(), time.process_time()
    reply = fan_out_batch(batch, parts)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    assert not reply["batchItemFailures"], reply
    return {"cpu": cpu, "wall": wall, "sqs": counter.of("sqs"), "sqs_text": counter.summary("sqs"),
            "dynamodb": counter.of("dynamodb"), "dynamodb_text": counter.summary("dynamodb")}


def queued() -> int:
    """Messages on the deliveries queue as moto counts them (a check that the deliveries really went out)."""
    import boto3

    from chalicelib import resources
    from chalicelib.bootstrap import components

    sqs = boto3.client("sqs")  # not the counted clients
    url = components().queue_url(resources.DELIVERIES)
    return int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])[
        "Attributes"]["ApproximateNumberOfMessages"])


def run(subscriptions: int, warm: int, change: dict[str, Any]) -> None:
    from chalicelib.bootstrap import Components
    from chalicelib.settings import settings_from_environment

    subscribe(subscriptions)
    parts = Components(settings_from_environment())  # a new container: nothing cached yet
    rounds = [("first batch of a container", one_batch(parts, change))]
    for index in range(warm):
        rounds.append((f"warm batch {index + 1}", one_batch(parts, change)))
    total = queued()
    print(f"fan-out of one event to {subscriptions} subscriptions (requests counted at botocore; CPU of this "
          f"process, moto in its own); {total} deliveries queued in {len(rounds)} rounds:")
    for label, figures in rounds:
        print(f"  {label}: SQS {figures['sqs_text']}; DynamoDB {figures['dynamodb_text']}; "
              f"handler CPU {figures['cpu']:.2f} s, wall {figures['wall']:.2f} s")
    warm_rounds = [figures for _, figures in rounds[1:]] or [rounds[0][1]]
    cpu = statistics.median(f["cpu"] for f in warm_rounds)
    sqs_warm = max(f["sqs"] for f in warm_rounds)
    print(f"  target <= {TARGET_SQS} SQS requests per event: warm {sqs_warm} "
          f"{'met' if sqs_warm <= TARGET_SQS else 'NOT met'}, first batch {rounds[0][1]['sqs']} "
          f"{'met' if rounds[0][1]['sqs'] <= TARGET_SQS else 'NOT met'}")
    print(f"  target < {TARGET_CPU:.0f} s handler CPU: warm median {cpu:.2f} s "
          f"{'met' if cpu < TARGET_CPU else 'NOT met'}, first batch {rounds[0][1]['cpu']:.2f} s "
          f"{'met' if rounds[0][1]['cpu'] < TARGET_CPU else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscriptions", type=int, default=1000)
    parser.add_argument("--warm", type=int, default=3, help="warm batches after the first")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="netweave-bench-fan-out-") as tmp_dir:
        tmp = Path(tmp_dir)
        kubesim = start_kubesim(tmp / "kubeconfig")
        # the local stack's moto: plain moto's SQS rescans the queue per message, minutes for 1,000 (its time, not ours)
        server = start_aws(tmp, "oCloud:\n  name: bench-fan-out\n", local_stack_moto=True)
        try:
            change = node_change(tmp / "kubeconfig")
            run(args.subscriptions, args.warm, change)
        finally:
            kubesim.terminate()
            server.terminate()


if __name__ == "__main__":
    main()
