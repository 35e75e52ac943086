"""Pure Flux mapping: source names, HelmRelease bodies, outcome of a reconcile, status and history."""

from __future__ import annotations

import re
from typing import Any

import pytest

from chalicelib.adapters.dms import flux_mapping as mapping
from chalicelib.adapters.dms.port import ChartSource, DeploymentFailed, ReleaseSpec

DNS_1123 = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
OWNER = "3f2b6c1e-8d4a-4e0f-9a71-2c5d8e9b0a14"


def _spec(repo: str = "https://Charts.Example.com/oran/", version: str = "1.0.0") -> ReleaseSpec:
    return ReleaseSpec("du", "oran-du", "", {"a": 1}, None, ChartSource("helm-repo", repo, version, chart="du"),
                       owner=OWNER)


def _release(ready: dict[str, Any] | None, history: list[dict[str, Any]], generation: int = 2,
             observed: int = 2) -> dict[str, Any]:
    return {"metadata": {"name": "du", "namespace": "oran-du", "generation": generation},
            "spec": {"chart": {"spec": {"chart": "du", "version": "1.1.0"}}},
            "status": {"observedGeneration": observed, "lastAttemptedRevision": "1.1.0", "history": history,
                       "conditions": [ready] if ready else []}}


def test_source_names_are_stable_dns_labels() -> None:
    name = mapping.source_name("https://Charts.Example.com/oran/")
    assert name == mapping.source_name("https://Charts.Example.com/oran/") and DNS_1123.match(name)
    assert name != mapping.source_name("https://charts.example.com/oran")
    assert DNS_1123.match(mapping.source_name("https://" + "x" * 200 + ".example.com"))


def test_helm_repository_and_oci_bodies() -> None:
    source = mapping.chart_source(_spec(), "flux-system", "5m")
    assert (source.kind, source.body["spec"]["url"]) == ("HelmRepository", "https://Charts.Example.com/oran/")
    body = mapping.helm_release(_spec(), source, "5m")
    assert body["spec"]["chart"]["spec"] == {"chart": "du", "version": "1.0.0", "sourceRef": {
        "kind": "HelmRepository", "name": source.name, "namespace": "flux-system"}}
    assert "chartRef" not in body["spec"] and body["spec"]["releaseName"] == "du"
    oci = mapping.chart_source(_spec("oci://ghcr.io/example/charts"), "flux-system", "5m")
    assert (oci.kind, oci.body["spec"]["url"], oci.body["spec"]["ref"]) == (
        "OCIRepository", "oci://ghcr.io/example/charts/du", {"tag": "1.0.0"})
    assert mapping.helm_release(_spec("oci://ghcr.io/example/charts"), oci, "5m")["spec"]["chartRef"]["name"] == \
        oci.name


def _git(version: str = "2.1.0", path: str | None = "charts/du") -> ReleaseSpec:
    return ReleaseSpec("du", "ns", "", {}, None, ChartSource("git", "https://git.example.com/c.git", version,
                                                             path=path), owner=OWNER)


def test_git_repository_and_release_bodies() -> None:
    source = mapping.chart_source(_git(), "flux-system", "5m")
    assert (source.kind, source.version, source.plural) == ("GitRepository", "v1", "gitrepositories")
    assert source.body["apiVersion"] == "source.toolkit.fluxcd.io/v1" and DNS_1123.match(source.name)
    assert source.body["metadata"] == {"name": source.name, "namespace": "flux-system",
                                       "labels": {"app.kubernetes.io/managed-by": "netweave"}}
    assert source.body["spec"] == {"interval": "5m", "url": "https://git.example.com/c.git", "ref": {"tag": "2.1.0"}}
    # named after URL and ref: the same package version reuses its source, another one gets its own
    assert source.name == mapping.chart_source(_git(), "flux-system", "1m").name
    assert source.name != mapping.chart_source(_git("2.0.0"), "flux-system", "5m").name
    assert source.name != mapping.chart_source(_spec("https://git.example.com/c.git"), "flux-system", "5m").name
    body = mapping.helm_release(_git(), source, "5m")
    assert body["spec"]["chart"] == {"spec": {"chart": "charts/du", "reconcileStrategy": "Revision", "sourceRef": {
        "kind": "GitRepository", "name": source.name, "namespace": "flux-system"}}}
    assert "chartRef" not in body["spec"] and body["spec"]["releaseName"] == "du"
    assert mapping.release_spec(_git(), source, "5m")["chartRef"] is None  # drops an OCI chartRef on upgrade
    assert mapping.awaited_revision(_git()) is None  # the chart version comes from Chart.yaml at the ref
    assert mapping.awaited_revision(_spec()) == "1.0.0"


