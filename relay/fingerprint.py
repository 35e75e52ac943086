"""Which watch events are changes netweave would see. A kubelet rewrites its Node's status on a heartbeat, and every
write bumps resourceVersion and managedFields; none of that reaches the inventory, and relaying it would make every
heartbeat a poll. The relay keeps a digest of each object without those fields and relays only when it differs."""

from __future__ import annotations

import hashlib
import json
from typing import Any

Obj = dict[str, Any]
_VOLATILE_METADATA = ("resourceVersion", "managedFields", "generation")


def digest(obj: Obj) -> bytes:
    """The object's content as the inventory can see it (heartbeat times, versions and field managers left out)."""
    metadata = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in _VOLATILE_METADATA}
    status = dict(obj.get("status") or {})
    if isinstance(status.get("conditions"), list):
        status["conditions"] = [_without_heartbeat(c) for c in status["conditions"]]
    content = {**obj, "metadata": metadata, "status": status}
    return hashlib.blake2b(json.dumps(content, sort_keys=True, default=str).encode(), digest_size=16).digest()


def _without_heartbeat(condition: Any) -> Any:
    if not isinstance(condition, dict):
        return condition
    return {k: v for k, v in condition.items() if k != "lastHeartbeatTime"}


def _key(obj: Obj) -> str:
    metadata = obj.get("metadata") or {}
    return str(metadata.get("uid") or f"{metadata.get('namespace', '')}/{metadata.get('name', '')}")


class Seen:
    """The digests of one kind's objects, as last listed or watched (16 bytes per object)."""

    def __init__(self) -> None:
        self._digests: dict[str, bytes] = {}

    def observe(self, event_type: str, obj: Obj) -> bool:
        """Record a watch event; True when it changed what netweave would read."""
        key = _key(obj)
        if event_type == "DELETED":
            return self._digests.pop(key, None) is not None
        old, self._digests[key] = self._digests.get(key), digest(obj)
        return old != self._digests[key]

    def replace(self, items: list[Obj]) -> bool:
        """Take a fresh list as the whole truth (after a relist); True when it differs from what was known."""
        fresh = {_key(obj): digest(obj) for obj in items}
        differs = fresh != self._digests
        self._digests = fresh
        return differs
