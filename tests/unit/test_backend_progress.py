"""How the backends' own states read as provisioning progress (the tables in docs/aws-backend.md and
docs/dtias-backend.md "Provisioning requests"), and the taints a node group may be asked for."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.adapters.ims.aws_pools import optional_create_fields
from chalicelib.adapters.ims.aws_provisioning import nodegroup_progress
from chalicelib.adapters.ims.dtias_provisioning import awaiting_resources, group_progress
from chalicelib.domain.errors import BadRequest


def group(status: str, issues: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {"status": status, "scalingConfig": {"desiredSize": 3}, "health": {"issues": issues or []}}


@pytest.mark.parametrize(("status", "deleting", "state", "message"), [
    ("CREATING", False, "progressing", ""),
    ("UPDATING", False, "progressing", ""),
    ("ACTIVE", False, "ready", ""),
    ("CREATE_FAILED", False, "failed", "node group CREATE_FAILED"),
    ("DELETE_FAILED", True, "failed", "node group DELETE_FAILED"),
    ("DEGRADED", False, "failed", "node group DEGRADED"),
    ("DELETING", True, "progressing", ""),
    ("DELETING", False, "failed", "node group is being deleted by someone else"),
])
def test_eks_node_group_states_read_as_progress(status: str, deleting: bool, state: str, message: str) -> None:
    progress = nodegroup_progress(group(status), deleting)
    assert (progress.state, progress.backend_state, progress.message) == (state, status, message)


def test_a_ready_node_group_says_its_desired_size_and_a_failed_one_its_health_issues() -> None:
    assert nodegroup_progress(group("ACTIVE"), False).desired_nodes == 3
    failed = nodegroup_progress(group("CREATE_FAILED", [{"code": "IamNodeRoleNotFound", "message": "no role"},
                                                        {"message": "capacity"}]), False)
    assert failed.message == "IamNodeRoleNotFound: no role; capacity"


def test_a_dtias_group_read_without_a_job_is_ready_once_every_selector_holds_its_servers() -> None:
    selector = {"rpId": "p", "numResources": 2, "resources": [{"Id": "a"}]}
    waiting = group_progress({"resourceSelectors": {"worker": selector}}, deleting=False)
    assert (waiting.state, waiting.desired_nodes) == ("progressing", 2)
    full = {**selector, "resources": [{"Id": "a"}, {"Id": "b"}]}
    assert group_progress({"resourceSelectors": {"worker": full}}, deleting=False).state == "ready"
    assert group_progress({"resourceSelectors": {"worker": full}}, deleting=True).state == "progressing"


@pytest.mark.parametrize(("reason", "expected"), [
    ("insufficient free resources in resource pool 7 for selector worker: requested 40, available 6", True),
    ("Insufficient resources: pool exhausted", True),
    ("not enough free servers in pool ran-du", True),
    ("BIOS profile du-telco could not be applied", False),
    ("", False),
])
def test_dtias_reasons_that_mean_not_enough_free_servers(reason: str, expected: bool) -> None:
    assert awaiting_resources(reason) is expected


def test_taints_are_passed_in_eks_form() -> None:
    taints = [{"key": "dedicated", "value": "ran", "effect": "NO_SCHEDULE"}, {"key": "gpu", "effect": "NO_EXECUTE"}]
    assert optional_create_fields({"taints": taints})["taints"] == taints


@pytest.mark.parametrize(("taints", "field"), [
    pytest.param("dedicated=ran", "extensions.taints must be a list", id="not-a-list"),
    pytest.param([{"key": "k", "effect": "NoSchedule"}], r"extensions.taints\[0\].effect", id="kubernetes-spelling"),
    pytest.param([{"key": "k", "effect": "NO_SCHEDULE"}, {"effect": "NO_SCHEDULE"}], r"extensions.taints\[1\].key",
                 id="no-key"),
    pytest.param([{"key": "k" * 64, "effect": "NO_SCHEDULE"}], r"extensions.taints\[0\].key", id="long-key"),
    pytest.param([{"key": "k", "value": "v" * 64, "effect": "NO_SCHEDULE"}], r"extensions.taints\[0\].value",
                 id="long-value"),
    pytest.param([{"key": "k", "effect": "NO_SCHEDULE", "operator": "Equal"}], r"extensions.taints\[0\] must",
                 id="unknown-field"),
    pytest.param([{"key": f"k{i}", "effect": "NO_SCHEDULE"} for i in range(51)], "at most 50", id="too-many"),
])
def test_taints_eks_would_refuse_are_refused_naming_the_field(taints: Any, field: str) -> None:
    with pytest.raises(BadRequest, match=field):
        optional_create_fields({"taints": taints})
