"""Patch semantics the real clients rely on (kubectl/helm send strategic merge patches with directives)."""

from __future__ import annotations

from devtools.kubesim.patching import json_patch, merge_patch, strategic_merge


def test_strategic_merge_merges_containers_by_name_and_keeps_order() -> None:
    live = {"spec": {"containers": [{"name": "app", "image": "a:1", "env": [{"name": "X", "value": "1"}]},
                                    {"name": "side", "image": "s:1"}]}}
    patch = {"spec": {"$setElementOrder/containers": [{"name": "app"}, {"name": "side"}],
                      "containers": [{"name": "app", "image": "a:2", "env": [{"name": "Y", "value": "2"}]}]}}
    merged = strategic_merge(live, patch)
    app, side = merged["spec"]["containers"]
    assert app["image"] == "a:2" and [e["name"] for e in app["env"]] == ["X", "Y"]
    assert side == {"name": "side", "image": "s:1"}


def test_strategic_merge_directives() -> None:
    live = {"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
                     "ports": [{"port": 80}, {"port": 443}], "finalizers": ["a"]}}
    patch = {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"},
                      "ports": [{"port": 80, "$patch": "delete"}], "finalizers": ["b"]}}
    merged = strategic_merge(live, patch)
    assert merged["spec"]["strategy"] == {"type": "Recreate"}
    assert merged["spec"]["ports"] == [{"port": 443}]
    assert merged["spec"]["finalizers"] == ["a", "b"]
    assert strategic_merge({"a": {"b": 1}}, {"a": {"$patch": "replace", "c": 2}}) == {"a": {"c": 2}}


def test_merge_and_json_patch() -> None:
    assert merge_patch({"a": 1, "b": {"c": 2}}, {"a": None, "b": {"d": 3}}) == {"b": {"c": 2, "d": 3}}
    doc = {"metadata": {"labels": {"a/b": "x"}}, "items": [1, 2]}
    ops = [{"op": "remove", "path": "/metadata/labels/a~1b"}, {"op": "add", "path": "/items/-", "value": 3},
           {"op": "test", "path": "/items/0", "value": 1}, {"op": "move", "from": "/items/0", "path": "/first"}]
    assert json_patch(doc, ops) == {"metadata": {"labels": {}}, "items": [2, 3], "first": 1}
