"""O2dms deployment packages: `/o2dms/v1/deploymentPackages` (GET list, POST) and `/{packageId}` (GET, DELETE).

POST takes one of three bodies:
- `application/json`: `{"packageUrl", "checksum": "sha256:<hex>", "packageType": "helm"}` — netweave fetches it;
- `application/gzip` (also `application/x-gzip`, `application/octet-stream`): the chart archive itself;
- `multipart/form-data` with the archive in a part named `file`.
The binary media types must be registered with API Gateway (`app.api.binary_types`), else the body arrives as
mangled text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from chalice import Blueprint, Response
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator

from chalicelib.api.auth import current_access
from chalicelib.api.listing import ListQuery, marker_codec, page_response
from chalicelib.api.ports import ports
from chalicelib.api.queries import SelectorQuery
from chalicelib.api.routing import Router, parse_body, read_json
from chalicelib.domain.auth import Scope
from chalicelib.domain.errors import BadRequest, UnsupportedMediaType
from chalicelib.domain.packages import (
    CHECKSUM_PATTERN,
    DeploymentPackage,
    PackageTooLarge,
    PackageType,
    parse_checksum,
    parse_content_digest,
)

if TYPE_CHECKING:  # views import the service when called: a cold start that serves other routes never loads it
    from chalicelib.adapters.store.package_store import PackageStore
    from chalicelib.services import packages as service

COLLECTION = "/o2dms/v1/deploymentPackages"
ITEM = f"{COLLECTION}/{{packageId}}"
JSON_TYPES = ("application/json",)
ARCHIVE_TYPES = ("application/gzip", "application/x-gzip", "application/octet-stream")
MULTIPART = "multipart/form-data"
# Media types API Gateway must pass through as binary (for app.py: `app.api.binary_types.extend(...)`).
BINARY_TYPES = ("application/gzip", "application/x-gzip", MULTIPART)
_MULTIPART_OVERHEAD = 64 * 1024  # boundaries and part headers around the archive

blueprint = Blueprint(__name__)
router = Router(blueprint, tag="packages")


class PackageUrlRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)

    # The O2dms reference example spells it `packageURL`; accept both.
    package_url: str = Field(
        validation_alias=AliasChoices("packageUrl", "packageURL"),
        max_length=2048,
        description="https URL of a chart archive (.tgz); redirects are not followed",
    )
    checksum: str = Field(pattern=CHECKSUM_PATTERN, description="sha256:<hex> the fetched archive must match")
    package_type: PackageType = Field(default=PackageType.HELM, alias="packageType")


class SourcePackageRequest(BaseModel):
    """A chart a GitOps backend (ArgoCD, Flux) fetches itself: registered by reference, nothing downloaded."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)

    package_type: Literal["helm-repo", "git"] = Field(alias="packageType")
    repository_url: str = Field(alias="repositoryUrl", min_length=1, max_length=2048,
                                pattern=r"^(https?://|oci://|ssh://|git@)\S+$",
                                description="Helm repository: http(s):// or oci://; Git: http(s)://, ssh:// or git@ "
                                "(plain http for in-cluster repositories such as ChartMuseum)")
    chart: str | None = Field(default=None, min_length=1, max_length=253, description="helm-repo: the chart name")
    path: str | None = Field(default=None, min_length=1, max_length=1024, description="git: the chart directory")
    version: str = Field(min_length=1, max_length=128, description="helm-repo: chart version; git: branch, tag or "
                         "commit")
    name: str | None = Field(default=None, min_length=1, max_length=253, description="default: the chart name")
    description: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _complete(self) -> SourcePackageRequest:
        if self.package_type == "helm-repo" and not self.chart:
            raise ValueError("a helm-repo package needs 'chart'")
        if self.package_type == "git" and not (self.path and self.name):
            raise ValueError("a git package needs 'path' and 'name'")
        return self


def _store() -> PackageStore:
    return ports().package_store


def _ports() -> service.PackagePorts:
    return ports().package_ports()


def _fetch_ports() -> service.FetchPorts:
    return ports().fetch_ports()


@router.route(
    COLLECTION,
    "GET",
    summary="List deployment packages",
    scope=Scope.DMS_READ,
    query=ListQuery,
    response=DeploymentPackage,
    collection=True,
)
def list_packages(query: ListQuery) -> Response:
    from chalicelib.services import packages as service
    from chalicelib.services.paging import ListRequest

    request = ListRequest(query.selection(), query.page_size(), query.parsed_filter(), query.marker(),
                          codec=marker_codec())
    return page_response(blueprint.current_request, service.list_packages(_store(), request, access=current_access()))


@router.route(
    ITEM,
    "GET",
    summary="One deployment package",
    scope=Scope.DMS_READ,
    query=SelectorQuery,
    response=DeploymentPackage,
    responses=(404,),
)
def get_package(packageId: str, query: SelectorQuery) -> dict[str, Any]:
    from chalicelib.services import packages as service

    return service.get_package(_store(), packageId, query.selection(), access=current_access())


