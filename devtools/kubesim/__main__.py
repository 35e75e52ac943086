"""``python -m devtools.kubesim``: serve in the foreground until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import time

from devtools.kubesim import kubeconfig
from devtools.kubesim.controllers.nodegroups import NodeGroupSettings
from devtools.kubesim.runner import build


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devtools.kubesim", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=6443, help="0 picks a free port")
    parser.add_argument("--kubeconfig", default=".local/kubeconfig", help="where to write the kubeconfig")
    parser.add_argument("--seed", default="demo", choices=["demo", "empty"])
    parser.add_argument("--nodes", type=int, default=None, help="node count (split across both pools)")
    parser.add_argument("--ready-delay", type=float, default=0.0,
                        help="seconds a pod spends ContainerCreating before it runs")
    parser.add_argument("--access-log", action="store_true", help="log every request")
    parser.add_argument("--tls", action="store_true",
                        help="serve https with a throwaway CA (needed for kubectl/helm to send tokens)")
    parser.add_argument("--service-account-kubeconfig", action="append", default=[], metavar="NS/NAME=PATH",
                        help="also write a kubeconfig authenticating as ServiceAccount NS/NAME (repeatable)")
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    started = time.monotonic()
    # KUBESIM_EKS_ENDPOINT/KUBESIM_EKS_CLUSTER: also play EKS's node-group controller (controllers/nodegroups.py)
    server = build(args.seed, args.nodes, args.ready_delay, args.host, args.port, args.access_log, args.tls,
                   node_groups=NodeGroupSettings.from_env())
    await server.start()
    kubeconfig.write(args.kubeconfig, server.url, ca_pem=server.ca_pem)
    for spec in args.service_account_kubeconfig:
        account, _, path = spec.partition("=")
        namespace, _, name = account.partition("/")
        if not (namespace and name and path):
            raise SystemExit(f"--service-account-kubeconfig wants NS/NAME=PATH, not {spec!r}")
        kubeconfig.write(path, server.url, token=server.access.issue(namespace, name), user=f"{namespace}-{name}",
                         namespace=namespace, ca_pem=server.ca_pem)
    seconds = time.monotonic() - started
    logging.getLogger("kubesim").info("seeded %s with %d nodes in %.2fs; kubeconfig %s", args.seed,
                                      server.cluster.store.count(("", "nodes")), seconds, args.kubeconfig)
    print(f"kubesim ready on {server.url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(serve(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
