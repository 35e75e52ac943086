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
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from chalicelib.adapters.store.package_store import START_KEY_ATTRIBUTES, PackageStore, start_key_after
from chalicelib.domain.callback_policy import Callback as Target
from chalicelib.domain.callback_policy import (
    CallbackPolicy,
    CallbackRefused,
    IPAddress,
    check_addresses,
    parse_callback,
)
from chalicelib.domain.errors import NotFound
from chalicelib.domain.events import utc_now_iso
from chalicelib.domain.packages import (
    PACKAGE_SELECTOR_SCHEMA,
    UPLOAD_SOURCE,
    ChartMetadata,
    ChecksumMismatch,
    DeploymentPackage,
    DuplicatePackage,
    PackageInUse,
    PackageRejected,
    PackageRequestInvalid,
    PackageTooLarge,
    PackageType,
    parse_checksum,
)
from chalicelib.domain.selectors import Selection, apply_selection, validate_selection
from chalicelib.services.chart_index import publish_quietly
from chalicelib.services.package_archive import ArchiveLimits, check_archive, read_chart
from chalicelib.services.paging import ListRequest, Page, list_models

FETCH_TIMEOUT_SECONDS = 30.0


class PackageUsage(Protocol):
    """Port: whether any deployment uses a package (DELETE answers 409 then)."""

    def is_in_use(self, package_id: str) -> bool: ...


Resolver = Callable[[Target], list[IPAddress]]


@dataclass(frozen=True)
class FetchPorts:
    policy: CallbackPolicy
    resolve: Resolver
    timeout: float = FETCH_TIMEOUT_SECONDS


@dataclass(frozen=True)
class PackagePorts:
    store: PackageStore
    usage: PackageUsage
    limits: ArchiveLimits = field(default_factory=ArchiveLimits)
    inspect: Callable[[bytes], ChartMetadata] = read_chart
    publish_index: bool = False  # keep charts/index.yaml current (a GitOps backend reads archives from it)


def upload(
    ports: PackagePorts, data: bytes, source: str = UPLOAD_SOURCE, expected_digest: str | None = None
) -> dict[str, Any]:
    """Store one chart archive; answer the new package's wire form."""
    if len(data) > ports.limits.max_compressed:
        raise PackageTooLarge(f"chart archive: {len(data)} bytes; the limit is {ports.limits.max_compressed}")
    digest = hashlib.sha256(data).hexdigest()
    if expected_digest is not None and digest != expected_digest:
        raise ChecksumMismatch(f"checksum: the archive's digest is sha256:{digest}, not sha256:{expected_digest}")
    check_archive(data, ports.limits)
    chart = ports.inspect(data)
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
    )
    ports.store.put_archive(digest, data)  # first: a failed metadata write then orphans only a content address
    ports.store.create(package)
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


def register_source(ports: PackagePorts, request: SourcePackage) -> dict[str, Any]:
    if ports.store.find_by_name(request.name, request.version) is not None:
        raise DuplicatePackage(
            f"a deployment package named '{request.name}' with version '{request.version}' already exists")
    package = DeploymentPackage(
        package_id=str(uuid.uuid4()), name=request.name, version=request.version, description=request.description,
        package_type=request.package_type, uploaded_at=utc_now_iso(), source=request.repository_url,
        repository_url=request.repository_url, chart=request.chart, path=request.path,
    )
    ports.store.create(package)
    return package.to_wire()


def upload_from_url(ports: PackagePorts, fetch: FetchPorts, url: str, checksum: str | None) -> dict[str, Any]:
    expected = parse_checksum(checksum) if checksum is not None else None
    data = fetch_archive(fetch, url, ports.limits.max_compressed)
    return upload(ports, data, source=url, expected_digest=expected)


def fetch_archive(fetch: FetchPorts, url: str, max_bytes: int) -> bytes:
    """GET the archive: the callback address policy applies (no loopback/private/metadata addresses unless
    admitted), redirects are refused rather than followed (a redirect could lead anywhere), and both size and
    total time are capped while streaming."""
    target = _checked_target(fetch, url)
    import httpx  # only the POST-by-URL path pays for httpx

    deadline = time.monotonic() + fetch.timeout
    try:
        with (
            httpx.Client(timeout=fetch.timeout, follow_redirects=False, trust_env=False) as client,
            client.stream("GET", target.url, headers={"Accept": "application/gzip, */*"}) as response,
        ):
            _check_response(response, max_bytes)
            return _read_capped(response.iter_bytes(), max_bytes, deadline, fetch.timeout)
    except httpx.HTTPError as error:
        raise PackageRejected(f"packageUrl: could not be fetched ({type(error).__name__})") from None


def _checked_target(fetch: FetchPorts, url: str) -> Target:
    try:
        target = parse_callback(url, fetch.policy)
        check_addresses(target, fetch.resolve(target), fetch.policy)
    except CallbackRefused as refused:
        # The policy speaks of callbacks; here the URL is a package's.
        raise PackageRequestInvalid(refused.detail.replace("callback:", "packageUrl:", 1)) from None
    return target


def _check_response(response: Any, max_bytes: int) -> None:
    if 300 <= response.status_code < 400:
        location = response.headers.get("location", "(none)")
        raise PackageRejected(
            f"packageUrl: answered a redirect ({response.status_code}) to {location[:300]}; netweave does not "
            "follow redirects: give the final URL"
        )
    if response.status_code != 200:
        raise PackageRejected(f"packageUrl: answered HTTP {response.status_code}")
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise PackageTooLarge(f"packageUrl: the archive is {declared} bytes; the limit is {max_bytes}")


def _read_capped(chunks: Iterator[bytes], max_bytes: int, deadline: float, timeout: float) -> bytes:
    received = bytearray()
    for chunk in chunks:
        received.extend(chunk)
        if len(received) > max_bytes:
            raise PackageTooLarge(f"packageUrl: the archive exceeds the limit of {max_bytes} bytes")
        if time.monotonic() > deadline:  # httpx's timeout is per read; a slow drip must not hold the Lambda
            raise PackageRejected(f"packageUrl: the download took longer than {timeout:g} s")
    return bytes(received)


def get_package(store: PackageStore, package_id: str, selection: Selection) -> dict[str, Any]:
    validate_selection(selection, PACKAGE_SELECTOR_SCHEMA)
    return apply_selection(find(store, package_id).to_wire(), selection, PACKAGE_SELECTOR_SCHEMA)


def find(store: PackageStore, package_id: str) -> DeploymentPackage:
    package = store.get(package_id)
    if package is None:
        raise NotFound(f"no deployment package with id '{package_id}'")
    return package


def delete_package(ports: PackagePorts, package_id: str) -> None:
    package = find(ports.store, package_id)
    if ports.usage.is_in_use(package_id):
        raise PackageInUse(f"deployment package '{package_id}' is used by a deployment; delete that first")
    ports.store.delete(package)
    if package.package_type.has_archive:
        if ports.publish_index:  # unlisted before its archive goes: a GitOps tool never meets a dangling URL
            publish_quietly(ports.store)
        # Same bytes always carry the same Chart.yaml, so no other package shares this content address.
        ports.store.delete_archive(package.digest)


def list_packages(store: PackageStore, request: ListRequest) -> Page:
    return list_models(request, PACKAGE_SELECTOR_SCHEMA, store.page, start_key_after, scope="deploymentPackages",
                       key_attributes=START_KEY_ATTRIBUTES)
