"""A small SMO notification receiver, for operators and tests: watch notifications arrive and their Standard
Webhooks signatures verified (with the `standardwebhooks` library, independently of netweave's own signing).

    python -m devtools.smo_receiver --port 9000 --secret whsec_... [--answer 200] [--log notifications.jsonl]

`--secret` may be given several times (one per subscription). `--answer 500` (or 410, 400, ...) makes it refuse,
to watch netweave retry, disable or dead-letter. Each notification prints one line: time, verification, type, id.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    body: dict[str, Any]
    headers: dict[str, str]
    verified: bool
    at: float


@dataclass
class Receiver:
    """Thread-safe record of what arrived; `answer` is the status to reply with (changeable while running)."""

    secrets: list[str]
    answer: int = 204
    received: list[Received] = field(default_factory=list)
    log_path: Path | None = None
    echo: bool = True  # print one line per notification
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def verify(self, raw: bytes, headers: dict[str, str]) -> bool:
        for secret in self.secrets:
            try:
                Webhook(secret).verify(raw, headers)
            except WebhookVerificationError:
                continue
            return True
        return False

    def record(self, raw: bytes, headers: dict[str, str]) -> int:
        try:
            body = json.loads(raw)
        except ValueError:
            body = {"unparsable": raw[:200].decode(errors="replace")}
        item = Received(body, headers, self.verify(raw, headers), time.time())
        with self._lock:
            self.received.append(item)
            answer = self.answer
        self._print(item, answer)
        return answer

    def _print(self, item: Received, answer: int) -> None:
        kind = item.body.get("notificationEventType", item.body.get("eventType", "registration"))
        if not self.echo and not self.log_path:
            return
        line = (f"{time.strftime('%H:%M:%S')} {'verified' if item.verified else 'UNVERIFIED'} answer={answer} "
                f"type={kind} id={item.body.get('notificationId', item.headers.get('webhook-id'))}")
        if self.echo:
            print(line, flush=True)
        if self.log_path:
            with self.log_path.open("a") as log:
                log.write(json.dumps({"body": item.body, "headers": item.headers, "verified": item.verified,
                                      "answer": answer}) + "\n")

    def notifications(self) -> list[Received]:
        with self._lock:
            return list(self.received)


def serve(receiver: Receiver, port: int = 0, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """Start serving in a daemon thread; returns the server (its port: `server.server_address[1]`)."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length", "0")))
            status = receiver.record(raw, {k.lower(): v for k, v in self.headers.items()})
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:  # the optional reachability probe at subscription creation
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main(argv: Iterable[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--secret", action="append", default=[], help="a subscription's signing secret (whsec_...)")
    parser.add_argument("--answer", type=int, default=204, help="HTTP status to answer with")
    parser.add_argument("--log", type=Path, help="append every notification to this JSON-lines file")
    args = parser.parse_args(list(argv) if argv is not None else None)
    receiver = Receiver(args.secret, args.answer, log_path=args.log)
    server = serve(receiver, args.port)
    print(f"SMO receiver on http://127.0.0.1:{server.server_address[1]}/ (answering {args.answer})", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.shutdown()


if __name__ == "__main__":
    main()
