"""The port every deployment (O2-DMS) backend implements, and the data it speaks. Services depend on this module,
never on a backend module: the `run_dms_operation` worker calls these methods and records what they return.

All methods are synchronous (the worker is); a backend that is asynchronous inside hides that. Errors leave as
domain errors only: `NotFound` (no such release), `BackendUnavailable` (cluster or tool unreachable),
`DeploymentFailed` (the backend refused or gave up, e.g. invalid chart, readiness timeout) and `NotOwned` (an object
of that name exists without the deployment's ownership marker: refused before anything changed).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Literal, Protocol, TypeGuard, get_args, runtime_checkable

from pydantic import AfterValidator

from chalicelib.adapters.registry import AdapterRegistry
from chalicelib.domain.capabilities import Capability
from chalicelib.domain.errors import NetweaveError, UnprocessableContent

ReleaseState = Literal[
    "deployed", "failed", "pending-install", "pending-upgrade", "pending-rollback", "uninstalling", "superseded",
    "unknown",
]
RELEASE_STATES: frozenset[str] = frozenset(get_args(ReleaseState))


def is_release_state(text: str) -> TypeGuard[ReleaseState]:
    return text in RELEASE_STATES


def _configured_url(value: str | None) -> str | None:
    return (value or "").rstrip("/") or None  # an unset ${VAR:-} in gateway.yaml leaves it empty: not configured


# A GitOps backend's `chartRepositoryUrl` option: where its controller reads the Helm repository netweave publishes
# of uploaded archives (the packages bucket's `charts/` prefix behind CloudFront or a proxy).
ChartRepositoryUrl = Annotated[str | None, AfterValidator(_configured_url)]


class DeploymentFailed(UnprocessableContent):
    """The backend refused the operation or gave up on it. `detail` keeps the backend's own words (trimmed,
    secrets removed) because that is what an SMO operator needs to fix a chart or values."""

    slug: ClassVar[str] = "deployment-failed"


class BackendRefused(NetweaveError):
    """The backend refused an operation before changing anything (e.g. ArgoCD rollback while automated sync is on):
    the deployment keeps its status, the operation fails with this 409 and its reason."""

    status: ClassVar[int] = 409
    title: ClassVar[str] = "Conflict"
    slug: ClassVar[str] = "backend-refused"


@dataclass(frozen=True)
class ChartSource:
    """Where a GitOps tool fetches a chart itself: a Helm repository (`repo_url` + `chart`, `revision` = chart
    version) or a Git repository (`repo_url` + `path`, `revision` = branch, tag or commit)."""

    kind: Literal["helm-repo", "git"]
    repo_url: str
    revision: str
    chart: str | None = None
    path: str | None = None


@dataclass(frozen=True)
class ReleaseSpec:
    """What to install or upgrade: a chart archive on local disk (the worker fetches it from the package store), or
    for GitOps backends a `source` the backend's own controller fetches (then `chart_path` is empty)."""

    name: str
    namespace: str
    chart_path: str
    values: dict[str, Any] = field(default_factory=dict)
    timeout_seconds: int | None = None  # None: the adapter's default
    source: ChartSource | None = None
    # The deployment this release belongs to: its objects carry it as their ownership marker, and an existing
    # object without it is refused (chalicelib/domain/ownership.py).
    owner: str = field(kw_only=True)
    # The resource pool's node selector: every pod the release runs is kept on those nodes (docs/dms.md, "Placement
    # on a resource pool"). None: anywhere the chart lets it run.
    node_selector: Mapping[str, str] | None = field(default=None, kw_only=True)
    # An upgrade that fails is undone by the backend itself (helm --atomic), where it `rolls_back_on_failure`
    # (docs/dms.md, "Deployments from templates"); by default a failure stays for the SMO to see.
    atomic: bool = field(default=False, kw_only=True)


@dataclass(frozen=True)
class WorkloadStatus:
    kind: str  # Deployment, StatefulSet, DaemonSet
    name: str
    desired: int
    ready: int
    available: int


