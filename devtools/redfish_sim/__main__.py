"""``python -m devtools.redfish_sim``: serve the fleet in the foreground until SIGINT/SIGTERM.

Prints one JSON line once every port listens: `{"aggregator": URL, "bmcs": {serviceTag: URL}, ...}`."""

from __future__ import annotations

import argparse
import json
import signal
import threading
from pathlib import Path

from devtools.redfish_sim.fleet import SEED
from devtools.redfish_sim.runner import build, start, stop


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devtools.redfish_sim", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8400,
                        help="the aggregator's (and the knobs') port; BMC i listens on port+i; 0: all free ports")
    parser.add_argument("--servers", type=int, default=len(SEED), help=f"how many seed servers (1-{len(SEED)})")
    parser.add_argument("--username", default="root")
    parser.add_argument("--password", default="calvin")
    parser.add_argument("--page-size", type=int, default=50,
                        help="collections longer than this are paged with Members@odata.nextLink")
    parser.add_argument("--access-log", action="store_true", help="log every request to stderr")
    parser.add_argument("--tls-ca-file", type=Path, default=None,
                        help="serve the BMCs over https with a throwaway CA, whose certificate goes to this file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    control = build(args.servers, args.host, args.port, args.username, args.password, args.page_size,
                    args.access_log, args.tls_ca_file)
    start(control)
    print(json.dumps(control.describe()), flush=True)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    done.wait()
    stop(control)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
