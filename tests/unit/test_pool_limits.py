"""Pool limits (docs/security.md, "Limits and disclosure"): sizes and instance types are checked before any backend
is asked, on creation and on resize."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.adapters.ims.port import PoolRequest
from chalicelib.services.resource_pools import PoolLimitExceeded, PoolLimits, check_limits, create_pool


class _NoRegistry:
    """A registry no request within the limits reaches in these tests: asking it is a failure."""

    def get(self, backend_id: str | None) -> Any:
        raise AssertionError(f"the backend {backend_id} was asked although the limits refuse the request")


def _refusal(request: PoolRequest, limits: PoolLimits, creating: bool = True) -> str:
    with pytest.raises(PoolLimitExceeded) as caught:
        check_limits(request, limits, creating)
    assert caught.value.status == 422 and caught.value.slug == "pool-limit-exceeded"
    return caught.value.detail


def test_default_limits_refuse_more_than_50_nodes_and_allow_any_instance_type() -> None:
    check_limits(PoolRequest(name="p", instance_type="x9.anything", replicas=50), PoolLimits(), creating=True)
    detail = _refusal(PoolRequest(name="p", replicas=51), PoolLimits())
    assert detail == "extensions.replicas: 51 exceeds this gateway's limit of 50 nodes per pool"


@pytest.mark.parametrize("key", ["replicas", "minSize", "maxSize"])
def test_every_size_in_the_extensions_is_bounded(key: str) -> None:
    assert f"extensions.{key}: 9 exceeds" in _refusal(PoolRequest(name="p", extensions={key: 9}),
                                                      PoolLimits(max_replicas=8))


def test_malformed_sizes_are_left_to_the_backend_which_names_them() -> None:
    check_limits(PoolRequest(name="p", extensions={"replicas": "many", "maxSize": True}), PoolLimits(1), True)


def test_an_allow_list_refuses_other_types_and_on_creation_wants_one_named() -> None:
    limits = PoolLimits(instance_types=frozenset({"m5.large", "c5.xlarge"}))
    check_limits(PoolRequest(name="p", extensions={"instanceType": "m5.large"}), limits, creating=True)
    assert _refusal(PoolRequest(name="p", instance_type="p4d.24xlarge"), limits) == (
        "extensions.instanceType: 'p4d.24xlarge' is not allowed on this gateway; allowed: c5.xlarge, m5.large")
    assert "is required" in _refusal(PoolRequest(name="p"), limits)
    check_limits(PoolRequest(name="", replicas=2), limits, creating=False)  # a resize keeps the pool's type
    assert "is not allowed" in _refusal(PoolRequest(name="p", extensions={"instanceType": ["m5.large"]}), limits)


def test_create_refuses_before_asking_the_backend() -> None:
    registry: Any = _NoRegistry()
    context: Any = None
    with pytest.raises(PoolLimitExceeded):
        create_pool(registry, context, PoolRequest(name="p", replicas=1000), None, lambda _: None)
