"""Pure mapping for the `helm` DMS backend: helm's JSON and Kubernetes objects to port types, helm's error text to
domain errors, and a release record back to chart files. No I/O here, so all of it is unit-tested without a cluster.
"""

from __future__ import annotations

import base64
import json
import re
import zlib
from typing import Any, Literal

import yaml

from chalicelib.adapters.dms.port import (
    PodStatus,
    ReleaseState,
    ReleaseStatus,
    Revision,
    WorkloadStatus,
    is_release_state,
)

ErrorKind = Literal["not-found", "unavailable", "failed"]
MAX_MESSAGE = 600
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")
# Decompressed size of one release record: helm keeps a whole chart in a Secret of at most 1 MiB (gzipped), far
# below this; a record beyond it is forged.
MAX_RELEASE_RECORD = 16 * 1024 * 1024

# What helm prints when it never reached the API server (as opposed to the server refusing something: "forbidden"
# is RBAC saying no, which a retry cannot change, so it fails the operation with helm's words).
_UNAVAILABLE = re.compile(
    r"kubernetes cluster unreachable|connection refused|no such host|i/o timeout|dial tcp|tls handshake|"
    r"x509:|connection reset|server has asked for the client to provide credentials|unauthorized|"
    r"the server could not find the requested resource \(get version\)|kubeconfig|invalid configuration",
)
_NOT_FOUND = re.compile(r"release: not found|release not loaded|has no deployed releases")
# Credentials that could appear in an error line (bearer tokens, URL user-info, key=value secrets).
_SECRETS = (
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1***"),
    (re.compile(r"(?i)(://)[^/@\s]+@"), r"\1***@"),
    (re.compile(r"(?i)\b(token|password|passwd|secret|apikey|api_key)(\s*[=:]\s*)\S+"), r"\1\2***"),
)


def classify_error(stderr: str) -> ErrorKind:
    """Which domain error a failed helm command means. Connection problems win: helm can print a not-found
    alongside them when it could not read the release storage at all."""
    text = " ".join(_error_lines(stderr)).lower()
    if _UNAVAILABLE.search(text):
        return "unavailable"
    if _NOT_FOUND.search(text):
        return "not-found"
    return "failed"


def _error_lines(stderr: str) -> list[str]:
    """helm prints warnings (e.g. about kubeconfig file permissions) before the error; the error is what matters."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    # "Error: 1 error occurred:" is followed by the errors themselves as "* ..." lines: they are the message.
    return [line for line in lines if line.lower().startswith(("error", "* "))] or lines


def helm_message(stderr: str) -> str:
    """helm's own words, fit for an API client: no `Error:` prefix, secrets masked, one paragraph, bounded."""
    text = " ".join(re.sub(r"^error:\s*", "", line, flags=re.IGNORECASE) for line in _error_lines(stderr))
    text = text or "helm failed"
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def with_waiting_pods(message: str, pods: list[dict[str, Any]], limit: int = 5) -> str:
    """Append the pods that are not ready (and why) to a readiness-timeout message."""
    waiting = [status for status in map(pod_status, pods) if not status.ready]
    if not waiting:
        return message
    said: set[str] = set()
    named = [f"{p.name} {p.reason or p.phase}" + (f" ({p.restarts} restarts)" if p.restarts else "")
             + p.message_once(said) for p in sorted(waiting, key=lambda p: p.name)[:limit]]
    more = f" and {len(waiting) - limit} more" if len(waiting) > limit else ""
    return f"{message}; pods not ready: {', '.join(named)}{more}"


def release_state(value: Any) -> ReleaseState:
    state = str(value or "unknown").lower()
    return state if is_release_state(state) else "unknown"


