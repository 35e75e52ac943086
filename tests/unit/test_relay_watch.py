"""The relay's watch of one kind against a fake API server: resume, 410 relist, heartbeats ignored."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from relay.kinds import NODES
from relay.watch import Gone, KindWatch, NotServed

Obj = dict[str, Any]


def node(name: str, rv: int, label: str = "a", heartbeat: str = "t0") -> Obj:
    return {"metadata": {"name": name, "uid": f"uid-{name}", "resourceVersion": str(rv), "labels": {"x": label}},
            "status": {"conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": heartbeat}]}}


class FakeApi:
    """Answers lists with `items` and each watch with the next scripted stream (a list of events, or an exception
    to raise); records the resourceVersion each watch started from."""

    def __init__(self, items: list[Obj], version: str, streams: list[list[Obj] | Exception]) -> None:
        self.items, self.version, self.streams = items, version, streams
        self.lists = 0
        self.watched_from: list[str] = []

    def list(self, kind: Any) -> tuple[list[Obj], str]:
        self.lists += 1
        return self.items, self.version

    def watch(self, kind: Any, resource_version: str) -> Iterator[Obj]:
        self.watched_from.append(resource_version)
        stream = self.streams.pop(0)
        if isinstance(stream, Exception):
            raise stream
        yield from stream


def watching(api: FakeApi, rounds: int) -> tuple[KindWatch, list[int]]:
    changes: list[int] = []
    stop = threading.Event()
    watch = KindWatch(NODES, api, lambda: changes.append(1), stop, absent_retry_seconds=0)
    watch.backoff.first = watch.backoff.most = 0
    for _ in range(rounds):
        watch.run_once()
    return watch, changes


def test_changes_are_relayed_and_a_stream_that_ends_resumes_from_the_last_version() -> None:
    api = FakeApi([node("n1", 5)], "10", [
        [{"type": "MODIFIED", "object": node("n1", 11, label="b")}],
        [{"type": "ADDED", "object": node("n2", 12)}, {"type": "DELETED", "object": node("n2", 13)}],
    ])
    watch, changes = watching(api, 2)
    assert watch.settled.is_set()  # listed: the relay may say it is ready
    assert api.lists == 1
    assert api.watched_from == ["10", "11"]
    assert len(changes) == 3
    assert watch.resource_version == "13"


def test_heartbeats_and_bookmarks_are_not_changes_but_move_the_version_on() -> None:
    api = FakeApi([node("n1", 5)], "10", [[
        {"type": "MODIFIED", "object": node("n1", 11, heartbeat="t1")},
        {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "40"}}},
    ]])
    watch, changes = watching(api, 1)
    assert changes == []
    assert watch.resource_version == "40"


def test_gone_lists_again_and_a_relist_that_differs_counts_as_a_change() -> None:
    api = FakeApi([node("n1", 5)], "10", [
        [{"type": "ERROR", "object": {"kind": "Status", "code": 410, "message": "too old resource version"}}],
        [],
        Gone("expired"),  # the client may raise it too, instead of an ERROR event
        [],
    ])
    watch, changes = watching(api, 2)
    assert changes == []  # the first list is no change; the 410 alone is none either
    api.items, api.version = [node("n1", 20, label="b")], "21"  # changed while the watch was gone
    watch.run_once()
    watch.run_once()
    assert api.lists == 3
    assert changes == [1]
    assert api.watched_from == ["10", "10", "10", "21"]


def test_a_kind_that_fails_to_list_is_not_settled() -> None:
    class Failing(FakeApi):
        def list(self, kind: Any) -> tuple[list[Obj], str]:
            raise ConnectionRefusedError("api server down")

    watch, _ = watching(Failing([], "1", []), 2)
    assert not watch.settled.is_set()


def test_a_broken_connection_is_retried_from_the_same_version_without_a_relist() -> None:
    api = FakeApi([node("n1", 5)], "10", [ConnectionResetError("peer closed"),
                                          [{"type": "MODIFIED", "object": node("n1", 11, label="c")}]])
    _, changes = watching(api, 2)
    assert api.lists == 1
    assert api.watched_from == ["10", "10"]
    assert changes == [1]


def test_a_kind_the_cluster_does_not_serve_is_looked_for_again_later() -> None:
    class Absent(FakeApi):
        def list(self, kind: Any) -> tuple[list[Obj], str]:
            self.lists += 1
            raise NotServed("404")

    api = Absent([], "1", [])
    watch, changes = watching(api, 3)
    assert watch.settled.is_set()  # an absent kind does not hold the relay's readiness back
    assert api.lists == 3
    assert watch.resource_version is None
    assert changes == []
