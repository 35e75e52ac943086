"""Placement of a deployment on a resource pool (docs/dms.md, "Placement on a resource pool").

A pool that workloads can be placed on says which nodes are its nodes: `extensions.nodeSelector`, node labels with
their values, all of which a node carries exactly when it is one of the pool's (docs/o2-conventions.md). Placing a
deployment there adds that selector as a *required node affinity* to every pod template its manifests hold, merged
with the affinity the chart rendered itself: each of the chart's node selector terms gets the pool's expressions
ANDed to it, so the chart's own constraints still hold and no pod can land outside the pool whatever the chart's
values conventions are. Pure: manifests in, manifests out (the YAML around it is the helm post-renderer's).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from chalicelib.domain.errors import UnprocessableContent

NODE_SELECTOR = "nodeSelector"  # the extension a pool (and a deployment placed on it) carries the selector in

# Where the pod spec sits, per (API group, kind) of the built-in workloads; any other kind is left untouched (a
# custom resource that creates pods is its operator's business: docs/dms.md says so).
_POD_SPEC_PATHS: dict[tuple[str, str], tuple[str, ...]] = {
    ("", "Pod"): ("spec",),
    ("", "PodTemplate"): ("template", "spec"),
    ("", "ReplicationController"): ("spec", "template", "spec"),
    ("apps", "Deployment"): ("spec", "template", "spec"),
    ("apps", "StatefulSet"): ("spec", "template", "spec"),
    ("apps", "DaemonSet"): ("spec", "template", "spec"),
    ("apps", "ReplicaSet"): ("spec", "template", "spec"),
    ("batch", "Job"): ("spec", "template", "spec"),
    ("batch", "CronJob"): ("spec", "jobTemplate", "spec", "template", "spec"),
}

# Kubernetes label syntax (k8s.io/apimachinery validation): an optional DNS-subdomain prefix and a name of at most
# 63 characters; a value of at most 63 characters, possibly empty.
_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_KEY = re.compile(rf"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?{_NAME}$")
_VALUE = re.compile(rf"^({_NAME})?$")
_MAX_PREFIX = 253


class PlacementNotPossible(UnprocessableContent):
    """A deployment asks for a resource pool its backend, or the pool's, cannot place it on."""

    slug = "placement-not-possible"


def selector_problem(selector: Any) -> str | None:
    """Why `selector` is not a node selector (a non-empty map of label keys to label values); None if it is."""
    if not isinstance(selector, Mapping) or not selector:
        return "a node selector is a non-empty map of node labels to their values"
    for key, value in selector.items():
        if not isinstance(key, str) or not _KEY.match(key) or len(key.partition("/")[0]) > _MAX_PREFIX:
            return f"{str(key)[:300]!r} is not a label key"
        if not isinstance(value, str) or not _VALUE.match(value):
            return f"{str(value)[:100]!r} (label {key}) is not a label value"
    return None


def pool_node_selector(pool: Mapping[str, Any]) -> dict[str, str] | None:
    """The node selector a pool's wire document carries; None if it has none (its backend cannot place there) or
    if what it carries is not one."""
    selector = (pool.get("extensions") or {}).get(NODE_SELECTOR)
    if selector is None or selector_problem(selector) is not None:
        return None
    return {str(key): str(value) for key, value in selector.items()}


def required_expressions(selector: Mapping[str, str]) -> list[dict[str, Any]]:
    """The selector as node selector requirements, in key order (so a re-render gives identical manifests)."""
    return [{"key": key, "operator": "In", "values": [selector[key]]} for key in sorted(selector)]


def pod_spec_path(manifest: Mapping[str, Any]) -> tuple[str, ...] | None:
    """Where a built-in workload keeps its pod spec; None for anything else."""
    group = str(manifest.get("apiVersion") or "").rpartition("/")[0]
    return _POD_SPEC_PATHS.get((group, str(manifest.get("kind") or "")))


def is_list(manifest: Mapping[str, Any]) -> bool:
    """`v1 List` and the typed lists (`DeploymentList`...): a kind ending in List, holding `items`."""
    return str(manifest.get("kind") or "").endswith("List") and isinstance(manifest.get("items"), list)


def placed(manifest: Mapping[str, Any], selector: Mapping[str, str]) -> dict[str, Any] | None:
    """`manifest` with the pool's required node affinity in every pod template it holds (a list: in its items);
    None if it holds none, so the caller can leave it exactly as it was."""
    if is_list(manifest):
        items = [placed(item, selector) if isinstance(item, Mapping) else None for item in manifest["items"]]
        if all(item is None for item in items):
            return None
        result = dict(manifest)
        result["items"] = [new if new is not None else old for new, old in zip(items, manifest["items"], strict=True)]
        return result
    path = pod_spec_path(manifest)
    if path is None:
        return None
    result = copy.deepcopy(dict(manifest))
    pod_spec = _walk(result, path)
    pod_spec["affinity"] = with_required_affinity(pod_spec.get("affinity"), selector)
    return result


def _walk(document: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    """The mapping at `path`, created where the chart left it out (a template without a spec still gets one, and
    the API server then refuses it for its own reasons, not for ours)."""
    node = document
    for step in path:
        node = _child(node, step)
    return node


def _child(parent: dict[str, Any], key: str) -> dict[str, Any]:
    """`parent[key]`, made a mapping if it is missing or something else (null in a chart's YAML)."""
    child = parent.get(key)
    if not isinstance(child, dict):
        child = {}
        parent[key] = child
    return child


def with_required_affinity(affinity: Any, selector: Mapping[str, str]) -> dict[str, Any]:
    """The pod's affinity with the pool's expressions ANDed into each of its required node selector terms (terms
    are ORed, so adding to every one keeps every alternative inside the pool); one term of them if it had none.
    Preferred node affinity and pod (anti-)affinity are kept as they are."""
    result: dict[str, Any] = copy.deepcopy(affinity) if isinstance(affinity, dict) else {}
    node_affinity = _child(result, "nodeAffinity")
    required = _child(node_affinity, "requiredDuringSchedulingIgnoredDuringExecution")
    wanted = required_expressions(selector)
    terms = [t for t in required.get("nodeSelectorTerms") or [] if isinstance(t, dict)]
    required["nodeSelectorTerms"] = [_with_expressions(term, wanted) for term in terms] or [
        {"matchExpressions": wanted}]
    return result


def _with_expressions(term: dict[str, Any], wanted: list[dict[str, Any]]) -> dict[str, Any]:
    if not term.get("matchExpressions") and not term.get("matchFields"):
        return term  # an empty term matches no node (Kubernetes API): adding to it would widen the chart's choice
    expressions = [e for e in term.get("matchExpressions") or [] if isinstance(e, dict)]
    return {**term, "matchExpressions": expressions + [e for e in wanted if e not in expressions]}
