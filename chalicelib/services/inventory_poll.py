"""`poll_inventory`: bring the DynamoDB snapshot of each backend up to date and publish one event per change.

Order of work per backend: read the backend, compare its overall hash with the manifest (equal: stop, no writes, no
events: one read), take the backend's poll lease, compare shard digests and diff only the shards that differ
(domain/shards.py), **publish events, then commit** the objects, their shards and the digests, then the manifest,
which gives the lease back. A poll that dies after publishing leaves the snapshot as it was (or its digests showing
unfinished work), so the next poll finds the same changes and publishes them again with the same event ids:
duplicates are possible, losses are not.

Overlapping polls of one backend (the schedule and a change event): one holds the lease and writes; another one
finding it held asks it to poll again when done (`rerun`), so the change that woke it is not lost; a poll whose read
is older than what a newer poll already committed writes nothing, so an older poll finishing late never overwrites a
newer one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from chalicelib.adapters.ims.port import InventoryContext
from chalicelib.adapters.store.inventory_store import InventoryStore, Manifest
from chalicelib.domain.errors import BackendUnavailable
from chalicelib.domain.events import ChangeEvent, ChangeType, EventPublisher, EventSource, change_event_id, utc_now_iso
from chalicelib.domain.inventory import InventoryObject, ObjectType
from chalicelib.domain.snapshot import NOTIFIED_TYPES, Change, snapshot_hash
from chalicelib.observability import logger
from chalicelib.services.snapshot_commit import Leased, changes_in_shards, shard_update_for, under_lease

UNREACHABLE = "unreachable"
MAX_ROUNDS = 3  # a poll asked to rerun while it ran polls again; more requests than that wait for the schedule


class PollObserver(Protocol):
    """Told what each poll saw (the alarm evaluator): every fresh read, and every failed one."""

    def read(self, backend: str, objects: list[InventoryObject]) -> None: ...

    def unreachable(self, backend: str, manager_ids: list[str], reason: str) -> None: ...


class ServerLinks(Protocol):
    """Links one server's views across backends (services/server_identity.ServerLinker)."""

    def link(self, backend: str, objects: list[InventoryObject]) -> list[InventoryObject]: ...

    def record(self, backend: str, objects: list[InventoryObject], changed: bool) -> int: ...


@dataclass
class PollReport:
    backend: str
    status: str  # unchanged | changed | unreachable | failed | deferred (lease held: rerun asked) | superseded
    objects: int = 0
    created: int = 0
    modified: int = 0
    deleted: int = 0
    published: int = 0
    written: int = 0
    duration_ms: float = 0.0
    error: str | None = None
    rerun: bool = False  # another poll asked this one, holding the lease, to poll again


class InventorySource(Protocol):
    """What a poll reads: an IMS backend, or the platform's own alarm dictionary."""

    adapter_id: str

    def read_inventory(self, context: InventoryContext) -> list[InventoryObject]: ...


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def poll_backends(
    adapters: Iterable[InventorySource],
    context: InventoryContext,
    store: InventoryStore,
    publisher: EventPublisher,
    clock: Callable[[], int] = now_ms,
    observer: PollObserver | None = None,
    links: ServerLinks | None = None,
) -> list[PollReport]:
    """Poll every backend; one that fails is reported and does not stop the others."""
    reports = []
    for adapter in adapters:
        try:
            reports.append(poll_backend(adapter, context, store, publisher, clock, observer, links))
        except Exception as error:  # a bug or a storage outage for one backend must not starve the others
            logger.exception("poll failed", extra={"backend": adapter.adapter_id})
            reports.append(PollReport(adapter.adapter_id, "failed", error=type(error).__name__))
    return reports


def poll_backend(
    adapter: InventorySource,
    context: InventoryContext,
    store: InventoryStore,
    publisher: EventPublisher,
    clock: Callable[[], int] = now_ms,
    observer: PollObserver | None = None,
    links: ServerLinks | None = None,
) -> PollReport:
    started = clock()
    report = _poll_once(adapter, context, store, publisher, clock, observer, links)
    for _ in range(MAX_ROUNDS - 1):
        if not report.rerun:
            break
        report = _merged(report, _poll_once(adapter, context, store, publisher, clock, observer, links))
    if report.rerun:
        logger.warning("poll rerun left to the schedule", extra={"backend": adapter.adapter_id})
    report.duration_ms = float(clock() - started)
    logger.info("inventory poll", extra={"report": report.__dict__})
    return report


def _poll_once(
    adapter: InventorySource,
    context: InventoryContext,
    store: InventoryStore,
    publisher: EventPublisher,
    clock: Callable[[], int],
    observer: PollObserver | None,
    links: ServerLinks | None,
) -> PollReport:
    observed_at = clock()
    backend = adapter.adapter_id
    try:
        objects = adapter.read_inventory(context)
    except BackendUnavailable as error:  # its servers stay in the asset index: links hold through an outage
        report = _mark_unreachable(backend, error.detail, store, publisher, Leased(observed_at, clock))
        _tell(observer, "unreachable", backend, _manager_ids(store, backend), error.detail)
        return report
    if links is not None:
        objects = links.link(backend, objects)
    report = _synchronise(backend, objects, store, publisher, Leased(observed_at, clock))
    _record_servers(links, backend, objects, report.status == "changed")
    _tell(observer, "read", backend, objects)
    return report


