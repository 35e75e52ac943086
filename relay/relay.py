"""The relay: one watch thread per kind, one sender that asks for polls as the coalescer lets it."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from relay.coalesce import Coalescer
from relay.kinds import Kind
from relay.publish import Publisher
from relay.watch import KindWatch, KubePort

log = logging.getLogger("relay")


class Relay:
    def __init__(self, api: KubePort, kinds: Sequence[Kind], backends: Sequence[str], publisher: Publisher,
                 window: float = 0.5, clock: Callable[[], float] = time.monotonic) -> None:
        self.backends, self.publisher, self.clock = list(backends), publisher, clock
        self.coalescer = Coalescer(window)
        self.stop_event = threading.Event()
        self._wake = threading.Condition()
        self.changes = 0  # relayed changes (watch events that change what netweave reads)
        self.watches = [KindWatch(kind, api, self.changed, self.stop_event) for kind in kinds]

    def changed(self) -> None:
        with self._wake:
            self.changes += 1
            for backend in self.backends:
                self.coalescer.changed(backend)
            self._wake.notify()

    def start(self) -> list[threading.Thread]:
        threads = [threading.Thread(target=w.run, name=f"watch-{w.kind}", daemon=True) for w in self.watches]
        threads.append(threading.Thread(target=self.send_loop, name="relay-send", daemon=True))
        for thread in threads:
            thread.start()
        return threads

    def wait_ready(self, timeout: float | None = None) -> bool:
        """True once every kind is listed (or known absent): changes from then on are relayed."""
        return all(w.settled.wait(timeout) for w in self.watches)

    def stop(self) -> None:
        self.stop_event.set()
        with self._wake:
            self._wake.notify()

    def send_loop(self) -> None:
        while not self.stop_event.is_set():
            with self._wake:
                due, wait = self.coalescer.due(self.clock())
                if not due:
                    self._wake.wait(wait if wait is not None else 1.0)
                    continue
            self.publisher.publish(due)  # outside the lock: the watches keep recording meanwhile
