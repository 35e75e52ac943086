"""kubesim's RBAC rule logic (devtools/kubesim/rbac.py), pure: matching a request and covering a requested rule."""

from __future__ import annotations

import pytest

from devtools.kubesim.rbac import Attributes, Rule, missing_rules


def rule(verbs: list[str], groups: list[str] | None = None, resources: list[str] | None = None,
         names: list[str] | None = None, urls: list[str] | None = None) -> Rule:
    return Rule.of({"verbs": verbs, "apiGroups": groups or [], "resources": resources or [],
                    "resourceNames": names or [], "nonResourceURLs": urls or []})


@pytest.mark.parametrize(("granted", "attrs", "allowed"), [
    (rule(["get"], [""], ["pods"]), Attributes("get", resource="pods", name="p"), True),
    (rule(["get"], [""], ["pods"]), Attributes("get", resource="pods", subresource="log", name="p"), False),
    (rule(["get"], [""], ["pods/log"]), Attributes("get", resource="pods", subresource="log", name="p"), True),
    (rule(["*"], ["*"], ["*/scale"]), Attributes("update", api_group="apps", resource="deployments",
                                                 subresource="scale", name="d"), True),
    (rule(["get"], [""], ["configmaps"], ["a"]), Attributes("get", resource="configmaps", name="a"), True),
    (rule(["list"], [""], ["configmaps"], ["a"]), Attributes("list", resource="configmaps"), False),
    (rule(["get"], ["apps"], ["deployments"]), Attributes("get", resource="deployments", name="d"), False),
    (rule(["get"], urls=["/apis/*"]), Attributes("get", resource_request=False, path="/apis/apps/v1"), True),
    (rule(["get"], urls=["/apis"]), Attributes("get", resource_request=False, path="/apis/apps"), False),
])
def test_a_rule_allows_what_the_api_server_s_rbac_allows(granted: Rule, attrs: Attributes, allowed: bool) -> None:
    assert granted.allows(attrs) is allowed


def test_coverage_breaks_rules_down_and_needs_wildcards_to_grant_wildcards() -> None:
    held = [rule(["get", "list"], [""], ["pods", "secrets"]), rule(["*"], ["apps"], ["*/scale"])]
    assert missing_rules(held, [rule(["get"], [""], ["pods"], ["one"])]) == []
    assert missing_rules(held, [rule(["update"], ["apps"], ["deployments/scale"])]) == []
    assert [str(r) for r in missing_rules(held, [rule(["get", "delete"], [""], ["pods"])])] == [
        '{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}']
    assert missing_rules(held, [rule(["get"], [""], ["*"])]) == [rule(["get"], [""], ["*"])]
    named = [rule(["get"], [""], ["secrets"], ["a"])]
    assert missing_rules(named, [rule(["get"], [""], ["secrets"])]) == [rule(["get"], [""], ["secrets"])]
    assert missing_rules([rule(["get"], urls=["/logs/*"])], [rule(["get"], urls=["/logs/x"])]) == []
