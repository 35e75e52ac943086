"""Deployment package use cases: upload (bytes, or fetched from a URL), get, list, delete.

Order of an upload: size → digest (against the client's checksum, if given) → archive safety checks → `helm show
chart` → duplicate pre-check → S3 → DynamoDB. Everything that can refuse the artifact runs before anything is
written; the conditional DynamoDB write is what guarantees name+version uniqueness under concurrency (the pre-check
only spares S3 a write in the common case).

Package ids are uuid4, not derived from name+version: an id names one upload, so a package deleted and uploaded
again with other content never aliases the old id in an SMO's records or in deployment history.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from chalicelib.adapters.store.package_store import START_KEY_ATTRIBUTES, PackageStore, start_key_after
from chalicelib.domain.callback_policy import Callback, IPAddress
from chalicelib.domain.errors import NotFound
from chalicelib.domain.events import EventPublisher, utc_now_iso
from chalicelib.domain.package_events import PackageEventType, package_event
from chalicelib.domain.packages import (
    PACKAGE_SELECTOR_SCHEMA,
    UPLOAD_SOURCE,
    ChartMetadata,
    ChecksumMismatch,
    DeploymentPackage,
    DuplicatePackage,
    PackageInUse,
    PackageRejected,
    PackageTooLarge,
    PackageType,
    chart_name_problem,
    parse_checksum,
)
from chalicelib.domain.repository_policy import RepositoryPolicy, check_repository, repository_target
from chalicelib.domain.selectors import Selection, apply_selection, validate_selection
from chalicelib.domain.tenancy import Access
from chalicelib.services.announce import publish_or_undo
from chalicelib.services.chart_index import publish_quietly
from chalicelib.services.package_archive import ArchiveLimits, check_archive, read_chart
from chalicelib.services.paging import ListRequest, Page, list_models

FETCH_TIMEOUT_SECONDS = 30.0


class PackageUsage(Protocol):
    """Port: whether any deployment uses a package (DELETE answers 409 then)."""

    def is_in_use(self, package_id: str) -> bool: ...


class ArchiveSource(Protocol):
    """Port: the bytes at a client's packageUrl, at most `max_bytes`; raises PackageRequestInvalid (refused by the
    outbound policy), PackageRejected or PackageTooLarge."""

    def fetch(self, url: str, max_bytes: int) -> bytes: ...


@dataclass(frozen=True)
class FetchPorts:
    source: ArchiveSource

    def fetch(self, url: str, max_bytes: int) -> bytes:
        return self.source.fetch(url, max_bytes)


def _unresolved(target: Callback) -> Sequence[IPAddress]:
    return []


@dataclass(frozen=True)
class PackagePorts:
    store: PackageStore
    usage: PackageUsage
    limits: ArchiveLimits = field(default_factory=ArchiveLimits)
    inspect: Callable[[bytes], ChartMetadata] = read_chart
    publish_index: bool = False  # keep charts/index.yaml current (a GitOps backend reads archives from it)
    # Where a registered repositoryUrl may point (the default admits only listed hosts: nothing resolves).
    repository_policy: RepositoryPolicy = field(default_factory=RepositoryPolicy)
    resolve: Callable[[Callback], Sequence[IPAddress]] = _unresolved
    publisher: EventPublisher | None = None  # PackageCreated/PackageDeleted for DMS subscribers (docs/dms.md, "Events")
    shared_catalogue: bool = True  # False with NETWEAVE_PACKAGES_PER_TENANT: a package's events reach its owner only


def upload(
    ports: PackagePorts, data: bytes, source: str = UPLOAD_SOURCE, expected_digest: str | None = None,
    owner: str | None = None,
) -> dict[str, Any]:
    """Store one chart archive, recording `owner` (the uploader's tenant); answer the new package's wire form.
    Names and versions are unique across tenants (one chart repository index, one content address per archive)."""
    if len(data) > ports.limits.max_compressed:
        raise PackageTooLarge(f"chart archive: {len(data)} bytes; the limit is {ports.limits.max_compressed}")
    digest = hashlib.sha256(data).hexdigest()
    if expected_digest is not None and digest != expected_digest:
        raise ChecksumMismatch(f"checksum: the archive's digest is sha256:{digest}, not sha256:{expected_digest}")
    check_archive(data, ports.limits)
    chart = ports.inspect(data)
    problem = chart_name_problem(chart.name)
    if problem is not None:  # the name is a directory name when a release's chart is rebuilt (adapters/dms/helm.py)
        raise PackageRejected(f"chart archive: Chart.yaml name {chart.name[:100]!r} is not a chart name: {problem}")
    if ports.store.find_by_name(chart.name, chart.version) is not None:
        raise DuplicatePackage(
            f"a deployment package named '{chart.name}' with version '{chart.version}' already exists"
        )
    package = DeploymentPackage(
        package_id=str(uuid.uuid4()),
        name=chart.name,
        version=chart.version,
        app_version=chart.app_version,
        description=chart.description,
        checksum=f"sha256:{digest}",
        size=len(data),
        uploaded_at=utc_now_iso(),
        source=source,
        owner=owner,
    )
    ports.store.put_archive(digest, data)  # first: a failed metadata write then orphans only a content address
    ports.store.create(package)
    _announce(ports, package, PackageEventType.CREATED, undo=lambda: _unstore(ports, package))
    if ports.publish_index:
        publish_quietly(ports.store)
    return package.to_wire()


@dataclass(frozen=True)
class SourcePackage:
    """A chart a GitOps backend fetches itself: nothing is downloaded or stored but the reference."""

    package_type: PackageType
    repository_url: str
    version: str  # chart version (helm-repo) or Git revision (git)
    name: str
    chart: str | None = None
    path: str | None = None
    description: str | None = None


def register_source(ports: PackagePorts, request: SourcePackage, owner: str | None = None) -> dict[str, Any]:
    """Record the reference; the repository is checked first, since a GitOps backend will fetch it from inside the
    cluster (docs/security.md, "Outbound requests")."""
    target = repository_target(request.repository_url)
    check_repository(target, ports.resolve(target), ports.repository_policy)
    if ports.store.find_by_name(request.name, request.version) is not None:
        raise DuplicatePackage(
            f"a deployment package named '{request.name}' with version '{request.version}' already exists")
    package = DeploymentPackage(
        package_id=str(uuid.uuid4()), name=request.name, version=request.version, description=request.description,
        package_type=request.package_type, uploaded_at=utc_now_iso(), source=request.repository_url,
        repository_url=request.repository_url, chart=request.chart, path=request.path, owner=owner,
    )
    ports.store.create(package)
    _announce(ports, package, PackageEventType.CREATED, undo=lambda: ports.store.delete(package))
    return package.to_wire()


def _announce(ports: PackagePorts, package: DeploymentPackage, event_type: PackageEventType,
              undo: Callable[[], None]) -> None:
    """Publish the package's event, or undo the change and answer 503: a package that exists without its
    PackageCreated (or is gone without its PackageDeleted) would be an event lost for good; the client's retry of
    an undone change is safe, and a retry that publishes twice is one notification (the event id is stable)."""
    if ports.publisher is None:
        return
    event = package_event(package, event_type, shared=ports.shared_catalogue, at=utc_now_iso())
    publish_or_undo(ports.publisher, event, undo, f"deployment package '{package.package_id}'")


def _unstore(ports: PackagePorts, package: DeploymentPackage) -> None:
    ports.store.delete(package)
    if package.package_type.has_archive:
        ports.store.delete_archive(package.digest)


def upload_from_url(ports: PackagePorts, fetch: FetchPorts, url: str, checksum: str | None,
                    owner: str | None = None) -> dict[str, Any]:
    """Fetch the archive through the fetch port (the outbound policy, a pinned connection, no redirects, one
    deadline and a size cap: `chalicelib/adapters/webhooks/archive_fetch.py`), then upload it."""
    expected = parse_checksum(checksum) if checksum is not None else None
    data = fetch.fetch(url, ports.limits.max_compressed)
    return upload(ports, data, source=url, expected_digest=expected, owner=owner)


def get_package(store: PackageStore, package_id: str, selection: Selection, *, access: Access) -> dict[str, Any]:
    validate_selection(selection, PACKAGE_SELECTOR_SCHEMA)
    return apply_selection(find(store, package_id, access).to_wire(), selection, PACKAGE_SELECTOR_SCHEMA)


def find(store: PackageStore, package_id: str, access: Access) -> DeploymentPackage:
    package = store.get(package_id)
    if package is None or not access.sees_package(package.owner):  # per-tenant packages: another's is unknown
        raise NotFound(f"no deployment package with id '{package_id}'")
    return package


def delete_package(ports: PackagePorts, package_id: str, *, access: Access) -> None:
    package = find(ports.store, package_id, access)
    if ports.usage.is_in_use(package_id):
        raise PackageInUse(f"deployment package '{package_id}' is used by a deployment; delete that first")
    ports.store.delete(package)
    _announce(ports, package, PackageEventType.DELETED, undo=lambda: ports.store.create(package))
    if package.package_type.has_archive:
        if ports.publish_index:  # unlisted before its archive goes: a GitOps tool never meets a dangling URL
            publish_quietly(ports.store)
        # Same bytes always carry the same Chart.yaml, so no other package shares this content address.
        ports.store.delete_archive(package.digest)


def list_packages(store: PackageStore, request: ListRequest, *, access: Access) -> Page:
    visible = (lambda package: access.sees_package(package.owner)) if access.packages_per_tenant else None
    return list_models(request, PACKAGE_SELECTOR_SCHEMA, store.page, start_key_after, scope="deploymentPackages",
                       key_attributes=START_KEY_ATTRIBUTES, visible=visible)
