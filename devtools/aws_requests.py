"""Counting the AWS requests netweave sends, at the botocore level: every HTTP attempt a client makes (retries
included) fires `before-send`, whatever answers it (moto here, AWS in production), so the counts are netweave's own.
Used by the benchmarks and by tests that assert request counts."""

from __future__ import annotations

from collections import Counter
from typing import Any


class AwsRequestCounter:
    """`attach` clients, run something, read `counts` ({(service, operation): requests}); `reset` between runs."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()

    def attach(self, *clients: Any) -> AwsRequestCounter:
        for client in clients:
            # one registration per client and counter, however often attach is called
            client.meta.events.register("before-send", self._count, unique_id=f"netweave-count-{id(self)}")
        return self

    def _count(self, event_name: str, **kwargs: Any) -> None:
        _hook, service, operation = event_name.split(".", 2)  # before-send.<service>.<Operation>
        self.counts[(service, operation)] += 1

    def reset(self) -> None:
        self.counts.clear()

    def of(self, service: str, operation: str | None = None) -> int:
        """Requests to `service` (one operation of it, or all)."""
        return sum(n for (s, o), n in self.counts.items() if s == service and operation in (None, o))

    def summary(self, service: str) -> str:
        """`<total> (<Operation> <n>, ...)`, for printing."""
        parts = ", ".join(f"{o} {n}" for (s, o), n in sorted(self.counts.items()) if s == service)
        return f"{self.of(service)} ({parts or 'none'})"
