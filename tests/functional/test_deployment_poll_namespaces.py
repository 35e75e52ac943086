"""poll_deployments with the real helm binary against kubesim (issue 20, "Deployment poll"): twenty helm deployments
in two namespaces are checked with one `helm list` per namespace (two helm runs, not twenty), and what the listing
shows still reaches the deployments: a release scaled outside netweave, one uninstalled, one replaced by a release
netweave did not make (failed, nothing of it recorded), while a release netweave never made is left alone."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from chalicelib.adapters.helm_binary import PROJECT_HELM
from chalicelib.domain.deployments import Deployment, DeploymentStatus
from chalicelib.handlers import dms as dms_handlers
from devtools.deployment_fleet import CountingHelm, deploy_fleet
from tests.functional.inventory_fixtures import Site, site_environment

# The helm binary comes with `make setup`: without it these tests fail, they never skip.
pytestmark = pytest.mark.xdist_group("helm-adapter")
NAMESPACES = ("poll-du", "poll-cu")
PER_NAMESPACE = 10


@pytest.fixture(scope="module")
def helm(tmp_path_factory: pytest.TempPathFactory) -> CountingHelm:
    return CountingHelm(tmp_path_factory.mktemp("helm"), PROJECT_HELM)


@pytest.fixture(scope="module")
def site(moto_url: str, tmp_path_factory: pytest.TempPathFactory, helm: CountingHelm) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("poll-site")
    backend = (f"dmsAdapters:\n  - id: helm\n    type: helm\n    default: true\n    options:\n"
               f"      kubeconfig: {tmp / 'kubeconfig'}\n      helmBinary: {helm.path}\n")
    yield from site_environment(tmp, adapter_id="poll-site", more_adapters=backend)


@pytest.fixture(scope="module")
def chart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("nf-chart")
    env = {"HOME": str(work), "PATH": "/usr/bin:/bin"}
    subprocess.run([str(PROJECT_HELM), "create", "nf"], cwd=work, check=True, capture_output=True, env=env)
    subprocess.run([str(PROJECT_HELM), "package", "nf", "--version", "1.0.0"], cwd=work, check=True,
                   capture_output=True, env=env)
    return work / "nf-1.0.0.tgz"


@pytest.fixture(scope="module")
def fleet(site: Site, chart: Path) -> dict[str, Deployment]:
    releases = [(f"nf-{index}", namespace) for namespace in NAMESPACES for index in range(PER_NAMESPACE)]
    deployed = deploy_fleet(site.components.dms_registry.get("helm"), site.components.deployment_store, chart,
                            releases)
    return {f"{d.namespace}/{d.name}": d for d in deployed}


def outside_netweave(site: Site, *args: str) -> None:
    """What an operator does with helm directly (the uncounted binary; no netweave marker)."""
    subprocess.run([str(PROJECT_HELM), *args, "--kubeconfig", str(site.kubesim.kubeconfig_path)], check=True,
                   capture_output=True)


def current(site: Site, deployment: Deployment) -> Deployment:
    found = site.components.deployment_store.get(deployment.deployment_id)
    assert found is not None
    return found


def test_twenty_deployments_in_two_namespaces_are_checked_with_two_helm_runs(
        site: Site, fleet: dict[str, Deployment], helm: CountingHelm) -> None:
    helm.reset()

    report = dms_handlers.scheduled_deployment_poll(site.components)

    assert helm.runs() == ["list", "list"]
    assert (report["checked"], report["changed"], report["failed"], report["unreachable"]) == (20, 0, [], [])
    assert all(current(site, d) == d for d in fleet.values())  # all deployed and ready: nothing to record


def test_what_the_listing_shows_reaches_the_deployments_and_releases_netweave_never_made_stay_untouched(
        site: Site, fleet: dict[str, Deployment], chart: Path, helm: CountingHelm) -> None:
    scaled, gone, taken = fleet["poll-du/nf-3"], fleet["poll-du/nf-1"], fleet["poll-cu/nf-2"]
    outside_netweave(site, "upgrade", "nf-3", str(chart), "-n", "poll-du", "--reuse-values",
                     "--set", "replicaCount=2", "--wait")
    outside_netweave(site, "uninstall", "nf-1", "-n", "poll-du", "--wait")
    outside_netweave(site, "uninstall", "nf-2", "-n", "poll-cu", "--wait")
    outside_netweave(site, "install", "nf-2", str(chart), "-n", "poll-cu", "--set", "replicaCount=5", "--wait")
    outside_netweave(site, "install", "operator-app", str(chart), "-n", "poll-du", "--wait")
    helm.reset()

    report = dms_handlers.scheduled_deployment_poll(site.components)

    assert helm.runs() == ["list", "list"] and report["changed"] == 3
    assert current(site, scaled).status is DeploymentStatus.DEPLOYED
    assert current(site, scaled).extensions["replicas"] == {"desired": 2, "ready": 2}
    assert current(site, scaled).extensions["revision"] == 2
    assert current(site, gone).status is DeploymentStatus.FAILED
    assert current(site, gone).extensions["statusReason"] == "the release no longer exists in the cluster"
    replaced = current(site, taken)
    assert replaced.status is DeploymentStatus.FAILED and "is not this deployment's" in replaced.extensions[
        "statusReason"]
    assert replaced.extensions["replicas"] == {"desired": 1, "ready": 1}  # the other release's 5 never recorded
    listed = subprocess.run([str(PROJECT_HELM), "history", "operator-app", "-n", "poll-du", "-o", "json",
                             "--kubeconfig", str(site.kubesim.kubeconfig_path)], check=True, capture_output=True,
                            text=True).stdout
    assert '"revision":1' in listed and '"revision":2' not in listed  # the operator's release: one revision, as made
