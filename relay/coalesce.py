"""Coalescing: a burst of changes becomes at most one poll request per backend per window.

Leading and trailing edge: the first change after a quiet window is sent at once (the common case, one change, costs
no delay); changes within the window after a send are held and sent together when it ends. So there is always one
request after the last change (nothing is missed: the poll that request causes reads the state after it), and never
more than one per window. Pure: the caller passes the time."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Coalescer:
    window: float  # seconds between two requests for one backend
    _last_sent: dict[str, float] = field(default_factory=dict)
    _pending: set[str] = field(default_factory=set)

    def changed(self, backend: str) -> None:
        self._pending.add(backend)

    def due(self, now: float) -> tuple[list[str], float | None]:
        """The backends to send a request for now (marked sent), and the seconds until the next one falls due (None:
        nothing is pending)."""
        ready = sorted(b for b in self._pending if now - self._last_sent.get(b, float("-inf")) >= self.window)
        for backend in ready:
            self._pending.discard(backend)
            self._last_sent[backend] = now
        waits = [self._last_sent[b] + self.window - now for b in self._pending]
        return ready, (max(0.0, min(waits)) if waits else None)

    @property
    def pending(self) -> bool:
        return bool(self._pending)
