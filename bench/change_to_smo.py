"""Change → SMO (docs/performance.md, "Change to SMO"), printed, never asserted.

The clock starts at the cluster write (a node label patched in kubesim) and stops when the signed notification of
that change arrives at a live SMO receiver (an HTTP server in a process of its own that verifies each Standard
Webhooks signature with the subscription's secret). Changes arrive at a fixed rate, faster than they are delivered,
on `--nodes` nodes in turn; every subscription hears every change. Two modes, each on a fresh moto and kubesim:

- `relay`: the relay (relay/, a process of its own) watches kubesim and puts poll requests to moto's EventBridge,
  whose rule queue the local event pump drains into `poll_inventory_on_change`; the schedule runs every 60 s, as in
  AWS;
- `schedule`: no relay; the pump's interval poll (`--interval`, the local stack's 5 s by default) finds the changes.

The rest is the real pipeline as the local pump drives it (events queue → fan_out → deliveries queue → deliver, with
the functions' concurrency). A change coalesced with a later one on the same node counts as arrived when a
notification showing that later state arrives. moto answers SQS, DynamoDB and EventBridge; the pump schedules.

    .venv/bin/python bench/change_to_smo.py [--changes 500] [--subscriptions 100] [--rate 20] [--mode both]
    .venv/bin/python bench/change_to_smo.py --quick [--json out.json]   # 20 changes, 5 subscriptions
"""

from __future__ import annotations

import argparse
import functools
import importlib
import itertools
import json
import multiprocessing
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, free_port, percentile, start_aws, start_kubesim

LOCAL_CALLBACKS = {"NETWEAVE_CALLBACK_ALLOW_HTTP": "true", "NETWEAVE_CALLBACK_ALLOWED_NETWORKS": "127.0.0.0/8",
                   "NETWEAVE_CALLBACK_HTTP_NETWORKS": "127.0.0.0/8"}
LABEL = "bench.netweave.io/seq"
_SEQ = re.compile(re.escape(LABEL) + r'": "(\d+)"')
_EVENT_SEQ = re.compile(re.escape(LABEL) + r'\\?":\s*\\?"(\d+)')  # in a queued event's JSON body
AWS_SCHEDULE_SECONDS = 60.0


