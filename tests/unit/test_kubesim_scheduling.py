"""kubesim's scheduler filters as Kubernetes documents them (node affinity operators, terms ORed and requirements
ANDed, taints and tolerations), and its message for a pod that fits nowhere in kube-scheduler's own form: the
placement guarantee is tested against these, so a lenient simulator would prove nothing."""

from __future__ import annotations

from typing import Any

import pytest

from devtools.kubesim.controllers.scheduling import fits, rejection, unschedulable_message

Obj = dict[str, Any]


def node(name: str, labels: dict[str, str] | None = None, taints: list[Obj] | None = None, ready: bool = True,
         unschedulable: bool = False) -> Obj:
    spec: Obj = {"taints": taints or []}
    if unschedulable:
        spec["unschedulable"] = True
    return {"metadata": {"name": name, "labels": labels or {}}, "spec": spec,
            "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def required(*terms: Obj) -> Obj:
    return {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": list(terms)}}}}


def expr(key: str, operator: str, *values: str) -> Obj:
    return {"key": key, "operator": operator, **({"values": list(values)} if values else {})}


LABELLED = node("n1", {"pool": "du", "cores": "64"})


@pytest.mark.parametrize(("expression", "expected"), [
    (expr("pool", "In", "du", "cu"), True), (expr("pool", "In", "cu"), False),
    (expr("pool", "NotIn", "cu"), True), (expr("pool", "NotIn", "du"), False), (expr("absent", "NotIn", "x"), True),
    (expr("pool", "Exists"), True), (expr("absent", "Exists"), False),
    (expr("absent", "DoesNotExist"), True), (expr("pool", "DoesNotExist"), False),
    (expr("cores", "Gt", "32"), True), (expr("cores", "Gt", "64"), False), (expr("cores", "Lt", "65"), True),
    (expr("pool", "Gt", "1"), False), (expr("absent", "Lt", "1"), False),
])
def test_each_operator_means_what_the_api_documents(expression: Obj, expected: bool) -> None:
    assert fits(required({"matchExpressions": [expression]}), LABELLED) is expected


def test_terms_are_ored_and_the_requirements_of_a_term_anded() -> None:
    wrong, right = expr("pool", "In", "cu"), expr("pool", "In", "du")
    assert fits(required({"matchExpressions": [wrong]}, {"matchExpressions": [right]}), LABELLED)
    assert not fits(required({"matchExpressions": [right, wrong]}), LABELLED)


def test_an_empty_term_matches_no_node() -> None:
    assert not fits(required({}), LABELLED)
    assert fits(required({}, {"matchExpressions": [expr("pool", "Exists")]}), LABELLED)


def test_match_fields_select_by_node_name() -> None:
    by_name = {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}
    assert fits(required(by_name), LABELLED) and not fits(required(by_name), node("n2", {"pool": "du"}))


def test_node_selector_and_affinity_must_both_hold() -> None:
    spec = {"nodeSelector": {"pool": "du"}, **required({"matchExpressions": [expr("cores", "Gt", "100")]})}
    assert not fits(spec, LABELLED)
    assert not fits({"nodeSelector": {"pool": ""}}, node("n", {}))


def test_taints_need_a_toleration_and_not_ready_or_cordoned_nodes_take_nothing() -> None:
    tainted = node("t", taints=[{"key": "dedicated", "value": "vdu", "effect": "NoSchedule"}])
    assert rejection({}, tainted) == "node(s) had untolerated taint {dedicated: vdu}"
    assert fits({"tolerations": [{"key": "dedicated", "operator": "Equal", "value": "vdu"}]}, tainted)
    assert fits({"tolerations": [{"operator": "Exists"}]}, tainted)
    assert not fits({"tolerations": [{"key": "dedicated", "value": "x"}]}, tainted)
    assert fits({}, node("p", taints=[{"key": "soft", "effect": "PreferNoSchedule"}]))
    assert rejection({}, node("r", ready=False)) == "node(s) had untolerated taint {node.kubernetes.io/not-ready: }"
    assert rejection({}, node("c", unschedulable=True)) == "node(s) were unschedulable"


def test_a_pod_that_fits_nowhere_gets_the_schedulers_message() -> None:
    nodes = [node(f"t{i}", {"pool": "du"}, [{"key": "dedicated", "value": "vdu", "effect": "NoSchedule"}])
             for i in range(3)] + [node(f"g{i}", {"pool": "general"}) for i in range(9)]
    spec = {"nodeSelector": {"pool": "du"}}
    assert unschedulable_message(spec, nodes) == (
        "0/12 nodes are available: 3 node(s) had untolerated taint {dedicated: vdu}, 9 node(s) didn't match Pod's "
        "node affinity/selector. preemption: 0/12 nodes are available: 12 Preemption is not helpful for scheduling.")
    assert unschedulable_message(spec, []) == ("0/0 nodes are available. preemption: 0/0 nodes are available: 0 "
                                               "Preemption is not helpful for scheduling.")
