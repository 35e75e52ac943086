"""O2dms deployment packages (`/o2dms/v1/deploymentPackages`): the wire model, its selector schema, and the errors a
package upload can meet. Pure: no AWS, no subprocess, no network.

Name, version, appVersion and description always come from the chart itself (Chart.yaml, read by `helm show chart`),
never from the client: a package's identity cannot disagree with the artifact deployments will install.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import Field

from chalicelib.domain.errors import NetweaveError, UnprocessableContent
from chalicelib.domain.models import WireModel
from chalicelib.domain.selectors import SelectorSchema

CHECKSUM_PATTERN = r"^sha256:[0-9a-f]{64}$"
_CHECKSUM = re.compile(CHECKSUM_PATTERN)
# Helm's naming rule for charts (lower-case letters, digits and dashes, starting with a letter), held strictly and
# capped at 63 characters: a chart name becomes a directory name when netweave rebuilds a release's chart, so it must
# never be able to carry a '/', '..' or anything else a path can be made of.
MAX_CHART_NAME = 63
CHART_NAME_PATTERN = r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$"
_CHART_NAME = re.compile(CHART_NAME_PATTERN)
UPLOAD_SOURCE = "upload"


class PackageType(StrEnum):
    HELM = "helm"  # a chart archive netweave stores (Helm backend)
    HELM_REPO = "helm-repo"  # a chart in a Helm or OCI repository a GitOps tool fetches itself
    GIT = "git"  # a chart directory in a Git repository a GitOps tool fetches itself

    @property
    def has_archive(self) -> bool:
        return self is PackageType.HELM


class DeploymentPackage(WireModel):
    package_id: str = Field(alias="packageId")
    name: str
    version: str
    app_version: str | None = Field(default=None, alias="appVersion")
    description: str | None = None
    package_type: PackageType = Field(default=PackageType.HELM, alias="packageType")
    checksum: str | None = Field(default=None, pattern=CHECKSUM_PATTERN,
                                 description="sha256:<hex> of the chart archive as stored (helm packages)")
    size: int | None = Field(default=None, ge=0, description="bytes of the chart archive (helm packages)")
    uploaded_at: str = Field(alias="uploadedAt", description="RFC 3339 UTC")
    source: str = Field(description="the packageUrl it was fetched from, 'upload', or the repository URL")
    repository_url: str | None = Field(default=None, alias="repositoryUrl",
                                       description="helm-repo and git packages: where the GitOps tool fetches it")
    chart: str | None = Field(default=None, description="helm-repo packages: the chart's name in the repository")
    path: str | None = Field(default=None, description="git packages: the chart directory in the repository")
    extensions: dict[str, Any] = Field(default_factory=dict)
    # The uploader's tenant (docs/o2-conventions.md §6, "Tenancy"): stored beside the document, never shown, since
    # the catalogue is shared by default. It decides visibility only with NETWEAVE_PACKAGES_PER_TENANT.
    owner: str | None = Field(default=None, exclude=True)

    @property
    def digest(self) -> str:
        """The bare hex digest: the S3 object's content address (helm packages only)."""
        if self.checksum is None:
            raise ValueError(f"package {self.package_id} ({self.package_type}) has no archive")
        return self.checksum.removeprefix("sha256:")


PACKAGE_SELECTOR_SCHEMA = SelectorSchema(
    attributes=frozenset(f.alias or name for name, f in DeploymentPackage.model_fields.items()),
    identifiers=frozenset({"packageId"}),
)


@dataclass(frozen=True)
class ChartMetadata:
    """What netweave keeps from Chart.yaml."""

    name: str
    version: str
    app_version: str | None = None
    description: str | None = None


def chart_name_problem(name: object) -> str | None:
    """Why `name` is not a chart name netweave accepts, or None when it is one."""
    if not isinstance(name, str) or not name:
        return "must be a non-empty string"
    if len(name) > MAX_CHART_NAME:
        return f"must be at most {MAX_CHART_NAME} characters"
    if not _CHART_NAME.fullmatch(name):
        return "must be lower-case letters, digits and '-', starting with a letter and not ending with '-'"
    return None


def parse_checksum(text: str) -> str:
    """`sha256:<hex>` → the hex digest (lower case); anything else is a 400."""
    normalised = text.strip().lower()
    if not _CHECKSUM.fullmatch(normalised):
        raise PackageRequestInvalid("checksum: must be 'sha256:' followed by 64 hex digits")
    return normalised.removeprefix("sha256:")


def parse_content_digest(header: str) -> str:
    """The sha-256 member of an RFC 9530 `Content-Digest` header (`sha-256=:<base64>:`, possibly among others) → the
    hex digest; a header without a usable sha-256 member is a 400 (a digest netweave cannot check must not pass as
    checked)."""
    for member in header.split(","):
        algorithm, _, value = member.strip().partition("=")
        if algorithm.strip().lower() != "sha-256":
            continue
        value = value.strip()
        if len(value) < 2 or value[0] != ":" or value[-1] != ":":
            raise PackageRequestInvalid("Content-Digest: sha-256 must be a byte sequence, ':<base64>:'")
        try:
            raw = base64.b64decode(value[1:-1], validate=True)
        except (ValueError, binascii.Error):
            raise PackageRequestInvalid("Content-Digest: sha-256 is not valid base64") from None
        if len(raw) != 32:
            raise PackageRequestInvalid(f"Content-Digest: sha-256 must be 32 bytes, not {len(raw)}")
        return raw.hex()
    raise PackageRequestInvalid("Content-Digest: netweave checks sha-256 only; send sha-256=:<base64>:")


class PackageRequestInvalid(NetweaveError):
    status = 400
    title = "Bad Request"
    slug = "bad-request"


class PackageRejected(UnprocessableContent):
    """The request was well formed, but its artifact is not an acceptable chart (broken, unsafe, wrong digest,
    unreachable, redirected): 422, and nothing is stored."""

    slug = "invalid-package"


class ChecksumMismatch(PackageRejected):
    slug = "checksum-mismatch"


class PackageTooLarge(NetweaveError):
    status = 413
    title = "Content Too Large"
    slug = "package-too-large"


class DuplicatePackage(NetweaveError):
    status = 409
    title = "Conflict"
    slug = "duplicate-package"


class PackageInUse(NetweaveError):
    status = 409
    title = "Conflict"
    slug = "package-in-use"
