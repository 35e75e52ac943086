"""Pure mapping for the `flux` DMS backend: a ChartSource to Flux source objects and a HelmRelease, and a
HelmRelease's status back to port types. No I/O here, so all of it is unit-tested without a cluster.

Sources: a helm-repo package's repository becomes a HelmRepository (an `oci://` one an OCIRepository at the chart
version); a git package's repository a GitRepository at the package `version`, read as a Git ref by `git_ref`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any, Literal

from chalicelib.adapters.dms.port import (
    ChartSource,
    DeploymentFailed,
    PodStatus,
    ReleaseSpec,
    ReleaseState,
    ReleaseStatus,
    Revision,
    WorkloadStatus,
    is_release_state,
)
from chalicelib.domain.ownership import DEPLOYMENT_LABEL, MANAGED_BY_LABEL, deployment_labels
from chalicelib.domain.ownership import MANAGED_BY as MANAGED_BY_VALUE

Obj = dict[str, Any]
HELM_GROUP, HELM_VERSION, HELMRELEASES = "helm.toolkit.fluxcd.io", "v2", "helmreleases"
SOURCE_GROUP = "source.toolkit.fluxcd.io"
# Sources are shared by every release that installs from the same repository: they carry netweave's mark, not a
# deployment's (chalicelib/domain/ownership.py).
MANAGED_BY = {MANAGED_BY_LABEL: MANAGED_BY_VALUE}
Outcome = Literal["ready", "failed", "pending"]
_NOT_DNS = re.compile(r"[^a-z0-9-]+")
_MAX_NAME = 63
_COMMIT = re.compile(r"^[0-9a-fA-F]{40}$")
# A release tag: a SemVer-like version, `v` prefix allowed (1, 1.2, v1.2.3, 2.0.0-rc.1, v1.0.0+build.5).
_TAG = re.compile(r"^v?\d+(\.\d+)*([-+][0-9A-Za-z.+-]+)?$")


@dataclass(frozen=True)
class FluxSource:
    """The Flux source object a release installs from: kind, API version, plural, name and the whole body."""

    kind: Literal["HelmRepository", "OCIRepository", "GitRepository"]
    version: str
    plural: str
    name: str
    body: Obj


def source_name(url: str, salt: str = "") -> str:
    """A stable DNS-1123 name for a repository URL: a readable slug of host and path plus a short hash of the
    exact URL (two URLs that slug alike still differ)."""
    digest = hashlib.sha256(f"{url}\n{salt}".encode()).hexdigest()[:8]
    bare = url.split("://", 1)[-1].lower()
    slug = _NOT_DNS.sub("-", bare).strip("-")
    slug = slug[: _MAX_NAME - len(digest) - 1].strip("-")
    return f"{slug}-{digest}" if slug else f"repo-{digest}"


def git_ref(version: str) -> Obj:
    """The GitRepository `spec.ref` for a git package's `version`: 40 hex digits are a commit; a version number
    (`v` prefix allowed: `2.1.0`, `v1.2`, `1.0.0-rc.1`) is a tag; anything else (`main`, `release/2.x`) a branch.
    A tag that is not a version number cannot be named this way (it would be read as a branch)."""
    if _COMMIT.fullmatch(version):
        return {"commit": version.lower()}
    if _TAG.fullmatch(version):
        return {"tag": version}
    return {"branch": version}


def chart_source(spec: ReleaseSpec, namespace: str, interval: str) -> FluxSource:
    """The source object for `spec.source`: an `oci://` repository becomes an OCIRepository that points at the
    chart itself at tag = chart version (so its name includes the version), a git package a GitRepository at its
    ref (named after URL and ref), anything else a HelmRepository."""
    source = require_source(spec)
    metadata: Obj = {"namespace": namespace, "labels": dict(MANAGED_BY)}
    if source.kind == "git":
        name = source_name(source.repo_url, source.revision)
        body: Obj = {"apiVersion": f"{SOURCE_GROUP}/v1", "kind": "GitRepository",
                     "metadata": {**metadata, "name": name},
                     "spec": {"interval": interval, "url": source.repo_url, "ref": git_ref(source.revision)}}
        return FluxSource("GitRepository", "v1", "gitrepositories", name, body)
    chart = str(source.chart)
    if source.repo_url.startswith("oci://"):
        base = source.repo_url.rstrip("/")
        url = base if base.rsplit("/", 1)[-1] == chart else f"{base}/{chart}"
        name = source_name(url, source.revision)
        body = {"apiVersion": f"{SOURCE_GROUP}/v1beta2", "kind": "OCIRepository",
                     "metadata": {**metadata, "name": name},
                     "spec": {"interval": interval, "url": url, "ref": {"tag": source.revision},
                              "layerSelector": {"mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
                                                "operation": "copy"}}}
        return FluxSource("OCIRepository", "v1beta2", "ocirepositories", name, body)
    name = source_name(source.repo_url)
    body = {"apiVersion": f"{SOURCE_GROUP}/v1", "kind": "HelmRepository", "metadata": {**metadata, "name": name},
            "spec": {"interval": interval, "url": source.repo_url}}
    return FluxSource("HelmRepository", "v1", "helmrepositories", name, body)


def require_source(spec: ReleaseSpec) -> ChartSource:
    source = spec.source
    if source is None:
        raise DeploymentFailed("Flux installs from a package's repository: the release has no chart source")
    if source.kind == "git":
        if not source.path:
            raise DeploymentFailed("Flux needs the chart path of the git package")
        return source
    if source.kind != "helm-repo":
        raise DeploymentFailed(f"Flux needs a helm-repo or git package, not a {source.kind} source")
    if not source.chart:
        raise DeploymentFailed("Flux needs the chart name of the helm-repo package")
    return source


def awaited_revision(spec: ReleaseSpec) -> str | None:
    """The `lastAttemptedRevision` a reconcile of `spec` ends at: the chart version of a helm-repo package; None
    for a git package, whose chart version is whatever Chart.yaml says at the ref (with Flux's `+<commit>`)."""
    if spec.source is None or spec.source.kind == "git":
        return None
    return spec.source.revision


def release_spec(spec: ReleaseSpec, source: FluxSource, interval: str, timeout_seconds: int | None = None) -> Obj:
    """`spec` of the HelmRelease: releaseName = name, the chart from the source, no automatic remediation; Flux's
    Helm actions wait `timeout_seconds` for the workload (Flux's default, 5m, when None). A chart in Git is the
    directory `path` of the GitRepository, its version the one in its Chart.yaml; `reconcileStrategy: Revision`
    makes a new commit at the ref a new chart version (a branch's new commits are deployed)."""
    chart_source_ = require_source(spec)
    ref = {"kind": source.kind, "name": source.name, "namespace": source.body["metadata"]["namespace"]}
    body: Obj = {"interval": interval, "releaseName": spec.name, "values": dict(spec.values),
                 "timeout": f"{timeout_seconds}s" if timeout_seconds else None,
                 "install": {"createNamespace": True, "remediation": {"retries": 0}},
                 "upgrade": {"remediation": {"retries": 0, "strategy": "none"}}}
    if source.kind == "OCIRepository":
        body["chartRef"] = ref
        body["chart"] = None  # drops a chart.spec left by an earlier HelmRepository install (merge patch)
    elif source.kind == "GitRepository":
        body["chart"] = {"spec": {"chart": chart_source_.path, "sourceRef": ref, "reconcileStrategy": "Revision"}}
        body["chartRef"] = None
    else:
        body["chart"] = {"spec": {"chart": chart_source_.chart, "version": chart_source_.revision,
                                  "sourceRef": ref}}
        body["chartRef"] = None
    return body


def helm_release(spec: ReleaseSpec, source: FluxSource, interval: str, timeout_seconds: int | None = None) -> Obj:
    body = {k: v for k, v in release_spec(spec, source, interval, timeout_seconds).items() if v is not None}
    return {"apiVersion": f"{HELM_GROUP}/{HELM_VERSION}", "kind": "HelmRelease",
            "metadata": {"name": spec.name, "namespace": spec.namespace, "labels": deployment_labels(spec.owner)},
            "spec": body}


def ready_condition(release: Obj) -> Obj:
    conditions = (release.get("status") or {}).get("conditions") or []
    found: Obj = next((c for c in conditions if c.get("type") == "Ready"), {})
    return found


def outcome(release: Obj, generation: int, version: str | None) -> Outcome:
    """Where a reconcile of `generation` stands: ready (for `version`), failed, or still pending."""
    status = release.get("status") or {}
    if int(status.get("observedGeneration") or 0) < generation:
        return "pending"
    ready = ready_condition(release)
    if ready.get("status") == "False" and str(ready.get("reason", "")).endswith("Failed"):
        return "failed"
    if ready.get("status") == "True" and (not version or status.get("lastAttemptedRevision") == version):
        return "ready"
    return "pending"


def failure_message(release: Obj) -> str:
    ready = ready_condition(release)
    return str(ready.get("message") or ready.get("reason") or "the HelmRelease is not ready")


def release_state(release: Obj) -> ReleaseState:
    if release["metadata"].get("deletionTimestamp"):
        return "uninstalling"
    ready = ready_condition(release)
    if ready.get("status") == "True":
        return "deployed"
    if ready.get("status") == "False" and str(ready.get("reason", "")).endswith("Failed"):
        return "failed"
    return "pending-upgrade" if (release.get("status") or {}).get("history") else "pending-install"


def _history(release: Obj) -> list[Obj]:
    history: list[Obj] = (release.get("status") or {}).get("history") or []
    return history


def _entry_revision(entry: Obj, fallback: int) -> int:
    try:
        return int(entry.get("version") or fallback)
    except (TypeError, ValueError):
        return fallback


def _spec_chart(release: Obj) -> tuple[str, str]:
    spec = release.get("spec") or {}
    chart_spec = (spec.get("chart") or {}).get("spec") or {}
    return str(chart_spec.get("chart") or ""), str(chart_spec.get("version") or "")


def release_status(release: Obj, workloads: list[WorkloadStatus], pods: list[PodStatus]) -> ReleaseStatus:
    """revision = the newest history snapshot's Helm release number (= the number of snapshots until Flux prunes
    its history to 5); the chart as last attempted."""
    status = release.get("status") or {}
    history = _history(release)
    newest = history[0] if history else {}
    spec_chart, spec_version = _spec_chart(release)
    ready = ready_condition(release)
    return ReleaseStatus(
        name=release["metadata"]["name"], namespace=release["metadata"].get("namespace", ""),
        revision=_entry_revision(newest, len(history)) if history else 0, status=release_state(release),
        chart_name=str(newest.get("chartName") or spec_chart),
        chart_version=str(status.get("lastAttemptedRevision") or spec_version or newest.get("chartVersion") or ""),
        app_version=newest.get("appVersion"), updated_at=ready.get("lastTransitionTime"),
        workloads=workloads, pods=pods, owner=labels(release).get(DEPLOYMENT_LABEL),
        details={"flux": {"ready": ready.get("status"), "reason": ready.get("reason"),
                          "message": ready.get("message"),
                          "lastAttemptedRevision": status.get("lastAttemptedRevision")}})


def labels(obj: Obj) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("labels") or {})


# The states a HelmRelease history entry can carry (Flux records Helm's own).
_HISTORY_STATES = frozenset({"deployed", "failed", "superseded", "uninstalling", "pending-install", "pending-upgrade",
                             "pending-rollback"})


def _entry_state(value: Any) -> ReleaseState:
    text = str(value or "").lower()
    return text if text in _HISTORY_STATES and is_release_state(text) else "unknown"


def revisions(release: Obj) -> list[Revision]:
    """The history snapshots, oldest first."""
    history = list(reversed(_history(release)))
    return [Revision(revision=_entry_revision(entry, index), status=_entry_state(entry.get("status")),
                     chart=f"{entry.get('chartName', '')}-{entry.get('chartVersion', '')}",
                     app_version=entry.get("appVersion"),
                     updated_at=entry.get("lastDeployed") or entry.get("firstDeployed"),
                     description=None)
            for index, entry in enumerate(history, start=1)]
