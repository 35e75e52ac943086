"""The demo chart repository (devtools/chart_repo.py): built and served for real, read back with the real helm."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from devtools.chart_repo import ChartRepository, build_repository, helm_binary

CHARTS = (("vdu", "1.0.0"), ("vdu", "1.1.0"), ("cu", "3.0.0"))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_repository(tmp_path_factory.mktemp("repo"), CHARTS)


@pytest.fixture(scope="module")
def repository(built: Path) -> Iterator[ChartRepository]:
    with ChartRepository(built) as served:
        yield served


def helm_template(url: str, home: Path, *extra: str) -> list[dict[str, object]]:
    env = {
        "HOME": str(home),
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_DATA_HOME": str(home / "data"),
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run(
        [helm_binary(), "template", "rel", "vdu", "--repo", url, "--version", "1.1.0", *extra],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def deployment(documents: list[dict[str, object]]) -> dict[str, object]:
    [found] = [doc for doc in documents if doc.get("kind") == "Deployment"]
    return found


def test_index_lists_exactly_the_versions_built(built: Path) -> None:
    index = yaml.safe_load((built / "index.yaml").read_text())
    versions = {name: sorted(entry["version"] for entry in entries) for name, entries in index["entries"].items()}
    assert versions == {"vdu": ["1.0.0", "1.1.0"], "cu": ["3.0.0"]}
    assert {entry["appVersion"] for entries in index["entries"].values() for entry in entries} == {"2.1.0"}
    assert sorted(p.name for p in built.iterdir()) == ["cu-3.0.0.tgz", "index.yaml", "vdu-1.0.0.tgz", "vdu-1.1.0.tgz"]


def test_helm_renders_a_deployment_without_a_progress_deadline_by_default(
    repository: ChartRepository, tmp_path: Path
) -> None:
    rendered = deployment(helm_template(repository.url, tmp_path))
    spec = rendered["spec"]
    assert isinstance(spec, dict)
    assert "progressDeadlineSeconds" not in spec
    metadata = rendered["metadata"]
    assert isinstance(metadata, dict)
    assert metadata["name"] == "rel-vdu"
    assert metadata["labels"]["helm.sh/chart"] == "vdu-1.1.0"  # the version asked for, not the first one
    assert metadata["labels"]["app.kubernetes.io/version"] == "2.1.0"


def test_the_progress_deadline_value_reaches_the_deployment(repository: ChartRepository, tmp_path: Path) -> None:
    rendered = deployment(helm_template(repository.url, tmp_path, "--set", "progressDeadlineSeconds=7"))
    spec = rendered["spec"]
    assert isinstance(spec, dict)
    assert spec["progressDeadlineSeconds"] == 7
