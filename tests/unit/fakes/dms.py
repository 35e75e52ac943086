"""An in-memory `DeploymentAdapter` for unit tests of services (the issue's `mock` DMS backend, kept out of the
shipped code). It follows the helm backend's observable behaviour: revisions count up, a failed upgrade leaves the
release `failed` (no automatic rollback), rollback makes a new revision, uninstall is idempotent.

Knobs: a `values` image tag `fail` makes install/upgrade raise `DeploymentFailed`; `unavailable = True` makes every
call raise `BackendUnavailable`; `calls` records each call for assertions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from chalicelib.adapters.dms.port import (
    DeploymentFailed,
    PodLogs,
    PodStatus,
    ReleaseSpec,
    ReleaseState,
    ReleaseStatus,
    Revision,
    WorkloadStatus,
)
from chalicelib.domain.capabilities import Capability
from chalicelib.domain.errors import BackendUnavailable, NotFound
from chalicelib.domain.ownership import DEPLOYMENT_LABEL, require_owned

ALL_CAPABILITIES = frozenset({Capability.DEPLOY, Capability.SCALE, Capability.UPGRADE,
                              Capability.ROLLBACK, Capability.STATUS, Capability.LOGS})


@dataclass
class _Revision:
    number: int
    state: ReleaseState
    chart_path: str
    values: dict[str, Any]
    description: str


@dataclass
class _Release:
    name: str
    namespace: str
    owner: str | None = None  # the ownership marker; None: made outside netweave (an operator's release)
    revisions: list[_Revision] = field(default_factory=list)

    @property
    def current(self) -> _Revision:
        return self.revisions[-1]


def _chart(chart_path: str) -> tuple[str, str]:
    """`vdu-1.2.0.tgz` -> ("vdu", "1.2.0"), the way `helm package` names archives."""
    name, _, version = PurePath(chart_path).name.removesuffix(".tgz").rpartition("-")
    return (name, version) if name else (version, "0.0.0")


class FakeDeploymentAdapter:
    package_types: frozenset[str] = frozenset({"helm"})
    archive_repository: str | None = None
    placement_refusal: str | None = None

    def __init__(self, adapter_id: str = "fake-dms",
                 capabilities: frozenset[Capability] = ALL_CAPABILITIES) -> None:
        self.adapter_id = adapter_id
        self._capabilities = capabilities
        self.releases: dict[tuple[str, str], _Release] = {}
        self.unavailable = False
        self.calls: list[tuple[str, str, str]] = []
        self.placements: list[tuple[str, dict[str, str] | None]] = []  # (call, node selector it was given)

    @property
    def capabilities(self) -> frozenset[Capability]:
        return self._capabilities

    def install(self, spec: ReleaseSpec) -> ReleaseStatus:
        self._enter("install", spec.name, spec.namespace)
        self.placements.append(("install", dict(spec.node_selector) if spec.node_selector else None))
        release = self.releases.setdefault((spec.namespace, spec.name),
                                           _Release(spec.name, spec.namespace, spec.owner))
        _require_owned(release, spec.owner)
        return self._deploy(release, spec.chart_path, spec.values, "Install complete")

    def upgrade(self, spec: ReleaseSpec) -> ReleaseStatus:
        release = self._owned("upgrade", spec.name, spec.namespace, spec.owner)
        self.placements.append(("upgrade", dict(spec.node_selector) if spec.node_selector else None))
        return self._deploy(release, spec.chart_path, spec.values, "Upgrade complete")

    def scale(self, name: str, namespace: str, replicas: int, timeout_seconds: int | None = None, *,
              owner: str, node_selector: Mapping[str, str] | None = None) -> ReleaseStatus:
        release = self._owned("scale", name, namespace, owner)
        self.placements.append(("scale", dict(node_selector) if node_selector else None))
        values = {**release.current.values, "replicaCount": replicas}
        return self._deploy(release, release.current.chart_path, values, "Upgrade complete")

    def rollback(self, name: str, namespace: str, revision: int | None = None,
                 timeout_seconds: int | None = None, *, owner: str) -> ReleaseStatus:
        release = self._owned("rollback", name, namespace, owner)
        target_number = revision if revision is not None else release.current.number - 1
        target = next((r for r in release.revisions if r.number == target_number), None)
        if target is None:
            raise DeploymentFailed(f"release {name} has no revision {target_number}")
        return self._deploy(release, target.chart_path, target.values, f"Rollback to {target_number}")

    def uninstall(self, name: str, namespace: str, timeout_seconds: int | None = None, *, owner: str) -> None:
        self._enter("uninstall", name, namespace)
        release = self.releases.get((namespace, name))
        if release is not None:
            _require_owned(release, owner)
        self.releases.pop((namespace, name), None)

    def status(self, name: str, namespace: str) -> ReleaseStatus:
        return self._status(self._release("status", name, namespace))

    def history(self, name: str, namespace: str) -> list[Revision]:
        release = self._release("history", name, namespace)
        return [Revision(revision=r.number, status=r.state, chart="-".join(_chart(r.chart_path)),
                         app_version=None, updated_at=None, description=r.description) for r in release.revisions]

    def logs(self, name: str, namespace: str, container: str | None = None, tail_lines: int | None = None,
             since_seconds: int | None = None) -> list[PodLogs]:
        release = self._release("logs", name, namespace)
        lines = [f"{name}: started", f"{name}: serving"]
        lines = lines[-tail_lines:] if tail_lines else lines
        return [PodLogs(pod=pod.name, container=container or "main", lines=list(lines))
                for pod in self._status(release).pods]

    # --- internals -----------------------------------------------------------------------------------------------

    def _enter(self, operation: str, name: str, namespace: str) -> None:
        self.calls.append((operation, namespace, name))
        if self.unavailable:
            raise BackendUnavailable(f"backend '{self.adapter_id}' is unavailable")

    def _release(self, operation: str, name: str, namespace: str) -> _Release:
        self._enter(operation, name, namespace)
        release = self.releases.get((namespace, name))
        if release is None:
            raise NotFound(f"no release {name} in namespace {namespace}")
        return release

    def _owned(self, operation: str, name: str, namespace: str, owner: str) -> _Release:
        release = self._release(operation, name, namespace)
        _require_owned(release, owner)
        return release

    def _deploy(self, release: _Release, chart_path: str, values: dict[str, Any], description: str
                ) -> ReleaseStatus:
        failed = str((values.get("image") or {}).get("tag")) == "fail"
        for earlier in release.revisions:
            if earlier.state == "deployed":
                earlier.state = "superseded"
        state: ReleaseState = "failed" if failed else "deployed"
        number = release.revisions[-1].number + 1 if release.revisions else 1
        release.revisions.append(_Revision(number, state, chart_path, dict(values),
                                           "context deadline exceeded" if failed else description))
        if failed:
            raise DeploymentFailed("UPGRADE FAILED: context deadline exceeded")
        return self._status(release)

    def _status(self, release: _Release) -> ReleaseStatus:
        current = release.current
        replicas = int(current.values.get("replicaCount", 1))
        ready = 0 if current.state == "failed" else replicas
        name, version = _chart(current.chart_path)
        pods = [PodStatus(name=f"{release.name}-{i}", phase="Running", ready=ready > 0, restarts=0 if ready else 3,
                          reason=None if ready else "CrashLoopBackOff") for i in range(replicas)]
        workload = WorkloadStatus(kind="Deployment", name=release.name, desired=replicas, ready=ready,
                                  available=ready)
        return ReleaseStatus(name=release.name, namespace=release.namespace, revision=current.number,
                               status=current.state, chart_name=name, chart_version=version, app_version=None,
                               updated_at=None, workloads=[workload], pods=pods, owner=release.owner)


def _require_owned(release: _Release, owner: str) -> None:
    labels = {DEPLOYMENT_LABEL: release.owner} if release.owner else {}
    require_owned(f"release '{release.name}' in namespace '{release.namespace}'", labels, owner, "label it")