@dataclass(frozen=True)
class PodStatus:
    name: str
    phase: str  # Pending, Running, Succeeded, Failed, Unknown
    ready: bool
    restarts: int
    reason: str | None = None  # why it is not ready, e.g. CrashLoopBackOff
    # the scheduler's explanation when it cannot place the pod (reason Unschedulable), e.g. "0/12 nodes are
    # available: 3 node(s) had untolerated taint {dedicated: vdu}, ..."
    message: str | None = None

    def message_once(self, said: set[str]) -> str:
        """` (<message>)` the first time a message is told in one text, nothing after (the pods of one workload
        usually share the scheduler's message, each of which counts every node)."""
        if not self.message or self.message in said:
            return ""
        said.add(self.message)
        return f" ({self.message})"


@dataclass(frozen=True)
class ReleaseStatus:
    name: str
    namespace: str
    revision: int
    status: ReleaseState
    chart_name: str
    chart_version: str
    app_version: str | None
    updated_at: str | None  # RFC 3339, as the backend reports it
    workloads: list[WorkloadStatus] = field(default_factory=list)
    pods: list[PodStatus] = field(default_factory=list)
    # What the backend adds in its own terms, shown under the deployment's extensions (e.g. {"argocd": {"project",
    # "syncStatus", "healthStatus", "revision"}}).
    details: dict[str, Any] = field(default_factory=dict)
    # The deployment id the release's ownership marker names; None: it has none (chalicelib/domain/ownership.py).
    owner: str | None = None

    @property
    def ready(self) -> bool:
        """Deployed, and every workload has all its desired replicas ready."""
        return self.status == "deployed" and all(w.ready >= w.desired for w in self.workloads)


@dataclass(frozen=True)
class Revision:
    revision: int
    status: ReleaseState
    chart: str  # "<name>-<version>", as helm prints it
    app_version: str | None
    updated_at: str | None
    description: str | None


@dataclass(frozen=True)
class PodLogs:
    pod: str
    container: str
    lines: list[str]


class DeploymentAdapter(Protocol):
    adapter_id: str
    package_types: frozenset[str]  # the package types it can deploy: "helm" (archives), "helm-repo", "git"
    # Where a GitOps backend reads the chart archives netweave publishes (None: it is handed the archive itself).
    archive_repository: str | None
    # Why it cannot keep a release on a resource pool's nodes (a deployment with resourcePoolId is refused with 422
    # naming it); None: it can (docs/dms.md, "Placement on a resource pool").
    placement_refusal: str | None

    @property
    def capabilities(self) -> frozenset[Capability]: ...

    def install(self, spec: ReleaseSpec) -> ReleaseStatus:
        """Install (idempotent: an existing release of `spec.owner` is upgraded) and wait until its workloads are
        ready. An existing release without that owner's marker: NotOwned, nothing changed."""
        ...

    def upgrade(self, spec: ReleaseSpec) -> ReleaseStatus:
        """Upgrade an existing release (NotFound if none) and wait; a failure leaves the release `failed`."""
        ...

    def scale(self, name: str, namespace: str, replicas: int, timeout_seconds: int | None = None, *,
              owner: str, node_selector: Mapping[str, str] | None = None) -> ReleaseStatus:
        """Upgrade with the current values plus `replicaCount`, and wait; placed like `ReleaseSpec.node_selector`."""
        ...

    def rollback(self, name: str, namespace: str, revision: int | None = None,
                 timeout_seconds: int | None = None, *, owner: str) -> ReleaseStatus:
        """Roll back to `revision` (None: the previous one) as a new revision, and wait. The revision's own manifests
        come back, with the placement they were installed with."""
        ...

    def uninstall(self, name: str, namespace: str, timeout_seconds: int | None = None, *, owner: str) -> None:
        """Idempotent: a release already gone counts as uninstalled; one without `owner`'s marker is NotOwned."""
        ...

    def status(self, name: str, namespace: str) -> ReleaseStatus: ...

    def history(self, name: str, namespace: str) -> list[Revision]:
        """Oldest first."""
        ...

    def logs(self, name: str, namespace: str, container: str | None = None, tail_lines: int | None = None,
             since_seconds: int | None = None) -> list[PodLogs]: ...


@runtime_checkable
class ReleaseLister(Protocol):
    """What a backend that can read many releases at once adds (helm: one `helm list` per namespace): the poller asks
    it once per namespace instead of calling `status` per deployment."""

    def statuses(self, namespace: str, names: Collection[str]) -> dict[str, ReleaseStatus]:
        """What `status` would answer for each of `names` in `namespace`; a name without a release is left out."""
        ...


DeploymentRegistry = AdapterRegistry[DeploymentAdapter]
