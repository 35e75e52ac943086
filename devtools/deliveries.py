"""Operator CLI for notification delivery: the dead-letter queue and the delivery log.

    python -m devtools.deliveries dead [--limit N]        what is in the DLQ, and why
    python -m devtools.deliveries replay --all            move every dead notification back for delivery
    python -m devtools.deliveries replay ID [ID ...]      ... or only these notification ids
    python -m devtools.deliveries log SUBSCRIPTION_ID     a subscription's delivery attempts, newest first

It uses the same settings as the functions (NETWEAVE_STAGE, AWS credentials and AWS_ENDPOINT_URL for the local
stack), so it works against the local stack and a deployed stage alike.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from chalicelib import resources
from chalicelib.bootstrap import Components, components
from chalicelib.services import dead_letters


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m devtools.deliveries", description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    commands = parser.add_subparsers(dest="command", required=True)
    dead = commands.add_parser("dead", help="list dead-lettered notifications")
    dead.add_argument("--limit", type=int, default=50)
    replay = commands.add_parser("replay", help="send dead-lettered notifications back for delivery")
    replay.add_argument("--all", action="store_true", help="replay every dead-lettered notification")
    replay.add_argument("ids", nargs="*", metavar="ID", help="notification ids to replay")
    log = commands.add_parser("log", help="a subscription's delivery attempts")
    log.add_argument("subscription_id")
    log.add_argument("--limit", type=int, default=100)
    return parser


def _dead(parts: Components, limit: int) -> list[dict[str, Any]]:
    return dead_letters.list_dead(parts.clients.sqs, parts.queue_url(resources.DELIVERIES, dead_letter=True), limit)


def _replay(parts: Components, ids: list[str] | None) -> dict[str, Any]:
    def progress(count: int) -> None:
        print(f"replayed {count} ...", file=sys.stderr, flush=True)

    return dead_letters.replay(parts.clients.sqs, parts.queue_url(resources.DELIVERIES, dead_letter=True),
                               parts.queue_url(resources.DELIVERIES), ids, progress)


def _log(parts: Components, subscription_id: str, limit: int) -> list[dict[str, Any]]:
    return [a.to_plain() for a in parts.delivery_log.attempts(subscription_id, limit)]


def _print_rows(rows: list[dict[str, Any]], columns: Sequence[str]) -> None:
    for row in rows:
        print("  ".join(f"{column}={row.get(column)}" for column in columns))
    print(f"({len(rows)} shown)")


def main(argv: Sequence[str] | None = None, parts: Components | None = None) -> int:
    """`parts`: the gateway's components (default: from this process's environment, as the deployed functions)."""
    args = _parser().parse_args(argv)
    parts = parts or components()
    if args.command == "replay" and args.all == bool(args.ids):
        _parser().error("replay: give either --all or one or more notification ids")
    if args.command == "dead":
        result: Any = _dead(parts, args.limit)
        columns: Sequence[str] = ("notificationId", "subscriptionId", "reason", "status", "attempts", "ageSeconds")
    elif args.command == "replay":
        result = _replay(parts, None if args.all else list(args.ids))
    else:
        result = _log(parts, args.subscription_id, args.limit)
        columns = ("at", "notificationId", "attempt", "outcome", "status", "error", "durationMs")
    if args.json:
        print(json.dumps(result, indent=2))
    elif args.command == "replay":
        print(f"replayed {len(result['replayed'])}" +
              (f"; not found: {' '.join(result['notFound'])}" if result["notFound"] else ""))
    else:
        _print_rows(result, columns)
    return 1 if args.command == "replay" and result["notFound"] else 0


if __name__ == "__main__":
    sys.exit(main())