def release_status(metadata: dict[str, Any], workloads: list[WorkloadStatus], pods: list[PodStatus],
                   owner: str | None = None) -> ReleaseStatus:
    """From `helm get metadata -o json` (one call gives revision, state and chart) and the cluster's view."""
    return ReleaseStatus(
        name=str(metadata["name"]), namespace=str(metadata["namespace"]), revision=int(metadata["revision"]),
        status=release_state(metadata.get("status")), chart_name=str(metadata.get("chart") or ""),
        chart_version=str(metadata.get("version") or ""), app_version=metadata.get("appVersion") or None,
        updated_at=metadata.get("deployedAt") or None, workloads=workloads, pods=pods, owner=owner,
    )


# Go's reference layout for RFC 3339: `helm list --time-format` then prints `updated` as RFC 3339, as `status` has it.
RFC3339_LAYOUT = "2006-01-02T15:04:05Z07:00"
_SEMVER = re.compile(r"v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?")


def listed_release_status(entry: dict[str, Any], workloads: list[WorkloadStatus], pods: list[PodStatus],
                          owner: str | None = None) -> ReleaseStatus:
    """From one entry of `helm list --output json` (revision, state, chart, app version: what `helm get metadata`
    tells of one release) and the cluster's view."""
    chart_name, chart_version = listed_chart(str(entry.get("chart") or ""))
    return ReleaseStatus(
        name=str(entry["name"]), namespace=str(entry["namespace"]), revision=int(entry["revision"]),
        status=release_state(entry.get("status")), chart_name=chart_name, chart_version=chart_version,
        app_version=entry.get("app_version") or None, updated_at=entry.get("updated") or None, workloads=workloads,
        pods=pods, owner=owner,
    )


def listed_chart(text: str) -> tuple[str, str]:
    """`helm list` prints a chart as `<name>-<version>`. A name may hold `-<digit>` itself (`du-2`) and a version
    `-` (`1.0.0-rc-1`), so the version is the longest tail after a `-` that is a whole SemVer version (as helm wants
    chart versions); a looser version is what follows the last `-`."""
    for index, char in enumerate(text):
        if char == "-" and _SEMVER.fullmatch(text, index + 1):
            return text[:index], text[index + 1:]
    name, _, version = text.rpartition("-")
    return (name, version) if name else (text, "")


