"""How a poll finds and commits its backend's changes: under the backend's poll lease, diffing only the shards whose
digests differ (domain/shards.py). Used by services/inventory_poll.py, whose docstring tells the order of work."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from chalicelib.adapters.store.inventory_store import InventoryStore, Lease, Manifest
from chalicelib.domain.inventory import InventoryObject
from chalicelib.domain.shards import (
    ShardUpdate,
    as_stored,
    current_shards,
    differing,
    needs_reshard,
    shard_count,
    shard_of,
    split,
    updated,
)
from chalicelib.domain.snapshot import Change, diff
from chalicelib.observability import logger

# Longer than the poll functions run (their timeout: 300 s, .chalice/config.json), with a margin for clock skew
# between containers: a lease never expires under a poll still writing.
LEASE_MS = 330_000
LEASE_ATTEMPTS = 3  # take the lease or leave a rerun request: each fails only if the other poll just finished


@dataclass(frozen=True)
class Leased:
    observed_at: int  # when this poll read its backend: a manifest committed later than that is newer than its read
    clock: Callable[[], int]


class Outcome(Protocol):
    status: str
    error: str | None
    rerun: bool


def under_lease(backend: str, store: InventoryStore, leased: Leased, report: Outcome,
                commit: Callable[[Manifest | None], Manifest | None]) -> Outcome:
    """Run `commit` (given the manifest as it stands) holding the backend's lease, and write the manifest it returns
    as the lease is given back. Without the lease: `deferred`, the holder asked to poll again. With it, but a newer
    poll's state committed already: `superseded`, nothing written."""
    owner = uuid.uuid4().hex
    lease = _lease_or_rerun(backend, owner, store, leased.clock)
    if lease is None:
        report.status = "deferred"
        return report
    try:
        if lease.manifest is not None and lease.manifest.observed_at > leased.observed_at:
            report.status, manifest = "superseded", None
        else:
            manifest = commit(lease.manifest)
    except Exception:
        _release_quietly(store, lease)
        raise
    released = store.release_lease(lease, manifest)
    if not released.held:  # only if the lease outlived its margin: the next poll re-diffs and repairs
        logger.warning("poll lease expired before the commit", extra={"backend": backend})
        report.error = "lease expired"
    report.rerun = released.rerun
    return report


def _lease_or_rerun(backend: str, owner: str, store: InventoryStore, clock: Callable[[], int]) -> Lease | None:
    for _ in range(LEASE_ATTEMPTS):
        now = clock()
        lease = store.take_lease(backend, owner, now, now + LEASE_MS)
        if lease is not None:
            return lease
        if store.request_rerun(backend, now):
            return None
    logger.warning("poll lease neither taken nor rerun requested", extra={"backend": backend})
    return None


def _release_quietly(store: InventoryStore, lease: Lease) -> None:
    """After a failure: the next poll need not wait for the lease to expire (the failure itself is raised)."""
    try:
        store.release_lease(lease, None)
    except Exception:
        logger.exception("poll lease release failed", extra={"backend": lease.backend})


def changes_in_shards(backend: str, objects: list[InventoryObject],
                      store: InventoryStore) -> tuple[list[Change], ShardUpdate]:
    """The backend's changes, reading only the shards whose digests differ; the index is rebuilt from the objects
    when it is missing (a new backend, or a table written before shards existed) or sized for another cluster."""
    index = store.shard_digests(backend)
    if index is None or needs_reshard(index.count, len(objects)):
        return _rebuild(backend, objects, store, index.count if index else 0)
    current = current_shards(objects, index.count)
    wanted = differing(index.digests, current)
    read = store.read_shards(backend, wanted)
    chosen = set(wanted)
    candidates = [o for o in objects if shard_of((o.object_type.value, o.object_id), index.count) in chosen]
    changes = diff(as_stored(read), candidates)
    return changes, updated(read, changes, index.count, index.digests)


def _rebuild(backend: str, objects: list[InventoryObject], store: InventoryStore,
             previous_count: int) -> tuple[list[Change], ShardUpdate]:
    """Once per backend (and per 4-fold growth or shrinking): the byBackend index lists every stored object."""
    stored = store.stored_entries(backend)
    count = shard_count(len(objects))
    changes = diff(stored, objects)
    read = split({key: entry.hash for key, entry in stored.items()}, count)
    logger.info("shard index rebuilt", extra={"backend": backend, "shards": count, "previous": previous_count})
    return changes, updated(read, changes, count, previous_count=previous_count)


def shard_update_for(backend: str, changes: list[Change], store: InventoryStore) -> ShardUpdate | None:
    """The shards of a few changes made without a backend read (deployment managers marked unreachable); None
    without an index: the next successful poll builds it from the objects, these included."""
    index = store.shard_digests(backend)
    if index is None:
        return None
    read = store.read_shards(backend, sorted({shard_of(change.key, index.count) for change in changes}))
    return updated(read, changes, index.count, index.digests)