def _merged(earlier: PollReport, later: PollReport) -> PollReport:
    """A rerun's report, counting the changes of both rounds."""
    for name in ("created", "modified", "deleted", "published", "written"):
        setattr(later, name, getattr(earlier, name) + getattr(later, name))
    if earlier.status == "changed" and later.status == "unchanged":
        later.status = "changed"
    return later


def _record_servers(links: ServerLinks | None, backend: str, objects: list[InventoryObject], changed: bool) -> None:
    """The asset index is advisory and rebuilt by every poll: failing to update it must not fail a committed poll."""
    if links is None:
        return
    try:
        links.record(backend, objects, changed)
    except Exception:
        logger.exception("asset index update failed", extra={"backend": backend})


def _tell(observer: PollObserver | None, what: str, *args: Any) -> None:
    """An observer's failure is logged, never the poll's: the snapshot and its events are already committed."""
    if observer is None:
        return
    try:
        getattr(observer, what)(*args)
    except Exception:
        logger.exception("poll observer failed", extra={"observer": type(observer).__name__, "call": what})


def _manager_ids(store: InventoryStore, backend: str) -> list[str]:
    return [key[1] for key in store.objects_of_type(backend, ObjectType.DEPLOYMENT_MANAGER.value)]


def _synchronise(
    backend: str, objects: list[InventoryObject], store: InventoryStore, publisher: EventPublisher, leased: Leased
) -> PollReport:
    overall = snapshot_hash(objects)
    manifest = store.manifest(backend)
    report = PollReport(backend, "unchanged", objects=len(objects))
    if manifest is not None and manifest.hash == overall:
        return report

    def commit(current: Manifest | None) -> Manifest | None:
        if current is not None and current.hash == overall:
            return None  # another poll committed this very state since the manifest was read
        changes, update = changes_in_shards(backend, objects, store)
        _commit(backend, changes, store, publisher, leased.observed_at, report)
        store.commit_snapshot(backend, changes, leased.observed_at, update)
        report.status = "changed" if changes else "unchanged"
        return Manifest(backend, overall, leased.observed_at, {"reachable": True, "lastPoll": utc_now_iso()})

    under_lease(backend, store, leased, report, commit)
    return report


def _commit(
    backend: str,
    changes: list[Change],
    store: InventoryStore,
    publisher: EventPublisher,
    observed_at: int,
    report: PollReport,
) -> None:
    """Publish the changes' events (before anything is written: see the module's docstring) and count them."""
    priors = store.documents(c.key for c in changes if c.change_type is not ChangeType.CREATED)
    events = [_event(backend, change, priors.get(change.key)) for change in changes if change.key[0] in NOTIFIED_TYPES]
    report.published = publisher.publish(events) if events else 0
    report.written = len(changes)
    for change in changes:
        setattr(report, change.change_type.value, getattr(report, change.change_type.value) + 1)


def _event(backend: str, change: Change, prior: dict[str, Any] | None) -> ChangeEvent:
    post = change.current.document if change.current else None
    post_hash = change.current.content_hash if change.current else None
    return ChangeEvent(
        event_id=change_event_id(backend, change.key[1], change.prior_hash, post_hash),
        source=EventSource.IMS,
        object_type=change.key[0],
        object_id=change.key[1],
        event_type=change.change_type,
        backend=backend,
        prior=prior,
        post=post,
        at=utc_now_iso(),
    )


def _mark_unreachable(
    backend: str, reason: str, store: InventoryStore, publisher: EventPublisher, leased: Leased
) -> PollReport:
    """The backend's deployment managers show it is unreachable (one modification each, not one per poll);
    the manifest is invalidated so the first successful poll afterwards re-diffs everything."""
    report = PollReport(backend, UNREACHABLE, error=reason)
    marked = _unreachable_managers(store.objects_of_type(backend, ObjectType.DEPLOYMENT_MANAGER.value), reason)

    def commit(_current: Manifest | None) -> Manifest:
        if marked:
            _commit(backend, marked, store, publisher, leased.observed_at, report)
            store.commit_snapshot(backend, marked, leased.observed_at, shard_update_for(backend, marked, store))
        return Manifest(backend, UNREACHABLE, leased.observed_at, {"reachable": False, "error": reason})

    under_lease(backend, store, leased, report, commit)
    return report


def _unreachable_managers(documents: dict[tuple[str, str], dict[str, Any]], reason: str) -> list[Change]:
    marked = []
    for key, document in documents.items():
        status = document.get("extensions", {}).get("backendStatus", {})
        if status.get("reachable") is False:
            continue
        extensions = {
            **document.get("extensions", {}),
            "backendStatus": {"reachable": False, "error": reason, "since": utc_now_iso()},
        }
        updated = InventoryObject(ObjectType.DEPLOYMENT_MANAGER, key[1], {**document, "extensions": extensions})
        marked.append(Change(ChangeType.MODIFIED, key, updated, None))
    return marked
