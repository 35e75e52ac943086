"""Notification benchmarks (docs/architecture.md §6), printed, never asserted.

1. From a change being detected (the poll's event time) to its notification reaching a live SMO receiver, through
   the real pipeline (events queue → fan_out → deliveries queue → deliver, driven by the local event pump as Lambda
   would be): p50 / p99 (target p99 < 1 s).
2. Fan-out of one event to 1,000 subscriptions with one worker (target < 5 s).
3. Deliveries per second of one deliver worker against a local receiver.

    .venv/bin/python bench/notifications.py [--changes 40] [--subscriptions 1000] [--deliveries 300]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import percentile, start_aws, start_kubesim

LOCAL_CALLBACKS = {"NETWEAVE_CALLBACK_ALLOW_HTTP": "true", "NETWEAVE_CALLBACK_ALLOWED_NETWORKS": "127.0.0.0/8",
                   "NETWEAVE_CALLBACK_HTTP_NETWORKS": "127.0.0.0/8"}


def subscription(callback: str) -> Any:
    from chalicelib.domain.events import utc_now_iso
    from chalicelib.domain.subscriptions import Subscription, SubscriptionKind
    from chalicelib.services.subscriptions import new_secret

    return Subscription(subscription_id=str(uuid.uuid4()), kind=SubscriptionKind.INVENTORY, callback=callback,
                        secret=new_secret(), created_at=utc_now_iso())


def record_detection_times(detected: dict[str, float]) -> None:
    """Wrap fan-out to note each event's detection time (`at`, set by the poll when it found the change)."""
    from chalicelib.domain.events import ChangeEvent
    from chalicelib.handlers import notifications as handlers

    original = handlers.fan_out_batch

    def recording(event: dict[str, Any]) -> dict[str, Any]:
        for record in event.get("Records", []):
            change = ChangeEvent.model_validate_json(record["body"])
            detected[change.event_id] = dt.datetime.fromisoformat(change.at.replace("Z", "+00:00")).timestamp()
        return original(event)

    handlers.fan_out_batch = recording  # type: ignore[assignment]


def latency_benchmark(kubeconfig: Path, changes: int, receiver: Any, callback: str) -> None:
    import boto3
    from kubernetes import client
    from kubernetes import config as kube_config

    import app
    from chalicelib import resources
    from chalicelib.bootstrap import components
    from chalicelib.domain.subscriptions import notification_id
    from chalicelib.handlers import inventory as handlers
    from devtools.localstack.pump import EventPump

    handlers.poll_inventory()  # the initial load, before anyone subscribes: its events are not what we measure
    components().clients.sqs.purge_queue(QueueUrl=components().queue_url(resources.EVENTS))
    subscribed = components().subscription_store.create(subscription(callback))
    receiver.secrets.append(subscribed.secret)
    detected: dict[str, float] = {}
    record_detection_times(detected)
    pump = EventPump(app, boto3.session.Session(), interval=3600)
    pump.schedules = []  # this benchmark polls by itself, right after each change
    pump.start()
    time.sleep(6)  # the subscription cache (5 s) now includes the new subscription
    nodes = client.CoreV1Api(kube_config.new_client_from_config(str(kubeconfig)))
    names = [n.metadata.name for n in nodes.list_node(limit=changes).items]
    for index, name in enumerate(names):
        nodes.patch_node(name, {"metadata": {"labels": {"bench.netweave.io/change": str(index)}}})
        handlers.poll_inventory()
        time.sleep(0.3)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(receiver.notifications()) < len(names):
        time.sleep(0.2)
    pump.stop()
    latencies = []
    for item in receiver.notifications():
        for event_id, at in detected.items():
            if notification_id(event_id, subscribed.subscription_id) == item.body.get("notificationId"):
                latencies.append(item.at - at)
    print(f"change detected -> notification received, {len(latencies)} notifications for {len(names)} changes:")
    if latencies:
        print(f"  p50 {statistics.median(latencies) * 1000:.0f} ms   p99 {percentile(latencies, 0.99) * 1000:.0f} ms"
              f"   max {max(latencies) * 1000:.0f} ms   target p99 < 1000 ms: "
              f"{'met' if percentile(latencies, 0.99) < 1 else 'NOT met'}")


def fan_out_benchmark(count: int, callback: str) -> None:
    from chalicelib.bootstrap import components
    from chalicelib.domain.events import ChangeEvent, ChangeType, EventSource, utc_now_iso
    from chalicelib.services.fan_out import fan_out

    store = components().subscription_store
    started = time.perf_counter()
    for index in range(count):
        store.create(subscription(f"{callback}/fan/{index}"))
    print(f"created {count} subscriptions in {time.perf_counter() - started:.1f}s")
    pool = {"resourcePoolId": "p", "name": "bench", "description": "d", "oCloudId": "o", "globalLocationId": "g",
            "location": "l", "extensions": {}}
    event = ChangeEvent(event_id=str(uuid.uuid4()), source=EventSource.IMS, object_type="ResourcePoolInfo",
                        object_id="p", event_type=ChangeType.CREATED, backend="bench", post=pool, at=utc_now_iso())
    store._active.clear()  # measure a cold subscription read, as the first batch of a new container does
    started = time.perf_counter()
    report = fan_out([event], store, components().delivery_queue, "global")
    took = time.perf_counter() - started
    print(f"fan-out of one event to {report.deliveries} subscriptions (one worker): {took:.2f}s   target < 5 s: "
          f"{'met' if took < 5 else 'NOT met'}")


def delivery_benchmark(count: int, receiver: Any) -> None:
    import boto3

    import app
    from chalicelib import resources
    from chalicelib.bootstrap import components
    from devtools.localstack.pump import EventPump

    sqs = components().clients.sqs
    url = components().queue_url(resources.DELIVERIES)
    queued = int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])[
        "Attributes"]["ApproximateNumberOfMessages"])
    target = min(count, queued)
    pump = EventPump(app, boto3.session.Session(), interval=3600)
    source = next(s for s in pump.queues if s.name == "deliver")
    before = len(receiver.notifications())
    started = time.perf_counter()
    while len(receiver.notifications()) - before < target and time.perf_counter() - started < 120:
        pump.drain_once(source, wait_seconds=0)
    took = time.perf_counter() - started
    delivered = len(receiver.notifications()) - before
    print(f"one deliver worker: {delivered} notifications in {took:.1f}s = {delivered / took:.0f} per second "
          f"(batches of 10, each POST to a local receiver)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--changes", type=int, default=40)
    parser.add_argument("--subscriptions", type=int, default=1000)
    parser.add_argument("--deliveries", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        kubeconfig = tmp / "kubeconfig"
        kubesim = start_kubesim(kubeconfig)
        gateway = f"imsAdapters:\n  - id: bench\n    type: kubernetes\n    options:\n      kubeconfig: {kubeconfig}\n"
        server = start_aws(tmp, gateway, LOCAL_CALLBACKS)
        from devtools.smo_receiver import Receiver, serve

        receiver = Receiver(secrets=[], answer=204, echo=False)
        http = serve(receiver)
        callback = f"http://127.0.0.1:{http.server_address[1]}/smo"
        threading.current_thread().name = "bench"
        try:
            latency_benchmark(kubeconfig, args.changes, receiver, callback)
            fan_out_benchmark(args.subscriptions, callback)
            delivery_benchmark(args.deliveries, receiver)
        finally:
            http.shutdown()
            kubesim.terminate()
            server.terminate()


if __name__ == "__main__":
    main()
