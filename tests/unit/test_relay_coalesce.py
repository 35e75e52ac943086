"""The relay's coalescing: at most one poll request per backend per window, and always one after the last change."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys

from chalicelib.adapters.ims.kubernetes_components import HARDWARE_SOURCES
from chalicelib.adapters.poll_trigger import EventBridgePollTrigger
from relay.coalesce import Coalescer
from relay.kinds import NODES, WATCHED
from relay.publish import Publisher, poll_request
from tests.conftest import PROJECT_DIR


def sent_over(coalescer: Coalescer, change_times: list[float], until: float, step: float = 0.01) -> list[float]:
    """Drive the coalescer as the sender does (changes at their times, `due` asked every `step`); when it sent."""
    sent, changes, now = [], sorted(change_times), 0.0
    while now <= until:
        while changes and changes[0] <= now:
            coalescer.changed("demo-cluster")
            changes.pop(0)
        if coalescer.due(now)[0]:
            sent.append(round(now, 2))
        now += step
    return sent


def test_a_single_change_is_sent_at_once() -> None:
    assert sent_over(Coalescer(0.5), [1.0], until=5) == [1.0]


def test_a_burst_becomes_one_request_per_window_and_one_after_the_last_change() -> None:
    changes = [1.0 + i * 0.01 for i in range(200)]  # 200 changes within 2 s
    sent = sent_over(Coalescer(0.5), changes, until=10)
    assert sent[0] == 1.0  # the first is not delayed
    assert all(b - a >= 0.5 - 1e-9 for a, b in itertools.pairwise(sent))
    assert sent[-1] >= changes[-1]  # a request after the last change: its poll reads the final state
    assert len(sent) <= 6


def test_changes_in_different_backends_do_not_hold_each_other_back() -> None:
    coalescer = Coalescer(0.5)
    coalescer.changed("a")
    assert coalescer.due(0.0) == (["a"], None)
    coalescer.changed("a")
    coalescer.changed("b")
    due, wait = coalescer.due(0.1)
    assert due == ["b"]
    assert wait is not None and abs(wait - 0.4) < 1e-9
    assert coalescer.due(0.5) == (["a"], None)


def test_the_relay_sends_the_entry_netweave_itself_sends() -> None:
    class Recorder:
        def __init__(self) -> None:
            self.entries: list[dict[str, str]] = []

        def put_events(self, Entries: list[dict[str, str]]) -> dict[str, object]:
            self.entries.extend(Entries)
            return {"FailedEntryCount": 0, "Entries": [{"EventId": "1"}] * len(Entries)}

    recorder = Recorder()
    EventBridgePollTrigger(recorder, "default")("demo-cluster")
    assert poll_request("demo-cluster", "default") == recorder.entries[0]
    assert json.loads(recorder.entries[0]["Detail"]) == {"adapterId": "demo-cluster"}


def test_failed_entries_are_retried_then_given_up_on() -> None:
    class Throttled:
        def __init__(self, refusals: int) -> None:
            self.refusals, self.calls = refusals, 0

        def put_events(self, Entries: list[dict[str, str]]) -> dict[str, object]:
            self.calls += 1
            if self.calls <= self.refusals:
                refused = [{"ErrorCode": "ThrottlingException"}] * len(Entries)
                return {"FailedEntryCount": len(Entries), "Entries": refused}
            return {"FailedEntryCount": 0, "Entries": [{"EventId": "1"}] * len(Entries)}

    recovering = Publisher(Throttled(2), attempts=4, sleep=lambda _: None)
    assert recovering.publish(["a", "b"]) == []
    assert (recovering.calls, recovering.sent) == (3, 2)
    hopeless = Publisher(Throttled(99), attempts=3, sleep=lambda _: None)
    assert hopeless.publish(["a"]) == ["a"]
    assert hopeless.calls == 3


def test_more_backends_than_one_call_takes_are_split_into_calls_of_ten() -> None:
    class Counting:
        def __init__(self) -> None:
            self.sizes: list[int] = []

        def put_events(self, Entries: list[dict[str, str]]) -> dict[str, object]:
            self.sizes.append(len(Entries))
            return {"FailedEntryCount": 0, "Entries": [{"EventId": "1"}] * len(Entries)}

    client = Counting()
    assert Publisher(client).publish([f"b{i}" for i in range(23)]) == []
    assert client.sizes == [10, 10, 3]


def test_the_relay_watches_exactly_the_kinds_the_kubernetes_backend_reads() -> None:
    hardware = {(s.group, s.version, s.plural) for s in HARDWARE_SOURCES}
    assert {(k.group, k.version, k.plural) for k in WATCHED} == {*hardware, (NODES.group, NODES.version, "nodes")}


def test_the_relay_imports_neither_chalice_nor_chalicelib_nor_the_kubernetes_client() -> None:
    code = ("import sys, relay.__main__, relay.relay; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('chalice', 'chalicelib', 'kubernetes')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_DIR, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
