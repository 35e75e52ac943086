"""Watching one kind: list, then watch from the list's resourceVersion; a stream that ends is resumed from the last
version seen; 410 Gone (the server no longer keeps history that far back) means list again, and a relist that
differs from what was known counts as a change (it may hide changes the watch missed). A kind the server does not
serve or the relay may not read (an operator not installed) is looked for again now and then."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from relay.fingerprint import Seen
from relay.kinds import Kind

Obj = dict[str, Any]
log = logging.getLogger("relay.watch")


class Gone(Exception):
    """410: the resourceVersion is older than the server's history; list again."""


class NotServed(Exception):
    """404 or 403: the kind is not installed, or the relay may not read it."""


class KubePort(Protocol):
    def list(self, kind: Kind) -> tuple[list[Obj], str]:
        """Every object of the kind and the list's resourceVersion."""

    def watch(self, kind: Kind, resource_version: str) -> Iterable[Obj]:
        """Watch events (`{"type", "object"}`) after `resource_version`, until the server ends the stream."""


@dataclass
class Backoff:
    first: float = 0.5
    most: float = 30.0
    current: float = 0.0

    def next(self) -> float:
        self.current = min(self.most, self.current * 2 if self.current else self.first)
        return self.current

    def reset(self) -> None:
        self.current = 0.0


class KindWatch:
    def __init__(self, kind: Kind, api: KubePort, on_change: Callable[[], None], stop: threading.Event,
                 absent_retry_seconds: float = 300.0, backoff: Backoff | None = None) -> None:
        self.kind, self.api, self.on_change, self.stop = kind, api, on_change, stop
        self.absent_retry_seconds = absent_retry_seconds
        self.backoff = backoff or Backoff()
        self.resource_version: str | None = None
        self.seen = Seen()
        self.lists = 0
        self.settled = threading.Event()  # listed once, or found not served: from now on a change is relayed

    def run(self) -> None:
        while not self.stop.is_set():
            self.run_once()

    def run_once(self) -> None:
        """One round (a list if needed, then one watch stream), recovering from what may go wrong in it."""
        try:
            self._list_and_watch()
            self.backoff.reset()
        except Gone:
            log.info("watch expired; listing again", extra={"kind": str(self.kind)})
            self.resource_version = None
        except NotServed:
            self.resource_version = None
            self.settled.set()
            self.stop.wait(self.absent_retry_seconds)
        except Exception as error:  # transport errors of any client: wait, then resume from the last version
            delay = self.backoff.next()
            log.warning("watch failed; retrying", extra={"kind": str(self.kind), "error": repr(error),
                                                         "retryIn": delay})
            self.stop.wait(delay)

    def _list_and_watch(self) -> None:
        if self.resource_version is None:
            items, version = self.api.list(self.kind)
            if self.seen.replace(items) and self.lists:
                self.on_change()  # what changed while the watch was gone
            self.lists += 1
            self.resource_version = version
            self.settled.set()
        for event in self.api.watch(self.kind, self.resource_version):
            self._handle(event)
            if self.stop.is_set():
                return

    def _handle(self, event: Obj) -> None:
        kind, obj = event.get("type"), event.get("object") or {}
        if kind == "ERROR":
            if obj.get("code") == 410:
                raise Gone(obj.get("message"))
            raise RuntimeError(f"watch error {obj.get('code')}: {obj.get('message')}")
        version = (obj.get("metadata") or {}).get("resourceVersion")
        if version:
            self.resource_version = str(version)
        if kind in ("ADDED", "MODIFIED", "DELETED") and self.seen.observe(str(kind), obj):
            self.on_change()
