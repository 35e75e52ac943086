"""The scheduler's filters, as kube-scheduler's default profile runs them: NodeUnschedulable, TaintToleration,
NodeAffinity (``spec.nodeSelector`` and required node affinity), in that order, a node failing at the first filter
that rejects it. Resources are not accounted. A pod that fits nowhere gets the scheduler's own message:

    0/12 nodes are available: 3 node(s) had untolerated taint {dedicated: vdu}, 9 node(s) didn't match Pod's node
    affinity/selector. preemption: 0/12 nodes are available: 12 Preemption is not helpful for scheduling.

(the reasons counted per node, "<count> <reason>" strings sorted as strings, as ``FitError.Error()`` does; every
reason here is UnschedulableAndUnresolvable, so preemption is never helpful).

Node affinity follows the API's documented semantics: ``nodeSelectorTerms`` are ORed, the requirements of a term
ANDed; a term with no requirements matches no node; operators In, NotIn, Exists, DoesNotExist, Gt, Lt (Gt/Lt compare
the label's value as an integer; NotIn and DoesNotExist match a node without the label); ``matchFields`` knows
``metadata.name`` with In and NotIn.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

Obj = dict[str, Any]

# Taints a real DaemonSet controller tolerates on its own pods.
DAEMON_TOLERATED = ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable",
                    "node.kubernetes.io/disk-pressure", "node.kubernetes.io/memory-pressure",
                    "node.kubernetes.io/pid-pressure", "node.kubernetes.io/unschedulable",
                    "node.kubernetes.io/network-unavailable")
# What the node lifecycle controller puts on a node that is not Ready (kubesim only flips the condition).
NOT_READY_TAINT = {"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}
UNSCHEDULABLE_TAINT = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}

UNSCHEDULABLE = "node(s) were unschedulable"
NO_AFFINITY_MATCH = "node(s) didn't match Pod's node affinity/selector"


def node_ready(node: Obj) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in node.get("status", {}).get("conditions") or [])


def tolerates(tolerations: list[Obj], taint: Obj) -> bool:
    for tol in tolerations:
        if tol.get("effect") and tol.get("effect") != taint.get("effect"):
            continue
        if tol.get("operator") == "Exists" and (not tol.get("key") or tol.get("key") == taint.get("key")):
            return True
        if tol.get("key") == taint.get("key") and tol.get("value", "") == taint.get("value", ""):
            return True
    return False


def _requirement_holds(requirement: Obj, labels: Mapping[str, str]) -> bool:
    key, op, values = str(requirement.get("key")), requirement.get("operator"), requirement.get("values") or []
    value = labels.get(key)
    if op in ("Gt", "Lt"):
        return _compares(op, value, values)
    holds = {"In": value is not None and value in values, "NotIn": value is None or value not in values,
             "Exists": value is not None, "DoesNotExist": value is None}
    return holds.get(str(op), False)  # an unknown operator: the API would have refused the pod


def _compares(op: str, value: str | None, values: list[Any]) -> bool:
    """Gt/Lt: the label's value and the one bound as integers; no label, or not integers: no match."""
    if value is None or len(values) != 1:
        return False
    try:
        have, bound = int(value), int(values[0])
    except ValueError:
        return False
    return have > bound if op == "Gt" else have < bound


def _term_matches(term: Obj, node: Obj) -> bool:
    expressions, fields = term.get("matchExpressions") or [], term.get("matchFields") or []
    if not expressions and not fields:
        return False
    labels = node["metadata"].get("labels") or {}
    node_fields = {"metadata.name": node["metadata"]["name"]}
    return (all(_requirement_holds(e, labels) for e in expressions)
            and all(f.get("operator") in ("In", "NotIn") and _requirement_holds(f, node_fields) for f in fields))


def affinity_matches(spec: Obj, node: Obj) -> bool:
    """``spec.nodeSelector`` (every label, with its value) and the required node affinity's terms."""
    labels = node["metadata"].get("labels") or {}
    if any(labels.get(k) != v for k, v in (spec.get("nodeSelector") or {}).items()):
        return False
    required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = required.get("nodeSelectorTerms") or []
    return not terms or any(_term_matches(t, node) for t in terms)


def _untolerated(spec: Obj, node: Obj, daemon: bool) -> Obj | None:
    """The first NoSchedule/NoExecute taint the pod does not tolerate (a not-Ready node's included)."""
    taints = list(node.get("spec", {}).get("taints") or [])
    if not node_ready(node) and not any(t.get("key") == NOT_READY_TAINT["key"] for t in taints):
        taints.append(NOT_READY_TAINT)
    tolerations = spec.get("tolerations") or []
    for taint in taints:
        if taint.get("effect") not in ("NoSchedule", "NoExecute") or tolerates(tolerations, taint):
            continue
        if daemon and taint.get("key") in DAEMON_TOLERATED:
            continue
        found: Obj = taint
        return found
    return None


def rejection(spec: Obj, node: Obj, daemon: bool = False) -> str | None:
    """Why the scheduler's filters reject `node` for a pod of `spec` (the first filter's reason); None: it fits."""
    if (node.get("spec", {}).get("unschedulable") and not daemon
            and not tolerates(spec.get("tolerations") or [], UNSCHEDULABLE_TAINT)):
        return UNSCHEDULABLE
    taint = _untolerated(spec, node, daemon)
    if taint is not None:
        return f"node(s) had untolerated taint {{{taint.get('key')}: {taint.get('value', '')}}}"
    return None if affinity_matches(spec, node) else NO_AFFINITY_MATCH


def fits(spec: Obj, node: Obj, daemon: bool = False) -> bool:
    return rejection(spec, node, daemon) is None


def unschedulable_message(spec: Obj, nodes: Iterable[Obj]) -> str:
    """The PodScheduled=False/Unschedulable condition's message for a pod no node fits."""
    every = list(nodes)
    counts = Counter(reason for node in every if (reason := rejection(spec, node)) is not None)
    total = len(every)
    reasons = sorted(f"{count} {reason}" for reason, count in counts.items())
    message = f"0/{total} nodes are available" + (f": {', '.join(reasons)}." if reasons else ".")
    return f"{message} preemption: 0/{total} nodes are available: {total} Preemption is not helpful for scheduling."
