"""python -m relay [--adapter-id demo-cluster] [--kubeconfig PATH] [--event-bus default] [--window-seconds 0.5]

Every option also comes from the environment (RELAY_ADAPTER_IDS comma-separated, KUBECONFIG, RELAY_EVENT_BUS,
RELAY_WINDOW_SECONDS, RELAY_WATCH_SECONDS); the EventBridge client from the usual AWS variables (on EKS: IRSA)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from typing import Any

from relay.kinds import WATCHED
from relay.publish import Publisher
from relay.relay import Relay


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    env = os.environ
    parser = argparse.ArgumentParser(prog="python -m relay", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--adapter-id", action="append", dest="adapter_ids",
                        help="the netweave IMS backend id this cluster is (repeatable)")
    parser.add_argument("--kubeconfig", default=env.get("KUBECONFIG") or None, help="default: in-cluster")
    parser.add_argument("--event-bus", default=env.get("RELAY_EVENT_BUS", "default"))
    parser.add_argument("--window-seconds", type=float, default=float(env.get("RELAY_WINDOW_SECONDS", "0.5")))
    parser.add_argument("--watch-seconds", type=int, default=int(env.get("RELAY_WATCH_SECONDS", "300")))
    args = parser.parse_args(argv)
    if not args.adapter_ids:
        args.adapter_ids = [a for a in env.get("RELAY_ADAPTER_IDS", "").split(",") if a]
    if not args.adapter_ids:
        parser.error("name the backend: --adapter-id or RELAY_ADAPTER_IDS")
    return args


def events_client() -> Any:
    import boto3

    return boto3.client("events")


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=os.environ.get("RELAY_LOG_LEVEL", "INFO"), stream=sys.stdout,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = parse(argv)
    from relay.kube import KubernetesApi

    api = KubernetesApi(args.kubeconfig, watch_seconds=args.watch_seconds)
    relay = Relay(api, WATCHED, args.adapter_ids, Publisher(events_client(), args.event_bus), args.window_seconds)
    signal.signal(signal.SIGTERM, lambda *_: relay.stop())
    relay.start()
    while not relay.wait_ready(timeout=5) and not relay.stop_event.is_set():
        logging.getLogger("relay").warning("not every kind listed yet; still trying")
    print(f"relay ready: {len(WATCHED)} kinds watched for {', '.join(args.adapter_ids)}", flush=True)
    try:
        relay.stop_event.wait()
    except KeyboardInterrupt:
        relay.stop()


if __name__ == "__main__":
    main()
