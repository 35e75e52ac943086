"""Many helm deployments at once, for the deployment-poll benchmark and tests: real releases installed with the real
helm binary (through the helm backend, so they carry netweave's ownership marker), recorded in the deployments table
as the worker leaves a successful create; and a helm launcher that counts how often helm is started."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from chalicelib.adapters.dms.port import DeploymentAdapter, ReleaseSpec
from chalicelib.adapters.store.deployment_store import DeploymentStore
from chalicelib.domain.deployments import Deployment, DeploymentStatus, Operation, OperationStatus, OperationType
from chalicelib.domain.events import utc_now_iso
from chalicelib.services.dms_results import observed


class CountingHelm:
    """A launcher script standing in for helm: it notes each run's subcommand in a file, then runs the real binary
    with the same arguments. Give `path` as a helm backend's `helmBinary`."""

    def __init__(self, directory: Path, real_helm: Path) -> None:
        self.log = directory / "helm-runs.log"
        self.path = directory / "helm"
        self.path.write_text(f'#!/bin/sh\necho "$1" >> "{self.log}"\nexec "{real_helm}" "$@"\n')
        self.path.chmod(0o755)
        self.log.touch()

    def runs(self) -> list[str]:
        """The subcommand of every run so far (`list`, `get`, `upgrade`, ...), oldest first."""
        return self.log.read_text().split()

    def reset(self) -> None:
        self.log.write_text("")


def deploy_fleet(adapter: DeploymentAdapter, store: DeploymentStore, chart: Path,
                 releases: Iterable[tuple[str, str]], workers: int = 4) -> list[Deployment]:
    """Install a release per (name, namespace) and record its deployment, `deployed` and idle."""

    def one(release: tuple[str, str]) -> Deployment:
        name, namespace = release
        deployment_id, operation_id, now = str(uuid.uuid4()), str(uuid.uuid4()), utc_now_iso()
        status = adapter.install(ReleaseSpec(name, namespace, str(chart), {"replicaCount": 1}, 120,
                                             owner=deployment_id))
        created = Deployment(deployment_id=deployment_id, name=name, namespace=namespace, package_id="fleet",
                             package_version="1.0.0", status=DeploymentStatus.DEPLOYED, values={"replicaCount": 1},
                             created_at=now, updated_at=now, extensions={"dmsAdapter": adapter.adapter_id})
        deployment = observed(created, status, DeploymentStatus.DEPLOYED, now, operation_id)
        store.create(deployment, Operation(operation_id=operation_id, deployment_id=deployment_id,
                                           operation_type=OperationType.CREATE, status=OperationStatus.SUCCEEDED,
                                           created_at=now, finished_at=now, result=_result(status.revision)))
        return deployment

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(one, releases))


def _result(revision: int) -> dict[str, Any]:
    return {"revision": revision, "status": DeploymentStatus.DEPLOYED.value}
