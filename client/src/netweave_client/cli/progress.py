"""`--wait`: follow an operation, a pool or a provisioning request until it ends, showing its progress on stderr
(stdout keeps what `-o json` prints). On a terminal a live status line (rich); otherwise one plain line per new
progress message or state, so logs and CI output stay readable."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from netweave_client.models import Operation, ProvisioningRequestInfo, ResourcePool


class Display:
    """Prints each line once; on a terminal also keeps a spinner with the latest one."""

    def __init__(self, interactive: bool | None = None) -> None:
        self.interactive = sys.stderr.isatty() if interactive is None else interactive
        self._seen: set[str] = set()
        self._status: Any = None

    @contextmanager
    def running(self, title: str) -> Iterator[Display]:
        if not self.interactive:
            print(title, file=sys.stderr, flush=True)
            yield self
            return
        from rich.console import Console

        with Console(stderr=True).status(title) as status:
            self._status = status
            yield self
        self._status = None

    def line(self, text: str) -> None:
        if text in self._seen:
            return
        self._seen.add(text)
        if self._status is not None:
            self._status.update(text)
            self._status.console.print(f"  {text}")
        else:
            print(f"  {text}", file=sys.stderr, flush=True)


def operation_progress(display: Display) -> Callable[[Operation], None]:
    def show(operation: Operation) -> None:
        for message in operation.progress or []:
            display.line(f"{message.at} {message.message}")
        display.line(f"{operation.operation_type.value} {operation.status.value}")

    return show


def pool_progress(display: Display, deleted: bool = False) -> Callable[[ResourcePool | None], None]:
    def show(pool: ResourcePool | None) -> None:
        if pool is None:
            if not deleted:  # a new pool is listed after its backend's next poll
                display.line("waiting for the pool to appear in the inventory")
            return
        extensions = pool.extensions or {}
        display.line(f"{extensions.get('status', '?')} {extensions.get('readyNodes', '?')}/"
                     f"{extensions.get('desiredNodes', '?')} nodes ready")

    return show


def provisioning_progress(display: Display) -> Callable[[ProvisioningRequestInfo | None], None]:
    def show(request: ProvisioningRequestInfo | None) -> None:
        if request is not None:  # None: deleted, the wait's end
            display.line(f"{request.status.provisioning_phase.value} {request.status.message}")

    return show
