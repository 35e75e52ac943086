"""Fixtures for kubesim's own tests: one simulated cluster per xdist worker, real helm/kubectl, official client."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import kubernetes
import pytest
from kubernetes import client

from devtools.kubesim import KubeSim, start_kubesim
from tests.functional.kubesim.kubesim_helpers import Run, binary


@pytest.fixture(scope="session")
def kubesim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeSim]:
    workdir = tmp_path_factory.mktemp("kubesim")
    with start_kubesim(port=0, kubeconfig_path=workdir / "kubeconfig") as sim:
        yield sim


@pytest.fixture(scope="session")
def kubeconfig(kubesim: KubeSim) -> Path:
    assert kubesim.kubeconfig_path is not None
    return kubesim.kubeconfig_path


@pytest.fixture(scope="session")
def api_client(kubeconfig: Path) -> Iterator[client.ApiClient]:
    api = kubernetes.config.new_client_from_config(config_file=str(kubeconfig))
    yield api
    api.close()


@pytest.fixture(scope="session")
def core(api_client: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api_client)


@pytest.fixture(scope="session")
def apps(api_client: client.ApiClient) -> client.AppsV1Api:
    return client.AppsV1Api(api_client)


@pytest.fixture
def namespace(core: client.CoreV1Api) -> Iterator[str]:
    """A fresh namespace per test, so tests sharing one simulated cluster never see each other's objects."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    core.delete_namespace(name)


@pytest.fixture(scope="session")
def tool_env(tmp_path_factory: pytest.TempPathFactory, kubeconfig: Path) -> dict[str, str]:
    # A private HOME keeps helm's config and kubectl's discovery cache out of the user's directories.
    home = tmp_path_factory.mktemp("home")
    return {**os.environ, "HOME": str(home), "KUBECONFIG": str(kubeconfig), "HELM_CACHE_HOME": str(home / "cache"),
            "HELM_CONFIG_HOME": str(home / "config"), "HELM_DATA_HOME": str(home / "data")}


def _runner(executable: Path, env: dict[str, str], extra: list[str]) -> Run:
    def run(*args: str, check: bool = True, timeout: float = 60, cwd: Path | None = None
            ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([str(executable), *extra, *args], env=env, capture_output=True, text=True,
                                timeout=timeout, cwd=cwd, check=False)
        if check and result.returncode != 0:
            pytest.fail(f"{executable.name} {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n"
                        f"{result.stderr}", pytrace=False)
        return result

    return run


@pytest.fixture(scope="session")
def helm_bin() -> Path:
    return binary("helm")


@pytest.fixture(scope="session")
def helm(helm_bin: Path, tool_env: dict[str, str], kubeconfig: Path) -> Run:
    return _runner(helm_bin, tool_env, ["--kubeconfig", str(kubeconfig)])


@pytest.fixture(scope="session")
def kubectl(tool_env: dict[str, str], kubeconfig: Path) -> Run:
    return _runner(binary("kubectl"), tool_env, ["--kubeconfig", str(kubeconfig)])


@pytest.fixture(scope="session")
def chart(helm: Run, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The stock ``helm create`` chart (nginx Deployment, Service, ServiceAccount, HPA, Ingress, test pod)."""
    workdir = tmp_path_factory.mktemp("charts")
    helm("create", "demo", cwd=workdir)
    return workdir / "demo"
