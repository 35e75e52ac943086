"""The in-memory object store: objects by (group, plural) and (namespace, name), one global resourceVersion
counter, a bounded event log for watches that resume from a resourceVersion, and an owner-uid index for GC.

Stored dicts are never mutated after ``write``: readers may serialise them directly (the JSON bytes are cached per
entry, which keeps 500-item pages of big Node objects cheap), and writers always store a fresh dict.
"""

from __future__ import annotations

import asyncio
import bisect
import json
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from devtools.kubesim.resources import StoreKey

Obj = dict[str, Any]
ObjKey = tuple[str, str]  # (namespace or "", name)
Ref = tuple[StoreKey, str, str]  # (store key, namespace, name)
Predicate = Callable[[Obj], bool]
EVENT_LOG_SIZE = 50_000


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(slots=True)
class Entry:
    obj: Obj
    _raw: bytes | None = None

    def raw(self) -> bytes:
        if self._raw is None:
            self._raw = dumps(self.obj)
        return self._raw


@dataclass(slots=True)
class Event:
    rv: int
    key: StoreKey
    type: str  # ADDED | MODIFIED | DELETED
    entry: Entry
    old: Obj | None = None


@dataclass(eq=False)
class Watcher:
    """One open watch: the store pushes matching events into its queue; ``None`` asks it to close."""

    key: StoreKey
    namespace: str | None
    queue: asyncio.Queue[Event | None] = field(default_factory=asyncio.Queue)

    def offer(self, event: Event) -> None:
        if event.key != self.key:
            return
        if self.namespace is not None and event.entry.obj["metadata"].get("namespace", "") != self.namespace:
            return
        self.queue.put_nowait(event)


def meta_key(obj: Obj) -> ObjKey:
    meta = obj["metadata"]
    return meta.get("namespace") or "", meta["name"]


def owner_uids(obj: Obj) -> list[str]:
    return [ref["uid"] for ref in obj["metadata"].get("ownerReferences") or [] if ref.get("uid")]


class Store:
    def __init__(self) -> None:
        self.rv = 0
        self._objects: dict[StoreKey, dict[ObjKey, Entry]] = {}
        self._sorted: dict[StoreKey, list[ObjKey]] = {}
        self._log: deque[Event] = deque(maxlen=EVENT_LOG_SIZE)
        self._owned: dict[str, set[Ref]] = {}
        self.watchers: set[Watcher] = set()
        self.listeners: list[Callable[[Event], None]] = []

    def get(self, key: StoreKey, namespace: str, name: str) -> Obj | None:
        entry = self._objects.get(key, {}).get((namespace, name))
        return entry.obj if entry is not None else None

    def entry(self, key: StoreKey, namespace: str, name: str) -> Entry | None:
        return self._objects.get(key, {}).get((namespace, name))

    def count(self, key: StoreKey) -> int:
        return len(self._objects.get(key, {}))

    def _keys(self, key: StoreKey) -> list[ObjKey]:
        keys = self._sorted.get(key)
        if keys is None:
            keys = sorted(self._objects.get(key, {}))
            self._sorted[key] = keys
        return keys

    def scan(self, key: StoreKey, namespace: str | None = None, after: ObjKey | None = None) -> Iterator[Entry]:
        """Entries in (namespace, name) order, optionally within one namespace and strictly after a key."""
        keys = self._keys(key)
        objects = self._objects.get(key, {})
        index = bisect.bisect_left(keys, (namespace, "")) if namespace is not None else 0
        if after is not None:
            index = max(index, bisect.bisect_right(keys, after))
        for obj_key in keys[index:]:
            if namespace is not None and obj_key[0] != namespace:
                break
            entry = objects.get(obj_key)
            if entry is not None:
                yield entry

    def objects(self, key: StoreKey, namespace: str | None = None) -> list[Obj]:
        return [entry.obj for entry in self.scan(key, namespace)]

    def owned_by(self, uid: str) -> list[Ref]:
        return sorted(self._owned.get(uid, ()))

    def write(self, key: StoreKey, obj: Obj) -> Entry:
        """Store ``obj`` (taking ownership) under a new resourceVersion and emit ADDED or MODIFIED."""
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        obj_key = meta_key(obj)
        bucket = self._objects.setdefault(key, {})
        previous = bucket.get(obj_key)
        if previous is None:
            self._sorted.pop(key, None)
        else:
            self._unindex(key, obj_key, previous.obj)
        entry = Entry(obj)
        bucket[obj_key] = entry
        for uid in owner_uids(obj):
            self._owned.setdefault(uid, set()).add((key, *obj_key))
        self._emit(Event(self.rv, key, "MODIFIED" if previous else "ADDED", entry,
                         previous.obj if previous else None))
        return entry

    def remove(self, key: StoreKey, namespace: str, name: str) -> Obj | None:
        bucket = self._objects.get(key, {})
        previous = bucket.pop((namespace, name), None)
        if previous is None:
            return None
        self._sorted.pop(key, None)
        self._unindex(key, (namespace, name), previous.obj)
        self.rv += 1
        # The DELETED event carries the last state with a fresh resourceVersion, as the real server does.
        final = {**previous.obj, "metadata": {**previous.obj["metadata"], "resourceVersion": str(self.rv)}}
        self._emit(Event(self.rv, key, "DELETED", Entry(final), previous.obj))
        return final

    def _unindex(self, key: StoreKey, obj_key: ObjKey, obj: Obj) -> None:
        for uid in owner_uids(obj):
            refs = self._owned.get(uid)
            if refs is not None:
                refs.discard((key, *obj_key))
                if not refs:
                    del self._owned[uid]

    def _emit(self, event: Event) -> None:
        self._log.append(event)
        for watcher in list(self.watchers):
            watcher.offer(event)
        for listener in self.listeners:
            listener(event)

    def since(self, rv: int) -> list[Event] | None:
        """Events after ``rv``, or None when the log no longer reaches back that far (the watch gets 410)."""
        if rv >= self.rv:
            return []
        if not self._log or self._log[0].rv > rv + 1:
            return None
        events = list(self._log)
        index = bisect.bisect_right([e.rv for e in events], rv)
        return events[index:]

    def close_watchers(self) -> None:
        for watcher in list(self.watchers):
            watcher.queue.put_nowait(None)
