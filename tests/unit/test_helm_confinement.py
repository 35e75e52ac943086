"""The helm backend rebuilds a release's chart from helm's storage Secret, which anyone able to write Secrets in the
namespace can forge (a chart's own templates included). A forged chart name must not place files outside the
temporary directory (docs/security.md, "Confinement"). No cluster, no helm: the Secret read and the helm calls are
replaced, the file writing is the adapter's own."""

from __future__ import annotations

import base64
import gzip
import json
import tempfile
import tracemalloc
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from chalicelib.adapters.dms import helm
from chalicelib.adapters.dms import helm_status as mapping
from chalicelib.adapters.dms.port import DeploymentFailed
from chalicelib.domain.ownership import DEPLOYMENT_LABEL
from chalicelib.settings import AdapterConfig
from devtools import hostile_archives as hostile

OWNER = "0b9f3c2a-5d6e-4f70-8a1b-2c3d4e5f6a7b"  # the deployment the release belongs to (its marker is checked)


def _release(chart_name: object, templates: tuple[str, ...] = ("templates/cm.yaml",)) -> bytes:
    content = base64.b64encode(b"kind: ConfigMap\n").decode()
    release = {"chart": {"metadata": {"apiVersion": "v2", "name": chart_name, "version": "0.1.0"},
                         "values": {"replicaCount": 1},
                         "templates": [{"name": name, "data": content} for name in templates]}}
    return gzip.compress(json.dumps(release).encode())


def _release_secret(release: bytes) -> SimpleNamespace:
    """helm's storage Secret as the kubernetes client returns it unparsed: JSON whose `release` is base64
    (Kubernetes) of base64 (helm) of the gzipped release JSON."""
    helm_encoded = base64.b64encode(release)
    return SimpleNamespace(data=json.dumps({"data": {"release": base64.b64encode(helm_encoded).decode()}}).encode())


@pytest.fixture()
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Temporary directories are made under tmp_path/tmp, so anything written beside them is visible."""
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    return tmp_path


def _adapter(monkeypatch: pytest.MonkeyPatch, release: object, applied: list[tuple[str, list[str]]]
             ) -> helm.HelmDeploymentAdapter:
    """The adapter reading `release` (a chart name, or a whole gzipped record) as the current revision's record."""
    adapter = helm.HelmDeploymentAdapter(AdapterConfig(id="helm-unit", type="helm", options={}))
    secret = _release_secret(release if isinstance(release, bytes) else _release(release))
    monkeypatch.setattr(adapter.cluster, "core",
                        lambda: SimpleNamespace(read_namespaced_secret=lambda *_, **__: secret))
    monkeypatch.setattr(adapter, "_metadata", lambda name, namespace: {"revision": 1})
    monkeypatch.setattr(adapter, "_release_labels", lambda name, namespace: {DEPLOYMENT_LABEL: OWNER})

    def apply(name: str, namespace: str, chart_ref: str, *_: Any, **__: Any) -> None:
        files = sorted(str(p.relative_to(chart_ref)) for p in Path(chart_ref).rglob("*") if p.is_file())
        applied.append((chart_ref, files))

    monkeypatch.setattr(adapter, "_apply", apply)
    monkeypatch.setattr(adapter, "status", lambda name, namespace: None)
    return adapter


def _everything_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_a_genuine_record_is_rebuilt_inside_the_temporary_directory(
        scratch: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    applied: list[tuple[str, list[str]]] = []
    _adapter(monkeypatch, "vdu", applied).scale("r1", "ran", 3, owner=OWNER)
    [(chart_dir, files)] = applied
    assert Path(chart_dir).name == "vdu" and Path(chart_dir).is_relative_to(scratch / "tmp")
    assert files == ["Chart.yaml", "templates/cm.yaml", "values.yaml"]
    assert _everything_under(scratch) == ["tmp"]  # and cleaned up afterwards


@pytest.mark.parametrize("forged", ["../../x", "../x", "..", "", None, "x/../../y", "Chart.Name", "vdu\n"])
def test_a_forged_chart_name_writes_nothing_and_fails_the_operation(
        scratch: Path, monkeypatch: pytest.MonkeyPatch, forged: object) -> None:
    applied: list[tuple[str, list[str]]] = []
    adapter = _adapter(monkeypatch, forged, applied)
    with pytest.raises(DeploymentFailed, match=r"chart name .* is not a chart name .*nothing was written"):
        adapter.scale("r1", "ran", 3, owner=OWNER)
    assert applied == []
    assert _everything_under(scratch) == ["tmp"]


def test_an_absolute_forged_chart_name_writes_nothing(scratch: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    applied: list[tuple[str, list[str]]] = []
    target = scratch / "elsewhere"
    with pytest.raises(DeploymentFailed, match="is not a chart name"):
        _adapter(monkeypatch, str(target), applied).scale("r1", "ran", 3, owner=OWNER)
    assert applied == [] and not target.exists()
    assert _everything_under(scratch) == ["tmp"]


def test_paths_are_resolved_and_kept_inside(tmp_path: Path) -> None:
    base = tmp_path.resolve()
    assert helm._confined(base, base / "vdu" / "templates" / "a.yaml", "refused") == base / "vdu/templates/a.yaml"
    (base / "link").symlink_to("/etc")
    for escaping in (base / "a/../../x", Path("/etc/passwd"), base / "link" / "passwd", base / ".", base / "a/.."):
        with pytest.raises(DeploymentFailed, match="leaves its directory"):
            helm._confined(base, escaping, "refused")


def test_a_forged_record_whose_files_collide_fails_cleanly(scratch: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    applied: list[tuple[str, list[str]]] = []
    forged = _release("vdu", ("templates/a.yaml", "templates/a.yaml/b.yaml"))
    with pytest.raises(DeploymentFailed, match="cannot rebuild the chart"):
        _adapter(monkeypatch, forged, applied).scale("r1", "ran", 3, owner=OWNER)
    assert applied == [] and _everything_under(scratch) == ["tmp"]


def test_a_release_record_bomb_is_not_unpacked(scratch: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # 256 MiB of JSON whitespace gzips to about 250 KiB: a Secret of that size fits in etcd.
    bomb = hostile.gzipped(hostile.filler(256 * 1024 * 1024, b" "), level=9)
    assert len(bomb) < 1024 * 1024
    applied: list[tuple[str, list[str]]] = []
    adapter = _adapter(monkeypatch, bomb, applied)
    tracemalloc.start()
    try:
        with pytest.raises(DeploymentFailed, match="unpacks to more than 16777216 bytes"):
            adapter.scale("r1", "ran", 3, owner=OWNER)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3 * mapping.MAX_RELEASE_RECORD and applied == []