def receive(port: int, secrets_by_path: dict[str, str], log_path: str) -> None:
    """The SMO: verify each notification with its subscription's secret; log arrival time, path and body."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from standardwebhooks.webhooks import Webhook, WebhookVerificationError

    log = open(log_path, "a", buffering=1)  # noqa: SIM115 - lives as long as the process

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length", "0")))
            at = time.time()
            try:
                Webhook(secrets_by_path[self.path]).verify(raw, {k.lower(): v for k, v in self.headers.items()})
                verified = True
            except (KeyError, WebhookVerificationError):
                verified = False
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()
            log.write(json.dumps({"at": at, "path": self.path, "verified": verified, "body": json.loads(raw)}) + "\n")

        def log_message(self, *args: object) -> None:
            pass

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


@dataclass
class Counters:
    """Netweave's own share: its handlers' CPU (this thread's, `time.thread_time`) and how often each ran."""

    cpu: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    calls: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    items: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    fanned_out: list[dict[str, Any]] = field(default_factory=list)  # when fan-out first held each node state

    def wrap(self, module: Any, name: str, label: str) -> None:
        original = getattr(module, name)

        @functools.wraps(original)
        def counted(*args: Any) -> Any:
            if label == "fan_out":
                self.note_fan_out(args[0])
            started = time.thread_time()
            try:
                return original(*args)
            finally:
                self.cpu[label] += time.thread_time() - started
                self.calls[label] += 1
                self.items[label] += len(args[0]["Records"]) if args and "Records" in args[0] else 1

        setattr(module, name, counted)

    def note_fan_out(self, event: dict[str, Any]) -> None:
        """The change events' node states (the newest seq in each: the post state's) as fan-out receives them."""
        at = time.time()
        for record in event.get("Records", []):
            seqs = [int(found) for found in _EVENT_SEQ.findall(record["body"])]
            if seqs:
                self.fanned_out.append({"path": "fan_out", "seq": max(seqs), "at": at})


@dataclass
class Run:
    mode: str
    written: list[tuple[int, float]]  # (seq, time of the write) in order
    nodes: int
    subscriptions: int
    arrivals: list[dict[str, Any]]
    counters: Counters
    put_events: int = 0
    relay_cpu: float | None = None  # the relay process's CPU seconds (/proc), relay mode only


def subscribe(count: int, port: int) -> dict[str, str]:
    """`count` inventory subscriptions, each with its own callback path and secret; returns secret by path."""
    from chalicelib.bootstrap import components
    from chalicelib.domain.events import utc_now_iso
    from chalicelib.domain.subscriptions import Subscription, SubscriptionKind
    from chalicelib.services.subscriptions import new_secret

    by_path = {}
    for index in range(count):
        path, secret = f"/smo/{index}", new_secret()
        components().subscription_store.create(Subscription(
            subscription_id=str(uuid.uuid4()), kind=SubscriptionKind.INVENTORY, secret=secret,
            callback=f"http://127.0.0.1:{port}{path}", created_at=utc_now_iso()))
        by_path[path] = secret
    return by_path


def start_relay(kubeconfig: Path, tmp: Path) -> subprocess.Popen[bytes]:
    log = tmp / "relay.log"
    process = subprocess.Popen([sys.executable, "-m", "relay", "--kubeconfig", str(kubeconfig), "--adapter-id",
                                "bench"], cwd=ROOT, env={**os.environ, "RELAY_LOG_LEVEL": "WARNING"},
                               stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while "relay ready" not in log.read_text():  # printed once every kind is listed: changes from now are relayed
        if time.monotonic() > deadline or process.poll() is not None:
            raise SystemExit(f"the relay did not start: {log.read_text()}")
        time.sleep(0.1)
    return process


def process_cpu(pid: int) -> float | None:
    """User + system CPU seconds of a running process (Linux /proc), or None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def write_changes(kubeconfig: Path, changes: int, nodes: int, rate: float) -> list[tuple[int, float]]:
    from kubernetes import client
    from kubernetes import config as kube_config

    api = client.CoreV1Api(kube_config.new_client_from_config(str(kubeconfig)))
    names = sorted(n.metadata.name for n in api.list_node().items)[:nodes]
    written, started = [], time.monotonic()
    for seq in range(changes):
        time.sleep(max(0.0, started + seq / rate - time.monotonic()))
        at = time.time()
        api.patch_node(names[seq % len(names)], {"metadata": {"labels": {LABEL: str(seq)}}})
        written.append((seq, at))
    return written


def read_arrivals(log: Path, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Each verified notification of a node change logged after `offset` (subscription path, object, the state's
    seq, arrival time), and the offset to read on from."""
    arrivals = []
    with log.open("rb") as file:
        file.seek(offset)
        data = file.read()
    complete = data[:data.rfind(b"\n") + 1]
    for line in complete.decode().splitlines():
        item = json.loads(line)
        found = _SEQ.search(json.dumps(item["body"].get("postObjectState") or {}))
        if found:
            arrivals.append({"path": item["path"], "object": item["body"].get("objectRef"), "seq": int(found[1]),
                             "at": item["at"], "verified": item["verified"]})
    return arrivals, offset + len(complete)


def latencies(run: Run, arrivals: list[dict[str, Any]] | None = None) -> list[float]:
    """Per subscription and change: the first arrival of a state at or after it on the same node, minus its write."""
    firsts: dict[str, dict[int, float]] = defaultdict(dict)
    for item in run.arrivals if arrivals is None else arrivals:
        arrived = firsts[item["path"]]
        arrived[item["seq"]] = min(arrived.get(item["seq"], item["at"]), item["at"])
    samples = []
    for arrived in firsts.values():
        earliest: dict[int, float] = {}  # per node: the first arrival of a state at or after the change in hand
        for seq, at in reversed(run.written):
            node = seq % run.nodes
            if seq in arrived:
                earliest[node] = min(earliest.get(node, arrived[seq]), arrived[seq])
            if node in earliest:
                samples.append(earliest[node] - at)
    return samples


def order_report(run: Run) -> dict[str, int]:
    """Per subscription and object: duplicates and out-of-order states, and changes never covered."""
    by_object: dict[tuple[str, str], list[int]] = defaultdict(list)
    for item in sorted(run.arrivals, key=lambda i: i["at"]):
        by_object[(item["path"], json.dumps(item["object"]))].append(item["seq"])
    duplicates = sum(len(seqs) - len(set(seqs)) for seqs in by_object.values())
    out_of_order = sum(any(b < a for a, b in itertools.pairwise(seqs)) for seqs in by_object.values())
    covered = len(latencies(run))
    return {"duplicates": duplicates, "outOfOrder": out_of_order,
            "missing": run.subscriptions * len(run.written) - covered,
            "unverified": sum(not i["verified"] for i in run.arrivals)}


def wait_for_all(run: Run, log: Path, timeout: float) -> None:
    """Until every subscription heard of every change (or the timeout); reads only what arrived since last time,
    every few seconds, as this process's parsing takes the GIL from the handlers it measures."""
    deadline, offset = time.monotonic() + timeout, 0
    expected = run.subscriptions * len(run.written)
    while time.monotonic() < deadline:
        if log.exists():
            more, offset = read_arrivals(log, offset)
            run.arrivals += more
            if len(latencies(run)) >= expected:
                return
        time.sleep(3)


HANDLERS = (("inventory", "poll_inventory_for_event", "poll (on change)"),
            ("inventory", "scheduled_poll", "poll (schedule)"),
            ("notifications", "fan_out_batch", "fan_out"), ("notifications", "deliver_batch", "deliver"))


def handler_module(name: str) -> Any:
    return importlib.import_module(f"chalicelib.handlers.{name}")


def count_handlers(counters: Counters) -> None:
    for module, name, label in HANDLERS:
        counters.wrap(handler_module(module), name, label)


def uncount_handlers() -> None:
    for module, name, _ in HANDLERS:
        handler = getattr(handler_module(module), name)
        setattr(handler_module(module), name, getattr(handler, "__wrapped__", handler))


def start_receiver(args: argparse.Namespace, log: Path) -> Any:
    """Subscriptions made before anything reads them (fan-out's subscription cache starts with all of them), and
    the receiver that verifies their notifications, in a process of its own."""
    port = free_port()
    receiver = multiprocessing.get_context("spawn").Process(
        target=receive, args=(port, subscribe(args.subscriptions, port), str(log)), daemon=True)
    receiver.start()
    return receiver


def measure(mode: str, args: argparse.Namespace, tmp: Path) -> Run:
    kubeconfig, log = tmp / "kubeconfig", tmp / "arrivals.jsonl"
    children = [start_kubesim(kubeconfig, nodes=args.nodes)]
    gateway = f"imsAdapters:\n  - id: bench\n    type: kubernetes\n    options:\n      kubeconfig: {kubeconfig}\n"
    children.append(start_aws(tmp, gateway, LOCAL_CALLBACKS, local_stack_moto=True))
    from chalicelib.bootstrap import components

    components.cache_clear()  # this mode's moto
    receiver: Any = None
    try:
        initial_load()
        receiver = start_receiver(args, log)
        run = Run(mode, [], args.nodes, args.subscriptions, [], Counters())
        count_handlers(run.counters)
        pump = start_pump(mode, args)
        if mode == "relay":
            children.append(start_relay(kubeconfig, tmp))
        run.written = write_changes(kubeconfig, args.changes, args.nodes, args.rate)
        wait_for_all(run, log, args.drain_timeout)
        pump.stop()
        run.put_events = run.counters.calls["poll (on change)"]
        run.relay_cpu = process_cpu(children[-1].pid) if mode == "relay" else None
        return run
    finally:
        stop(receiver, children)
        uncount_handlers()


def initial_load() -> None:
    """The first poll, before anyone subscribes: its events are not what is measured."""
    from chalicelib import resources
    from chalicelib.bootstrap import components
    from chalicelib.handlers import inventory as inventory_handlers

    inventory_handlers.poll_inventory()
    components().clients.sqs.purge_queue(QueueUrl=components().queue_url(resources.EVENTS))


def start_pump(mode: str, args: argparse.Namespace) -> Any:
    import boto3

    import app  # after start_aws: its queue names come from NETWEAVE_STAGE at import
    from devtools.localstack.pump import EventPump

    pump = EventPump(app, boto3.session.Session(), AWS_SCHEDULE_SECONDS if mode == "relay" else args.interval)
    pump.play_rules("bench")
    pump.start(schedules_ran=True)
    return pump


def stop(receiver: Any, children: list[subprocess.Popen[bytes]]) -> None:
    if receiver is not None:
        receiver.terminate()
    for child in reversed(children):
        child.terminate()
    for child in children:
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()


def summary(run: Run) -> dict[str, Any]:
    samples = latencies(run)
    counters = run.counters
    return {
        "mode": run.mode, "changes": len(run.written), "subscriptions": run.subscriptions, "nodes": run.nodes,
        "p50": statistics.median(samples) if samples else None,
        "p99": percentile(samples, 0.99) if samples else None, "max": max(samples, default=None),
        "putEvents": run.put_events, "order": order_report(run), "relayCpu": run.relay_cpu,
        "toFanOut": fan_out_figures(run),
        "cpu": {k: round(v, 3) for k, v in counters.cpu.items()},
        "calls": dict(counters.calls), "items": dict(counters.items),
    }


def fan_out_figures(run: Run) -> dict[str, float | None]:
    """Write -> fan-out holding the change (relay or schedule, EventBridge, the poll, the events queue)."""
    samples = latencies(run, run.counters.fanned_out)
    if not samples:
        return {"p50": None, "p99": None}
    return {"p50": statistics.median(samples), "p99": percentile(samples, 0.99)}


def show(result: dict[str, Any]) -> None:
    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value * 1000:.0f} ms"

    print(f"== {result['mode']}: {result['changes']} changes on {result['nodes']} nodes, "
          f"{result['subscriptions']} subscriptions")
    print(f"  write -> verified notification: p50 {ms(result['p50'])}  p99 {ms(result['p99'])}  "
          f"max {ms(result['max'])}  (moto's SQS/DynamoDB/EventBridge and the pump's scheduling, not netweave's)")
    print(f"  of which write -> fan-out: p50 {ms(result['toFanOut']['p50'])}  p99 {ms(result['toFanOut']['p99'])}")
    print(f"  poll requests relayed (PutEvents entries): {result['putEvents']}; order: {result['order']}")
    if result["relayCpu"] is not None:
        print(f"  relay process CPU (user + system, start to end): {result['relayCpu']:.2f} s")
    for label, cpu in result["cpu"].items():
        items = result["items"][label]
        print(f"  netweave CPU {label}: {cpu:.2f} s over {result['calls'][label]} calls / {items} items "
              f"= {cpu / max(1, items) * 1000:.1f} ms per item")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--changes", type=int, default=500)
    parser.add_argument("--subscriptions", type=int, default=100)
    parser.add_argument("--nodes", type=int, default=50, help="changes go to these nodes in turn")
    parser.add_argument("--rate", type=float, default=20.0, help="changes per second")
    parser.add_argument("--interval", type=float, default=5.0, help="the pump's schedule without the relay")
    parser.add_argument("--mode", choices=["relay", "schedule", "both"], default="both")
    parser.add_argument("--drain-timeout", type=float, default=1800.0)
    parser.add_argument("--quick", action="store_true", help="20 changes on 20 nodes, 5 subscriptions, 1 s interval")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop moto, kubesim and the relay on the way out
    if args.quick:
        args.changes, args.subscriptions, args.nodes, args.rate, args.interval = 20, 5, 20, 50.0, 1.0
        args.drain_timeout = 120.0
    results = []
    for mode in (["relay", "schedule"] if args.mode == "both" else [args.mode]):
        with tempfile.TemporaryDirectory() as tmp:
            results.append(summary(measure(mode, args, Path(tmp))))
        show(results[-1])
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
