"""The sharded hash index of a backend's snapshot: which objects the store holds, with their content hashes, cut
into small shards so a poll reads and rewrites only the shards whose objects changed. Pure: no I/O.

An object's shard is a stable hash of its key modulo the shard count. Each shard has a digest (8 bytes of a SHA-256
over its sorted entries); a poll computes the digests of what the backend shows now, compares them with the stored
ones, and reads only the shards that differ: an object created, modified or gone changes its shard's digest.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from chalicelib.domain.events import ChangeType
from chalicelib.domain.inventory import InventoryObject
from chalicelib.domain.snapshot import Change, ObjectKey, StoredEntry

# ~16 entries of ~120 bytes (type, id, SHA-256 hex) keep a shard near 2 KB: 2 WCU to rewrite, and the digests of a
# 50,000-object backend (3,125 shards, 8 bytes each) in one 25 KB item.
ENTRIES_PER_SHARD = 16
DIGEST_BYTES = 8  # 64 bits: a changed shard passing for unchanged is a 2^-64 event
RESHARD_FACTOR = 4  # rebuild when the stored count is this far from the ideal one, either way

Entries = dict[ObjectKey, str]  # (object type, id) -> content hash


def shard_count(objects: int) -> int:
    return max(1, math.ceil(objects / ENTRIES_PER_SHARD))


def needs_reshard(stored_count: int, objects: int) -> bool:
    """A cluster that grew or shrank a lot: shards would cost too many write units, or digests too many reads."""
    ideal = shard_count(objects)
    return stored_count * RESHARD_FACTOR <= ideal or stored_count >= ideal * RESHARD_FACTOR


def shard_of(key: ObjectKey, count: int) -> int:
    """Stable across processes and releases (Python's own `hash` is salted per process)."""
    digest = hashlib.sha256(f"{key[0]}|{key[1]}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % count


def digest(entries: Entries) -> bytes:
    """Of one shard's entries, in key order; an empty shard has a digest too."""
    hasher = hashlib.sha256()
    for (object_type, object_id), content in sorted(entries.items()):
        hasher.update(f"{object_type}|{object_id}|{content}\n".encode())
    return hasher.digest()[:DIGEST_BYTES]


def current_shards(objects: Iterable[InventoryObject], count: int) -> dict[int, Entries]:
    """The backend's objects as shard entries (every shard, empty ones included); an object listed twice counts
    once, as in `snapshot.diff`."""
    shards: dict[int, Entries] = {index: {} for index in range(count)}
    for obj in objects:
        key = (obj.object_type.value, obj.object_id)
        shards[shard_of(key, count)].setdefault(key, obj.content_hash)
    return shards


def split(entries: Mapping[ObjectKey, str], count: int) -> dict[int, Entries]:
    """Stored entries (read from the objects themselves, when rebuilding) cut into `count` shards."""
    shards: dict[int, Entries] = {index: {} for index in range(count)}
    for key, content in entries.items():
        shards[shard_of(key, count)][key] = content
    return shards


def differing(stored: bytes, current: Mapping[int, Entries]) -> list[int]:
    """Shards whose current digest is not the stored one (`stored`: the digests concatenated, in shard order)."""
    return [index for index, entries in current.items()
            if stored[index * DIGEST_BYTES:(index + 1) * DIGEST_BYTES] != digest(entries)]


def pack(digests: Mapping[int, bytes], count: int, stored: bytes = b"") -> bytes:
    """All `count` digests concatenated: `digests` where given, else the stored ones."""
    return b"".join(digests.get(index, stored[index * DIGEST_BYTES:(index + 1) * DIGEST_BYTES])
                    for index in range(count))


def as_stored(shards: Mapping[int, Entries]) -> dict[ObjectKey, StoredEntry]:
    """Shard entries in the form `snapshot.diff` compares against (the time of a write plays no part in a diff)."""
    return {key: StoredEntry(content, 0) for entries in shards.values() for key, content in entries.items()}


@dataclass(frozen=True)
class ShardUpdate:
    """What a commit writes to the index: the shards whose entries changed, and every digest."""

    shards: dict[int, Entries]
    digests: bytes
    count: int
    stale: range = range(0)  # shard numbers beyond `count` left by a larger layout: deleted


def updated(read: Mapping[int, Entries], changes: Iterable[Change], count: int, stored_digests: bytes = b"",
            previous_count: int | None = None) -> ShardUpdate:
    """The shards read, with `changes` applied; digests recomputed for every shard read (one read but unchanged
    may carry a stale digest, left by a poll that died between writing shards and digests).

    `previous_count` (a rebuild: the layout of `count` shards replaces one of that many, 0 for none) writes every
    shard, not only those the changes touched."""
    shards = {index: dict(entries) for index, entries in read.items()}
    touched: set[int] = set()
    for change in changes:
        index = shard_of(change.key, count)
        entries = shards.setdefault(index, {})
        if change.change_type is ChangeType.DELETED:
            entries.pop(change.key, None)
        else:
            assert change.current is not None
            entries[change.key] = change.current.content_hash
        touched.add(index)
    digests = pack({index: digest(entries) for index, entries in shards.items()}, count, stored_digests)
    if previous_count is not None:
        return ShardUpdate(shards, digests, count, range(count, max(count, previous_count)))
    return ShardUpdate({index: shards[index] for index in sorted(touched)}, digests, count)


def encode(entries: Entries) -> str:
    """A shard's entries as the compact JSON string its item holds: [[type, id, hash], ...] in key order."""
    return json.dumps([[t, i, h] for (t, i), h in sorted(entries.items())], separators=(",", ":"),
                      ensure_ascii=False)


def decode(text: str) -> Entries:
    return {(t, i): h for t, i, h in json.loads(text)}