@pytest.mark.parametrize(("version", "ref"), [
    ("2.1.0", {"tag": "2.1.0"}), ("v1.2.3", {"tag": "v1.2.3"}), ("v2", {"tag": "v2"}),
    ("1.0.0-rc.1", {"tag": "1.0.0-rc.1"}), ("1.0.0+build.5", {"tag": "1.0.0+build.5"}),
    ("main", {"branch": "main"}), ("release/2.x", {"branch": "release/2.x"}), ("v-next", {"branch": "v-next"}),
    ("0123456789abcdef0123456789ABCDEF01234567", {"commit": "0123456789abcdef0123456789abcdef01234567"}),
    ("0123456789abcdef", {"branch": "0123456789abcdef"}),  # only a full SHA-1 is a commit
])
def test_git_refs(version: str, ref: dict[str, str]) -> None:
    assert mapping.git_ref(version) == ref
    assert mapping.chart_source(_git(version), "flux-system", "5m").body["spec"]["ref"] == ref


def test_incomplete_sources_are_refused() -> None:
    with pytest.raises(DeploymentFailed, match="chart path"):
        mapping.chart_source(_git(path=None), "flux-system", "5m")
    with pytest.raises(DeploymentFailed, match="chart name"):
        mapping.chart_source(ReleaseSpec("du", "ns", "", {}, None, ChartSource("helm-repo", "https://x", "1"),
                                         owner=OWNER),
                             "flux-system", "5m")
    with pytest.raises(DeploymentFailed, match="no chart source"):
        mapping.chart_source(ReleaseSpec("du", "ns", "/tmp/du.tgz", owner=OWNER), "flux-system", "5m")


def test_outcome_and_state() -> None:
    ok = {"type": "Ready", "status": "True", "reason": "UpgradeSucceeded", "lastTransitionTime": "t"}
    bad = {"type": "Ready", "status": "False", "reason": "UpgradeFailed", "message": "boom"}
    waiting = {"type": "Ready", "status": "Unknown", "reason": "Progressing"}
    assert mapping.outcome(_release(ok, [], observed=1), 2, "1.1.0") == "pending"
    assert mapping.outcome(_release(ok, []), 2, "1.1.0") == "ready"
    assert mapping.outcome(_release(ok, []), 2, "1.2.0") == "pending"
    assert mapping.outcome(_release(bad, []), 2, "1.1.0") == "failed"
    assert mapping.failure_message(_release(bad, [])) == "boom"
    assert mapping.release_state(_release(waiting, [])) == "pending-install"
    assert mapping.release_state(_release(waiting, [{"version": 1}])) == "pending-upgrade"
    assert mapping.release_state(_release(bad, [])) == "failed"


def test_status_and_history_from_snapshots() -> None:
    ok = {"type": "Ready", "status": "True", "reason": "UpgradeSucceeded", "message": "m", "lastTransitionTime": "t"}
    history = [{"version": 2, "status": "deployed", "chartName": "du", "chartVersion": "1.1.0", "appVersion": "1.1.0",
                "lastDeployed": "t2"},
               {"version": 1, "status": "superseded", "chartName": "du", "chartVersion": "1.0.0",
                "firstDeployed": "t1"}]
    status = mapping.release_status(_release(ok, history), [], [])
    assert (status.revision, status.status, status.chart_name, status.chart_version, status.updated_at) == (
        2, "deployed", "du", "1.1.0", "t")
    assert status.details == {"flux": {"ready": "True", "reason": "UpgradeSucceeded", "message": "m",
                                       "lastAttemptedRevision": "1.1.0"}}
    assert [(r.revision, r.status, r.chart, r.updated_at) for r in mapping.revisions(_release(ok, history))] == [
        (1, "superseded", "du-1.0.0", "t1"), (2, "deployed", "du-1.1.0", "t2")]
