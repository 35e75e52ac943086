"""Placement on a resource pool: the helm post-renderer puts the pool's required node affinity into every pod template
a chart renders, merged with the chart's own, and leaves every other document exactly as helm rendered it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from chalicelib.adapters.dms.placement_renderer import RenderError, launcher, parse_selector, render
from chalicelib.domain.placement import pool_node_selector, selector_problem, with_required_affinity

POOL = {"eks.amazonaws.com/nodegroup": "vdu-pool"}
POOL_EXPRESSION = {"key": "eks.amazonaws.com/nodegroup", "operator": "In", "values": ["vdu-pool"]}
REQUIRED = "requiredDuringSchedulingIgnoredDuringExecution"


def _terms(pod_spec: dict[str, Any]) -> list[dict[str, Any]]:
    terms: list[dict[str, Any]] = pod_spec["affinity"]["nodeAffinity"][REQUIRED]["nodeSelectorTerms"]
    return terms


def _workload(kind: str, api_version: str = "apps/v1", pod_spec: dict[str, Any] | None = None) -> dict[str, Any]:
    template = {"metadata": {"labels": {"app": "x"}}, "spec": pod_spec or {"containers": [{"name": "c",
                                                                                         "image": "nginx"}]}}
    if kind == "Pod":
        return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": template["spec"]}
    if kind == "CronJob":
        return {"apiVersion": "batch/v1", "kind": kind, "metadata": {"name": "c"},
                "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": template}}}}
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": kind.lower()}, "spec": {"template": template}}


POD_SPEC_OF = {
    "Pod": lambda d: d["spec"],
    "CronJob": lambda d: d["spec"]["jobTemplate"]["spec"]["template"]["spec"],
}


def _pod_spec(document: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = POD_SPEC_OF.get(document["kind"], lambda d: d["spec"]["template"]["spec"])(document)
    return spec


def _stream(*documents: dict[str, Any]) -> str:
    return "".join(f"---\n# Source: chart/templates/{i}.yaml\n{yaml.safe_dump(d)}" for i, d in enumerate(documents))


@pytest.mark.parametrize(("kind", "api_version"), [
    ("Deployment", "apps/v1"), ("StatefulSet", "apps/v1"), ("DaemonSet", "apps/v1"), ("ReplicaSet", "apps/v1"),
    ("Job", "batch/v1"), ("CronJob", "batch/v1"), ("Pod", "v1"), ("ReplicationController", "v1")])
def test_every_pod_template_kind_is_placed_on_the_pool(kind: str, api_version: str) -> None:
    out = list(yaml.safe_load_all(render(_stream(_workload(kind, api_version)), POOL)))
    assert _terms(_pod_spec(out[0])) == [{"matchExpressions": [POOL_EXPRESSION]}]


def test_the_charts_own_node_affinity_is_kept_and_each_alternative_stays_in_the_pool() -> None:
    own = {"containers": [{"name": "c", "image": "nginx"}], "nodeSelector": {"disk": "ssd"}, "affinity": {
        "nodeAffinity": {REQUIRED: {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]},
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}]},
            "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1, "preference": {}}]},
        "podAntiAffinity": {"x": 1}}}
    spec = _pod_spec(next(yaml.safe_load_all(render(_stream(_workload("Deployment", pod_spec=own)), POOL))))
    assert _terms(spec) == [
        {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}, POOL_EXPRESSION]},
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}],
         "matchExpressions": [POOL_EXPRESSION]}]
    assert spec["nodeSelector"] == {"disk": "ssd"}, "the chart's nodeSelector still applies (ANDed by Kubernetes)"
    assert spec["affinity"]["podAntiAffinity"] == {"x": 1}
    assert spec["affinity"]["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]


def test_an_empty_term_of_the_chart_stays_empty_so_it_still_matches_no_node() -> None:
    affinity: dict[str, Any] = {"nodeAffinity": {REQUIRED: {"nodeSelectorTerms": [{}, {"matchExpressions": []}]}}}
    terms = with_required_affinity(affinity, POOL)["nodeAffinity"][REQUIRED]["nodeSelectorTerms"]
    assert terms == [{}, {"matchExpressions": []}]


def test_rendering_twice_changes_nothing_more() -> None:
    once = render(_stream(_workload("Deployment")), POOL)
    assert render(once, POOL) == once


def test_lists_are_placed_item_by_item() -> None:
    listed = {"apiVersion": "v1", "kind": "List", "items": [_workload("Deployment"), {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}, "data": {"a": "b"}}]}
    out = next(yaml.safe_load_all(render(_stream(listed), POOL)))
    assert _terms(_pod_spec(out["items"][0])) == [{"matchExpressions": [POOL_EXPRESSION]}]
    assert out["items"][1] == listed["items"][1]


def test_other_documents_pass_through_byte_for_byte() -> None:
    config = ("---\n# Source: chart/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n"
              "data:\n  when: 2024-01-01\n  flag: 'yes'   # kept as written\n")
    custom = "---\napiVersion: example.com/v1\nkind: Deployment\nmetadata: {name: not-apps}\nspec: {template: {}}\n"
    stream = config + custom + "---\n" + yaml.safe_dump(_workload("Deployment"))
    out = render(stream, POOL)
    assert out.startswith(config + custom), "unknown kinds (even one named Deployment) are untouched"
    assert "nodeAffinity" in out.split(custom)[1]


def test_a_placed_document_keeps_helms_source_comment_and_unquoted_dates_stay_strings() -> None:
    workload = _workload("Deployment")
    workload["metadata"]["annotations"] = {"built": "2024-01-01"}
    text = "---\n# Source: chart/templates/d.yaml\n" + yaml.safe_dump(workload).replace("'2024-01-01'", "2024-01-01")
    out = render(text, POOL)
    assert "# Source: chart/templates/d.yaml" in out
    assert next(yaml.safe_load_all(out.replace("'2024-01-01'", "x")))["metadata"]["annotations"]["built"] == "x"


@pytest.mark.parametrize("selector", [{}, {"bad key!": "v"}, {"k": "spaces are not a value"}, {"k": 1}, ["k"],
                                      {"a" * 64: "v"}])
def test_a_selector_that_is_not_a_node_selector_is_refused(selector: Any) -> None:
    assert selector_problem(selector) is not None
    with pytest.raises(RenderError):
        parse_selector(json.dumps(selector))


def test_a_pool_without_a_valid_node_selector_has_none() -> None:
    assert pool_node_selector({"extensions": {"nodeSelector": POOL}}) == POOL
    assert pool_node_selector({"extensions": {}}) is None
    assert pool_node_selector({"extensions": {"nodeSelector": {"x": "bad value!"}}}) is None


def test_a_document_that_is_not_yaml_fails_with_the_reason() -> None:
    with pytest.raises(RenderError, match="not YAML"):
        render("---\nkind: [unclosed\n", POOL)


def test_the_launcher_runs_as_helm_runs_it_without_a_shell(tmp_path: Path) -> None:
    script = launcher(tmp_path)
    assert launcher(tmp_path) == script, "written once, then reused"
    done = subprocess.run([str(script), json.dumps(POOL)], input=_stream(_workload("Job", "batch/v1")),
                          capture_output=True, text=True, check=False, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert _terms(_pod_spec(next(yaml.safe_load_all(done.stdout)))) == [{"matchExpressions": [POOL_EXPRESSION]}]
    refused = subprocess.run([str(script), "{not json"], input="", capture_output=True, text=True, check=False)
    assert refused.returncode == 1 and "not JSON" in refused.stderr


def test_a_launcher_someone_else_could_have_changed_is_replaced(tmp_path: Path) -> None:
    script = launcher(tmp_path)
    original = script.read_text()
    script.write_text("#!/bin/sh\necho pwned\n")
    assert launcher(tmp_path) == script and script.read_text() == original, "content differs: rewritten"
    script.chmod(0o777)
    assert launcher(tmp_path) == script and script.stat().st_mode & 0o777 == 0o700, "writable by others: rewritten"
