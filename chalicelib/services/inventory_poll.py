"""`poll_inventory`: bring the DynamoDB snapshot of each backend up to date and publish one event per change.

Order of work per backend: read the backend, compare its overall hash with the manifest (equal: stop, no writes, no
events), diff object hashes, **publish events, then commit** the items, then the manifest. A poll that dies after
publishing leaves the snapshot as it was, so the next poll finds the same changes and publishes them again with the
same event ids: duplicates are possible, losses are not.
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
from chalicelib.domain.snapshot import NOTIFIED_TYPES, Change, diff, snapshot_hash
from chalicelib.observability import logger

UNREACHABLE = "unreachable"



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
    status: str  # unchanged | changed | unreachable
    objects: int = 0
    created: int = 0
    modified: int = 0
    deleted: int = 0
    published: int = 0
    written: int = 0
    skipped: int = 0
    duration_ms: float = 0.0
    error: str | None = None


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
    backend = adapter.adapter_id
    try:
        objects = adapter.read_inventory(context)
    except BackendUnavailable as error:  # its servers stay in the asset index: links hold through an outage
        report = _mark_unreachable(backend, error.detail, store, publisher, started)
        _tell(observer, "unreachable", backend, _manager_ids(store, backend), error.detail)
    else:
        if links is not None:
            objects = links.link(backend, objects)
        report = _synchronise(backend, objects, store, publisher, started)
        _record_servers(links, backend, objects, report.status == "changed")
        _tell(observer, "read", backend, objects)
    report.duration_ms = float(clock() - started)
    logger.info("inventory poll", extra={"report": report.__dict__})
    return report


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
    return [key[1] for key in store.stored_entries(backend) if key[0] == ObjectType.DEPLOYMENT_MANAGER.value]


def _synchronise(
    backend: str, objects: list[InventoryObject], store: InventoryStore, publisher: EventPublisher, observed_at: int
) -> PollReport:
    overall = snapshot_hash(objects)
    manifest = store.manifest(backend)
    report = PollReport(backend, "unchanged", objects=len(objects))
    if manifest is not None and manifest.hash == overall:
        return report
    changes = diff(store.stored_entries(backend), objects)
    _commit(backend, changes, store, publisher, observed_at, report)
    store.put_manifest(Manifest(backend, overall, observed_at, {"reachable": True, "lastPoll": utc_now_iso()}))
    report.status = "changed" if changes else "unchanged"
    return report


def _commit(
    backend: str,
    changes: list[Change],
    store: InventoryStore,
    publisher: EventPublisher,
    observed_at: int,
    report: PollReport,
) -> None:
    priors = store.documents(c.key for c in changes if c.change_type is not ChangeType.CREATED)
    events = [_event(backend, change, priors.get(change.key)) for change in changes if change.key[0] in NOTIFIED_TYPES]
    report.published = publisher.publish(events) if events else 0
    applied = store.apply(backend, changes, observed_at)
    report.written, report.skipped = applied.written, applied.skipped
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
    backend: str, reason: str, store: InventoryStore, publisher: EventPublisher, observed_at: int
) -> PollReport:
    """The backend's deployment managers show it is unreachable (one modification each, not one per poll);
    the manifest is invalidated so the first successful poll afterwards re-diffs everything."""
    report = PollReport(backend, UNREACHABLE, error=reason)
    managers = [key for key in store.stored_entries(backend) if key[0] == ObjectType.DEPLOYMENT_MANAGER.value]
    documents = store.documents(managers)
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
    if marked:
        _commit(backend, marked, store, publisher, observed_at, report)
    store.put_manifest(Manifest(backend, UNREACHABLE, observed_at, {"reachable": False, "error": reason}))
    return report
