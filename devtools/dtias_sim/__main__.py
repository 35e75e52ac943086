"""``python -m devtools.dtias_sim --port N --state-dir DIR``: serve the simulated DTIAS in the foreground."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from aiohttp import web

from devtools.dtias_sim.server import build_app
from devtools.dtias_sim.state import State


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devtools.dtias_sim", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--state-dir", type=Path, default=None, help="keep state in DIR/dtias-sim.json")
    parser.add_argument("--token-seconds", type=int, default=300, help="lifetime of access tokens")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    # The credentials the simulator accepts: the local stack passes the same variables to the gateway.
    state = State.load(args.state_dir, os.environ.get("NETWEAVE_DTIAS_USERNAME", "netweave"),
                       os.environ.get("NETWEAVE_DTIAS_PASSWORD", "dtias-local-password"))
    state.knobs.token_seconds = args.token_seconds
    print(f"dtias-sim ready on http://{args.host}:{args.port}", flush=True)
    web.run_app(build_app(state), host=args.host, port=args.port, print=None, handle_signals=True)


if __name__ == "__main__":
    main()