def labels_by_release(secrets: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """The labels of each release's latest revision among one namespace's helm storage Secrets (helm labels each with
    the release's `name`), so the ownership markers of all its releases come from one list."""
    by_release: dict[str, list[dict[str, Any]]] = {}
    for item in secrets:
        name = ((item.get("metadata") or {}).get("labels") or {}).get("name")
        if name:
            by_release.setdefault(str(name), []).append(item)
    return {name: latest_release_labels(items) or {} for name, items in by_release.items()}


def revision(entry: dict[str, Any]) -> Revision:
    """One entry of `helm history -o json`."""
    return Revision(
        revision=int(entry["revision"]), status=release_state(entry.get("status")), chart=str(entry.get("chart", "")),
        app_version=entry.get("app_version") or None, updated_at=entry.get("updated") or None,
        description=entry.get("description") or None,
    )


def workload_status(kind: str, obj: dict[str, Any]) -> WorkloadStatus:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    if kind == "DaemonSet":
        desired = int(status.get("desiredNumberScheduled") or 0)
        ready, available = int(status.get("numberReady") or 0), int(status.get("numberAvailable") or 0)
    else:
        # A Deployment without `replicas` means 1 (the API default); StatefulSets have no `availableReplicas`
        # before 1.22-era servers, so fall back to ready.
        desired = int(spec.get("replicas", 1) if spec.get("replicas") is not None else 1)
        ready = int(status.get("readyReplicas") or 0)
        available = int(status.get("availableReplicas", ready) or 0)
    return WorkloadStatus(kind=kind, name=str(obj["metadata"]["name"]), desired=desired, ready=ready,
                          available=available)


def pod_status(pod: dict[str, Any]) -> PodStatus:
    status = pod.get("status") or {}
    containers = status.get("containerStatuses") or []
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    ready = (conditions.get("Ready") or {}).get("status") == "True"
    return PodStatus(
        name=str(pod["metadata"]["name"]), phase=str(status.get("phase") or "Unknown"), ready=ready,
        restarts=sum(int(c.get("restartCount") or 0) for c in containers),
        reason=None if ready else _not_ready_reason(status, containers, conditions),
        message=_scheduling_message(conditions),
    )


def _scheduling_message(conditions: dict[Any, dict[str, Any]]) -> str | None:
    """Why the scheduler placed the pod nowhere, in its own words (bounded: it counts every node's reason)."""
    scheduled = conditions.get("PodScheduled") or {}
    if scheduled.get("status") != "False" or scheduled.get("reason") != "Unschedulable":
        return None
    text = str(scheduled.get("message") or "").strip()
    return (text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…") or None


def _not_ready_reason(status: dict[str, Any], containers: list[dict[str, Any]],
                      conditions: dict[Any, dict[str, Any]]) -> str | None:
    """The most specific reason: a container's waiting/terminated reason, else the pod's, else a condition's."""
    for container in containers:
        state = container.get("state") or {}
        for phase in ("waiting", "terminated"):
            if (state.get(phase) or {}).get("reason"):
                return str(state[phase]["reason"])
    if status.get("reason"):
        return str(status["reason"])
    for name in ("PodScheduled", "ContainersReady", "Ready"):
        condition = conditions.get(name) or {}
        if condition.get("status") == "False":
            return str(condition.get("reason") or f"{name}=False")
    return None


def decode_release_record(data: str, limit: int = MAX_RELEASE_RECORD) -> dict[str, Any]:
    """The `release` field of helm's storage Secret, as the API returns it: base64 (Kubernetes) of base64 (helm)
    of gzip (usually) of the release JSON. The Secret may be forged (docs/security.md, "Confinement"), so at most
    `limit` bytes are decompressed: a 1 MiB Secret could otherwise unpack to a GiB in the worker."""
    raw = base64.b64decode(base64.b64decode(data))
    if raw[:2] == b"\x1f\x8b":
        unzip = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # gzip framing
        try:
            raw = unzip.decompress(raw, limit + 1)
        except zlib.error as error:
            raise ValueError(f"release record is not valid gzip ({error})") from None
        if len(raw) > limit:
            raise ValueError(f"release record unpacks to more than {limit} bytes")
    record: dict[str, Any] = json.loads(raw)
    return record


def chart_files(release: dict[str, Any]) -> dict[str, bytes]:
    """The chart stored in a release record, as files relative to the chart directory.

    helm keeps the whole chart with each revision, but not its subcharts: a chart with dependencies cannot be
    rebuilt, so that raises ValueError rather than silently dropping resources on the next upgrade."""
    chart = release.get("chart") or {}
    metadata = chart.get("metadata") or {}
    if metadata.get("dependencies"):
        raise ValueError(f"chart {metadata.get('name')} has dependencies, which helm does not keep in the release")
    files: dict[str, bytes] = {
        "Chart.yaml": yaml.safe_dump(metadata, sort_keys=False).encode(),
        "values.yaml": yaml.safe_dump(chart.get("values") or {}, sort_keys=False).encode(),
    }
    if chart.get("schema"):
        files["values.schema.json"] = base64.b64decode(chart["schema"])
    for entry in [*(chart.get("templates") or []), *(chart.get("files") or [])]:
        name = str(entry["name"])
        if name.startswith("/") or ".." in name.split("/"):
            raise ValueError(f"unsafe file name in release record: {name!r}")
        files[name] = base64.b64decode(entry.get("data") or "")
    return files


def latest_release_labels(secrets: list[dict[str, Any]]) -> dict[str, str] | None:
    """The labels of the latest revision among a release's storage Secrets (helm labels each with its `version`),
    None if there are none. The ownership marker is read from there (chalicelib/domain/ownership.py)."""
    def version(item: dict[str, Any]) -> int:
        text = str(((item.get("metadata") or {}).get("labels") or {}).get("version") or "")
        return int(text) if text.isdigit() else -1

    if not secrets:
        return None
    labels = (max(secrets, key=version).get("metadata") or {}).get("labels") or {}
    return {str(key): str(value) for key, value in labels.items()}
