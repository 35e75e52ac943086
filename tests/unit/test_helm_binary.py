"""Which helm netweave runs: NETWEAVE_HELM_BINARY, the Lambda layer's, the project's, then PATH — and the same answer
for the Helm backend and for package uploads."""

from __future__ import annotations

import gzip
import io
import stat
import tarfile
from pathlib import Path

import pytest

from chalicelib.adapters import helm_binary as module
from chalicelib.adapters.helm_binary import helm_binary


def executable(path: Path, script: str = "#!/bin/sh\nexit 0\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture()
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """The layer's and the project's helm, moved to a temporary directory (neither exists until a test creates it)."""
    layer, project = tmp_path / "opt" / "helm" / "helm", tmp_path / "project" / ".local" / "bin" / "helm"
    monkeypatch.setattr(module, "LAMBDA_LAYER_HELM", layer)
    monkeypatch.setattr(module, "PROJECT_HELM", project)
    monkeypatch.delenv("NETWEAVE_HELM_BINARY", raising=False)
    return layer, project


def test_the_environment_variable_wins_over_every_file(places: tuple[Path, Path]) -> None:
    layer, project = places
    executable(layer), executable(project)
    assert helm_binary({"NETWEAVE_HELM_BINARY": "/custom/helm"}) == "/custom/helm"
    assert helm_binary({"NETWEAVE_HELM_BINARY": "helm3"}) == "helm3"  # a name is left for PATH to resolve


def test_the_environment_is_read_from_the_process_by_default(
    places: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NETWEAVE_HELM_BINARY", "/from/the/environment/helm")
    assert helm_binary() == "/from/the/environment/helm"


def test_an_empty_environment_variable_counts_as_unset(places: tuple[Path, Path]) -> None:
    layer, _ = places
    executable(layer)
    assert helm_binary({"NETWEAVE_HELM_BINARY": ""}) == str(layer)


def test_the_lambda_layer_comes_before_the_project(places: tuple[Path, Path]) -> None:
    layer, project = places
    executable(layer), executable(project)
    assert helm_binary({}) == str(layer)


def test_the_project_binary_without_the_layer(places: tuple[Path, Path]) -> None:
    _, project = places
    executable(project)
    assert helm_binary({}) == str(project)


def test_a_file_that_cannot_be_executed_or_is_no_file_is_skipped(places: tuple[Path, Path]) -> None:
    layer, project = places
    layer.parent.mkdir(parents=True)
    layer.write_text("not executable")
    project.mkdir(parents=True)  # a directory of that name
    assert helm_binary({}) == "helm"
    project.rmdir()
    executable(project)
    assert helm_binary({}) == str(project)


def test_path_is_the_last_resort(places: tuple[Path, Path]) -> None:
    assert helm_binary({}) == "helm"


def test_the_project_binary_is_where_make_setup_installs_it() -> None:
    expected = (Path(__file__).resolve().parents[2] / ".local" / "bin" / "helm", Path("/opt/helm/helm"))
    assert expected == (module.PROJECT_HELM, module.LAMBDA_LAYER_HELM)


def test_the_helm_backend_and_package_uploads_ask_the_same_function() -> None:
    from chalicelib.adapters.dms import helm
    from chalicelib.services import package_archive

    # Looked up in each module's namespace: they import the name for their own use and do not re-export it.
    assert vars(helm)["helm_binary"] is helm_binary
    assert vars(package_archive)["helm_binary"] is helm_binary


def test_package_uploads_run_the_helm_it_names(places: tuple[Path, Path], tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """`helm show chart` goes to whatever helm_binary() answers: here a stand-in printing a Chart.yaml."""
    from chalicelib.services.package_archive import read_chart

    fake = executable(tmp_path / "fake" / "helm",
                      "#!/bin/sh\nprintf 'apiVersion: v2\\nname: from-fake-helm\\nversion: 9.9.9\\n'\n")
    monkeypatch.setenv("NETWEAVE_HELM_BINARY", str(fake))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        archive.addfile(tarfile.TarInfo("demo/Chart.yaml"), io.BytesIO(b""))
    chart = read_chart(gzip.compress(buffer.getvalue()))
    assert (chart.name, chart.version) == ("from-fake-helm", "9.9.9")