@router.route(
    ITEM,
    "DELETE",
    summary="Delete a deployment package (409 while a deployment uses it)",
    scope=Scope.DMS_WRITE,
    responses=(404, 409),
)
def delete_package(packageId: str) -> Response:
    from chalicelib.services import packages as service

    service.delete_package(_ports(), packageId, access=current_access())
    return Response(body="", status_code=204)


@router.raw_route(
    COLLECTION,
    "POST",
    summary="Upload a deployment package: a chart archive, a packageUrl netweave fetches, or a repository reference",
    scope=Scope.DMS_WRITE,
    content_types=[*JSON_TYPES, *ARCHIVE_TYPES, MULTIPART],
    body=PackageUrlRequest,
    alternatives=(SourcePackageRequest,),
    other_bodies={
        **{media: {"type": "string", "format": "binary", "description": "the chart archive (.tgz)"}
           for media in ARCHIVE_TYPES},
        MULTIPART: {"type": "object", "required": ["file"], "properties": {
            "file": {"type": "string", "format": "binary", "description": "the chart archive (.tgz)"},
            "checksum": {"type": "string", "pattern": CHECKSUM_PATTERN,
                         "description": "sha256:<hex> the archive must match"}}},
    },
    headers=({"name": "Content-Digest", "in": "header", "required": False, "schema": {"type": "string"},
              "description": "RFC 9530, for an archive body: its sha-256 member (sha-256=:<base64>:) is checked"},),
    response=DeploymentPackage,
    status=201,
    responses=(400, 409, 413, 415, 422),
)
def create_package() -> Response:
    request = blueprint.current_request
    created = _create(_media_type(request.headers.get("content-type")), request.raw_body or b"")
    return Response(
        body=created,
        status_code=201,
        headers={"Location": f"{COLLECTION}/{created['packageId']}", "Content-Type": "application/json"},
    )


def _create(media_type: str, raw: bytes) -> dict[str, Any]:
    from chalicelib.services import packages as service
    from chalicelib.services.package_archive import ArchiveLimits

    owner = current_access().tenant  # recorded in every mode; decides visibility with NETWEAVE_PACKAGES_PER_TENANT
    limit = ArchiveLimits().max_compressed
    if len(raw) > limit + (_MULTIPART_OVERHEAD if media_type == MULTIPART else 0):
        raise PackageTooLarge(f"request body: {len(raw)} bytes; a chart archive may have at most {limit}")
    if media_type in JSON_TYPES:
        if _declares_source_type(raw):
            source = parse_body(SourcePackageRequest, raw)
            assert isinstance(source, SourcePackageRequest)
            return service.register_source(_ports(), service.SourcePackage(
                PackageType(source.package_type), source.repository_url, source.version,
                source.name or str(source.chart), source.chart, source.path, source.description), owner)
        body = parse_body(PackageUrlRequest, raw)
        assert isinstance(body, PackageUrlRequest)
        return service.upload_from_url(_ports(), _fetch_ports(), body.package_url, body.checksum, owner)
    if media_type in ARCHIVE_TYPES:
        digest = blueprint.current_request.headers.get("content-digest")
        return service.upload(_ports(), raw, expected_digest=parse_content_digest(digest) if digest else None,
                              owner=owner)
    if media_type == MULTIPART:
        archive, checksum = multipart_upload(request_content_type(), raw)
        return service.upload(_ports(), archive, expected_digest=parse_checksum(checksum) if checksum else None,
                              owner=owner)
    raise UnsupportedMediaType(f"Content-Type '{media_type}' is not accepted here")


def _declares_source_type(raw: bytes) -> bool:
    """A JSON body whose packageType is helm-repo or git registers a reference; any other is a packageUrl upload."""
    try:
        document = read_json(raw)
    except BadRequest:
        return False  # parse_body reports the JSON error
    return isinstance(document, dict) and document.get("packageType") in ("helm-repo", "git")


def request_content_type() -> str:
    return str(blueprint.current_request.headers.get("content-type", ""))


def _media_type(header: str | None) -> str:
    return (header or "").split(";", 1)[0].strip().lower()


def multipart_upload(content_type: str, raw: bytes) -> tuple[bytes, str | None]:
    """The `file` part of a multipart/form-data body and its optional `checksum` part (`sha256:<hex>`), parsed with
    the stdlib MIME parser (the body is already size-capped, so parsing it whole is bounded)."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", "replace")
    from email import policy as email_policy  # only multipart uploads need the MIME parser
    from email.message import EmailMessage
    from email.parser import BytesParser

    message = BytesParser(policy=email_policy.HTTP).parsebytes(head + raw)
    if not message.is_multipart():
        raise BadRequest("multipart/form-data: the body has no parts (is the boundary right?)")
    parts = {part.get_param("name", header="content-disposition"): part.get_payload(decode=True)
             for part in (message.iter_parts() if isinstance(message, EmailMessage) else ())}
    if "file" not in parts:
        raise BadRequest("multipart/form-data: no part named 'file' (the chart archive)")
    archive, checksum = parts["file"], parts.get("checksum")
    if not isinstance(archive, bytes) or not archive:
        raise BadRequest("multipart/form-data: the 'file' part is empty")
    return archive, checksum.decode("ascii", "replace").strip() if isinstance(checksum, bytes) else None
