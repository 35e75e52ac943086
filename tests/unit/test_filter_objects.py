"""A subscription filter given as an object (chalicelib/domain/filter_objects.py): its O2 text, what it lets through."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.domain.errors import BadRequest
from chalicelib.domain.filter_objects import object_filter
from chalicelib.domain.query import parse_filter, parse_subscription_filter
from chalicelib.domain.subscriptions import SubscriptionKind

POOL = "pool-vdu-123"


def reported(selection: dict[str, Any], document: dict[str, Any]) -> bool:
    """Whether an inventory subscription with this object filter hears about `document` (O2ims: a match is skipped)."""
    return not parse_subscription_filter(object_filter(SubscriptionKind.INVENTORY, selection)).matches(document)


def test_an_inventory_subscription_hears_only_about_the_pool_it_names() -> None:
    assert reported({"resourcePoolId": POOL}, {"resourceId": "r1", "resourcePoolId": POOL})
    assert not reported({"resourcePoolId": POOL}, {"resourceId": "r2", "resourcePoolId": "pool-other"})
    assert not reported({"resourcePoolId": POOL}, {"resourceTypeId": "t1", "name": "c6i.metal-amd64"})


def test_every_attribute_must_match_and_a_list_means_any_of() -> None:
    wanted = {"resourcePoolId": [POOL, "pool-cu"], "description": "du"}
    assert reported(wanted, {"resourcePoolId": "pool-cu", "description": "du"})
    assert not reported(wanted, {"resourcePoolId": "pool-cu", "description": "cu"})
    assert object_filter(SubscriptionKind.INVENTORY, wanted) == (
        "(nin,resourcePoolId,pool-vdu-123,pool-cu)|(neq,description,du)")


def test_a_dms_object_filter_selects() -> None:
    text = object_filter(SubscriptionKind.DMS, {"namespace": "oran du", "name": "du-1"})
    assert text == "(eq,namespace,'oran du');(eq,name,du-1)"
    assert parse_filter(text).matches({"namespace": "oran du", "name": "du-1"})
    assert not parse_filter(text).matches({"namespace": "oran du", "name": "du-2"})


@pytest.mark.parametrize("selection", [{}, {"a": ""}, {"a": []}, {"a": [""]}, {"a": 5}, {"": "x"},
                                       {f"a{i}": "x" for i in range(17)}, {"a": [str(i) for i in range(33)]}])
def test_what_is_not_attribute_to_values_is_a_400(selection: dict[str, Any]) -> None:
    with pytest.raises(BadRequest, match="filter"):
        object_filter(SubscriptionKind.ALARM, selection)
