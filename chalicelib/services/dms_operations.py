"""`run_dms_operation`: run one accepted deployment operation through its DMS backend.

Safe to run twice for one message: the worker first *claims* the operation (queued, or running under an expired
lease because its worker died), so a duplicate delivery while it runs is skipped, and a finished operation is never
run again. A run that wants a retry (backend unavailable, an AWS request failing) gives its lease up before raising,
so the redelivered message can claim it; after MAX_ATTEMPTS the operation fails instead. Any other exception is a
bug: running again would only repeat it, so the operation fails at once with "internal error" (the traceback goes to
the log, never to the operation) and the message is done. Every event of an operation has an id derived from the
operation and its phase, so a re-run republishes identical events.

Order of a run: *plan* (check the package, resolve the rollback target — a refusal here changes nothing, the
deployment keeps its status), announce the start, execute through the adapter, record success or failure
(`dms_results`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from chalicelib.adapters.dms.port import (
    BackendRefused,
    ChartSource,
    DeploymentAdapter,
    DeploymentFailed,
    ReleaseSpec,
    ReleaseStatus,
)
from chalicelib.domain.capabilities import Capability, require
from chalicelib.domain.deployments import OperationStatus, OperationType
from chalicelib.domain.errors import BackendUnavailable, NetweaveError, NotFound, UnprocessableContent
from chalicelib.domain.events import utc_now_iso
from chalicelib.domain.ownership import NotOwned
from chalicelib.domain.packages import DeploymentPackage, PackageType
from chalicelib.observability import logger
from chalicelib.services.chart_index import ensure_published
from chalicelib.services.dms_results import (
    OperationPorts,
    Outcome,
    Plan,
    Run,
    abandon,
    announce_start,
    fail,
    refuse,
    rolls_back_on_failure,
    succeed,
)

MAX_ATTEMPTS = 3  # matches the queue's maxReceiveCount: the last attempt records the failure before redrive
# A lease outlives the longest helm wait by a margin, and stays well below the queue's visibility timeout, so a
# message redelivered after a crash always finds the lease expired.
LEASE_MARGIN_SECONDS = 60
UNSPECIFIED_TIMEOUT_LEASE = 840  # no timeoutSeconds: the adapter's default applies, at most the API's maximum

_NEEDS = {
    OperationType.CREATE: Capability.DEPLOY, OperationType.UPDATE: Capability.UPGRADE,
    OperationType.UPGRADE: Capability.UPGRADE, OperationType.SCALE: Capability.SCALE,
    OperationType.ROLLBACK: Capability.ROLLBACK, OperationType.DELETE: Capability.DEPLOY,
}


class OperationRefused(UnprocessableContent):
    slug = "operation-refused"


def run_operation(ports: OperationPorts, operation_id: str) -> str:
    """Run one operation; answers what happened (for the log): succeeded, failed, refused, skipped — or raises to
    be retried."""
    operation = ports.store.get_operation(operation_id)
    if operation is None or operation.status.finished:
        return "skipped"
    deployment = ports.store.get(operation.deployment_id)
    if deployment is None or deployment.active_operation_id != operation.operation_id:
        abandon(ports, operation, "the deployment no longer exists or is held by another operation")
        return "failed"
    timeout = operation.parameters.get("timeoutSeconds")
    now = int(ports.clock())
    lease = int(timeout or UNSPECIFIED_TIMEOUT_LEASE) + LEASE_MARGIN_SECONDS
    claimed = operation.model_copy(update={
        "status": OperationStatus.RUNNING, "attempts": operation.attempts + 1,
        "started_at": operation.started_at or utc_now_iso(), "lease_until": now + lease,
    })
    if not ports.store.claim_operation(claimed, now):
        return "skipped"
    run = Run(ports, claimed.with_progress(utc_now_iso(), f"attempt {claimed.attempts} started"), deployment)
    if claimed.attempts > MAX_ATTEMPTS:  # resubmitted after its last attempt died without recording anything
        fail(run, NetweaveError(f"gave up after {MAX_ATTEMPTS} attempts that did not finish"))
        return "failed"
    return _run(run, int(timeout) if timeout else None)


def _run(run: Run, timeout: int | None) -> str:
    try:
        adapter = run.ports.registry.get(run.deployment.adapter_id)
        require(adapter, _NEEDS[run.operation.operation_type])
        plan = _plan(run, adapter)
    except Exception as error:
        # Nothing has changed yet: not even an unreachable backend or a bug makes the deployment failed.
        refuse(run, _retry_or_explain(run, error))
        return "refused"
    try:
        announce_start(run)
        outcome = _execute(run, adapter, plan, timeout)
    except BackendRefused as error:
        refuse(run, error)  # nothing changed in the backend: the deployment keeps the status it had
        return "refused"
    except NotOwned as error:
        return _not_owned(run, error)
    except Exception as error:
        fail(run, _retry_or_explain(run, error), _release_after_failure(run, adapter), plan)
        return "failed"
    try:
        succeed(run, outcome)
    except Exception as error:
        if _transient(error):
            raise  # the release is done: the redelivery after the lease records it, it need not run again
        fail(run, _bug(run, error), outcome.release, plan)
        return "failed"
    return "succeeded"


def _not_owned(run: Run, error: NotOwned) -> str:
    """The release's name is taken by something netweave did not create for this deployment (docs/dms.md,
    "Ownership markers"); the adapter refused before changing anything. A create leaves the deployment failed with
    the reason (its release never existed); a delete of a deployment that never had a release of its own only
    removes netweave's record, the other object is left alone; anything else keeps the deployment's status."""
    kind = run.operation.operation_type
    if kind is OperationType.DELETE and run.prior.revision is None:
        run.progress(f"{error.detail[:300]}; this deployment never installed a release: only its record is removed")
        succeed(run, Outcome(None, Plan(run.prior.package_id, run.prior.package_version, run.prior.values)))
        return "succeeded"
    if kind is OperationType.CREATE:
        fail(run, error)  # no release status: the one found is not this deployment's to record
        return "failed"
    refuse(run, error)
    return "refused"


def _transient(error: Exception) -> bool:
    """Errors that may pass: an unreachable backend, or an AWS request (store, queues, package archives) failing.
    A request botocore refuses to send is a bug of ours, not an outage."""
    if isinstance(error, ParamValidationError):
        return False
    return isinstance(error, BackendUnavailable | BotoCoreError | ClientError)


def _retry_or_explain(run: Run, error: Exception) -> NetweaveError:
    """Raise `error` (to be retried) while attempts remain and it may pass; else the error to record."""
    if not _transient(error):
        return error if isinstance(error, NetweaveError) else _bug(run, error)
    if run.operation.attempts < MAX_ATTEMPTS:
        _give_up_lease(run, error.detail if isinstance(error, NetweaveError) else type(error).__name__)
        raise error
    if isinstance(error, NetweaveError):
        return error
    return NetweaveError(f"gave up after {run.operation.attempts} attempts: {type(error).__name__}")


def _bug(run: Run, error: Exception) -> NetweaveError:
    """Log the bug once with its traceback; the operation records only the class: messages may carry secrets."""
    logger.exception("dms operation hit a bug", extra={"operationId": run.operation.operation_id,
                                                        "error": type(error).__name__})
    return NetweaveError(f"internal error: {type(error).__name__}")


def _give_up_lease(run: Run, reason: str) -> None:
    run.operation = run.operation.model_copy(update={"lease_until": 0})  # the redelivery may claim it at once
    run.progress(f"attempt {run.operation.attempts} failed ({reason}); will retry")


def _release_after_failure(run: Run, adapter: DeploymentAdapter | None) -> ReleaseStatus | None:
    if adapter is None or run.operation.operation_type is OperationType.DELETE:
        return None
    try:
        release = adapter.status(run.deployment.name, run.deployment.namespace)
    except (NetweaveError, OSError):
        return None  # best effort: the failure is recorded either way
    return release if release.owner == run.deployment.deployment_id else None  # another's is not ours to record


def _plan(run: Run, adapter: DeploymentAdapter) -> Plan:
    deployment, params, kind = run.deployment, run.operation.parameters, run.operation.operation_type
    if kind in (OperationType.DELETE, OperationType.SCALE):
        values = {**deployment.values, "replicaCount": int(params["replicas"])} if kind is OperationType.SCALE \
            else deployment.values
        return Plan(deployment.package_id, deployment.package_version, values)
    if kind is OperationType.ROLLBACK:
        return _rollback_plan(run, adapter)
    package_id = str(params.get("packageId") or deployment.package_id)
    package = run.ports.packages.get(package_id)
    if package is None:
        raise OperationRefused(f"deployment package '{package_id}' no longer exists")
    check_package_type(adapter, package)
    values = params["values"] if params.get("values") is not None else deployment.values
    return Plan(package.package_id, package.version, values)


def _rollback_plan(run: Run, adapter: DeploymentAdapter) -> Plan:
    deployment, params = run.deployment, run.operation.parameters
    try:
        history = adapter.history(deployment.name, deployment.namespace)
    except NotFound:
        history = []
    revisions = [r.revision for r in history]
    target = params.get("revision")
    if target is None:
        # The newest earlier revision that did not fail (a failed one is what a rollback gets away from). Resolved
        # once and recorded, so a re-run rolls back to the same revision, not to the one before that.
        earlier = [r.revision for r in history[:-1] if r.status != "failed"]
        if not earlier:
            raise OperationRefused("rollback: the release has no earlier revision to roll back to")
        target = earlier[-1]
        run.operation = run.operation.model_copy(update={"parameters": {**params, "revision": target}})
    elif int(target) not in revisions:
        raise OperationRefused(f"rollback: revision {target} does not exist; revisions: "
                               + (", ".join(map(str, revisions)) or "none"))
    recorded = {r["revision"]: r for r in run.ports.store.revisions(deployment.deployment_id)}.get(int(target))
    if recorded is None:  # made outside netweave: keep what the deployment says
        return Plan(deployment.package_id, deployment.package_version, deployment.values, int(target))
    return Plan(recorded["packageId"], recorded["packageVersion"], recorded["values"], int(target))


def _execute(run: Run, adapter: DeploymentAdapter, plan: Plan, timeout: int | None) -> Outcome:
    deployment, kind = run.deployment, run.operation.operation_type
    name, namespace = deployment.name, deployment.namespace
    wait = f"timeout {timeout} s" if timeout else "the backend's default timeout"
    if kind is OperationType.DELETE:
        run.progress(f"uninstalling release {namespace}/{name} ({wait})")
        adapter.uninstall(name, namespace, timeout, owner=deployment.deployment_id)
        return Outcome(None, plan)
    if kind is OperationType.SCALE:
        replicas = int(run.operation.parameters["replicas"])
        run.progress(f"scaling release {namespace}/{name} to {replicas} replicas ({wait})")
        return Outcome(adapter.scale(name, namespace, replicas, timeout, owner=deployment.deployment_id,
                                     node_selector=deployment.node_selector), plan)
    if kind is OperationType.ROLLBACK:
        run.progress(f"rolling back release {namespace}/{name} to revision {plan.revision} ({wait})")
        return Outcome(adapter.rollback(name, namespace, plan.revision, timeout, owner=deployment.deployment_id),
                       plan)
    package = run.ports.packages.get(plan.package_id)
    if package is None:
        raise DeploymentFailed(f"deployment package '{plan.package_id}' was deleted while the operation ran")
    verb = "installing" if kind is OperationType.CREATE else "upgrading"
    source = chart_source(run, adapter, package)
    if source is not None:  # the GitOps backend fetches the chart itself
        run.progress(f"{verb} {namespace}/{name} with {package.name} {package.version} from {source.repo_url} "
                     f"(waiting for readiness; {wait})")
        spec = ReleaseSpec(name, namespace, "", plan.values, timeout, source=source, owner=deployment.deployment_id,
                           node_selector=deployment.node_selector)
        return Outcome(adapter.install(spec) if kind is OperationType.CREATE else adapter.upgrade(spec), plan)
    run.progress(f"fetching package {package.name} {package.version} ({package.checksum})")
    chart = Path(run.ports.work_dir) / f"netweave-chart-{run.operation.operation_id}.tgz"
    chart.write_bytes(run.ports.packages.read_archive(package.digest))
    try:
        spec = ReleaseSpec(name, namespace, str(chart), plan.values, timeout, owner=deployment.deployment_id,
                           node_selector=deployment.node_selector, atomic=rolls_back_on_failure(run))
        run.progress(f"{verb} release {namespace}/{name} with {package.name} {package.version} "
                     f"(waiting for readiness; {wait})")
        release = adapter.install(spec) if kind is OperationType.CREATE else adapter.upgrade(spec)
    finally:
        chart.unlink(missing_ok=True)
    return Outcome(release, plan)


def chart_source(run: Run, adapter: DeploymentAdapter, package: DeploymentPackage) -> ChartSource | None:
    """Where the backend fetches the chart itself; None when it is handed the archive (the Helm backend)."""
    if package.package_type.has_archive:
        if adapter.archive_repository is None:
            return None
        ensure_published(run.ports.packages, package)  # the API's publish is best effort
        return ChartSource("helm-repo", adapter.archive_repository, package.version, chart=package.name)
    kind: Literal["helm-repo", "git"] = "git" if package.package_type is PackageType.GIT else "helm-repo"
    return ChartSource(kind, str(package.repository_url), package.version, chart=package.chart, path=package.path)


def check_package_type(adapter: DeploymentAdapter, package: DeploymentPackage) -> None:
    if package.package_type.value not in adapter.package_types:
        raise OperationRefused(
            f"backend '{adapter.adapter_id}' deploys packages of type {', '.join(sorted(adapter.package_types))}; "
            f"package '{package.package_id}' is of type {package.package_type.value}")
