"""kubesim's authentication and RBAC, checked over https as the API server answers: 401 for unknown tokens, 403
Status bodies in the API server's words, rules with wildcards, subresources and resourceNames, RoleBindings to
ClusterRoles, verbs from HTTP methods, escalation prevention, and the self reviews behind `kubectl auth`."""

from __future__ import annotations

import json
import ssl
import subprocess
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devtools.kubesim import KubeSim, start_kubesim
from devtools.kubesim.auth import User
from devtools.kubesim.kubeconfig import TOKEN
from tests.functional.kubesim.kubesim_helpers import binary

RBAC = "/apis/rbac.authorization.k8s.io/v1"


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeSim]:
    with start_kubesim(port=0, seed="empty", tls=True,
                       kubeconfig_path=tmp_path_factory.mktemp("rbac") / "kubeconfig") as running:
        yield running


def call(sim: KubeSim, method: str, path: str, token: str | None = TOKEN, body: Any = None,
         content_type: str = "application/json") -> tuple[int, Any]:
    assert sim.server.ca_pem is not None
    context = ssl.create_default_context(cadata=sim.server.ca_pem.decode())
    headers = {"Content-Type": content_type, "Accept": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(sim.url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def ok(result: tuple[int, Any]) -> Any:
    status, body = result
    assert status in (200, 201), body
    return body


@pytest.fixture
def namespace(sim: KubeSim) -> str:
    name = f"r-{uuid.uuid4().hex[:8]}"
    ok(call(sim, "POST", "/api/v1/namespaces", body={"metadata": {"name": name}}))
    return name


@pytest.fixture
def account(sim: KubeSim, namespace: str) -> tuple[str, str]:
    """A ServiceAccount `bot` in the test's namespace and a token for it: (user name, token)."""
    ok(call(sim, "POST", f"/api/v1/namespaces/{namespace}/serviceaccounts", body={"metadata": {"name": "bot"}}))
    return f"system:serviceaccount:{namespace}:bot", sim.service_account_token(namespace, "bot")


def grant(sim: KubeSim, namespace: str, rules: list[dict[str, Any]], name: str = "grant") -> None:
    """A Role with `rules` bound to the namespace's `bot` ServiceAccount (written by the admin)."""
    ok(call(sim, "POST", f"{RBAC}/namespaces/{namespace}/roles", body={"metadata": {"name": name}, "rules": rules}))
    ok(call(sim, "POST", f"{RBAC}/namespaces/{namespace}/rolebindings", body={
        "metadata": {"name": name}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": "bot", "namespace": namespace}]}))


def test_an_unknown_token_is_401_and_no_token_is_the_anonymous_user(sim: KubeSim) -> None:
    assert call(sim, "GET", "/api/v1/namespaces", token="forged") == (401, {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": "Unauthorized",
        "reason": "Unauthorized", "code": 401})
    status, body = call(sim, "GET", "/api/v1/namespaces", token=None)
    assert (status, body["reason"], body["message"]) == (403, "Forbidden", 'namespaces is forbidden: User '
            '"system:anonymous" cannot list resource "namespaces" in API group "" at the cluster scope')
    assert call(sim, "GET", "/version", token=None)[0] == 200  # system:public-info-viewer
    assert call(sim, "GET", "/apis", token=None)[0] == 403  # discovery needs an authenticated user
    assert ok(call(sim, "GET", "/api/v1/namespaces"))["items"]  # the admin token: system:masters


def test_a_service_account_token_works_only_while_the_account_exists(sim: KubeSim, namespace: str) -> None:
    token = sim.service_account_token(namespace, "later")
    assert call(sim, "GET", "/apis", token=token)[0] == 401
    ok(call(sim, "POST", f"/api/v1/namespaces/{namespace}/serviceaccounts", body={"metadata": {"name": "later"}}))
    assert call(sim, "GET", "/apis", token=token)[0] == 200  # system:discovery
    status, body = call(sim, "GET", f"/api/v1/namespaces/{namespace}/pods", token=token)
    assert (status, body["details"]) == (403, {"kind": "pods"})
    ok(call(sim, "DELETE", f"/api/v1/namespaces/{namespace}/serviceaccounts/later"))
    assert call(sim, "GET", "/apis", token=token)[0] == 401


def test_rules_verbs_wildcards_subresources_and_resource_names(sim: KubeSim, namespace: str,
                                                               account: tuple[str, str]) -> None:
    user, token = account
    for name in ("a", "b"):
        ok(call(sim, "POST", f"/api/v1/namespaces/{namespace}/configmaps", body={"metadata": {"name": name}}))
    grant(sim, namespace, [
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "update"], "resourceNames": ["a"]},
        {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
        {"apiGroups": ["apps"], "resources": ["*"], "verbs": ["list"]},
        {"apiGroups": ["*"], "resources": ["*/scale"], "verbs": ["*"]},
    ])
    base = f"/api/v1/namespaces/{namespace}"
    assert call(sim, "GET", f"{base}/configmaps/a", token=token)[0] == 200
    status, body = call(sim, "GET", f"{base}/configmaps/b", token=token)
    assert (status, body["message"], body["details"]) == (403, (
        f'configmaps "b" is forbidden: User "{user}" cannot get resource "configmaps" in API group "" in the '
        f'namespace "{namespace}"'), {"kind": "configmaps", "name": "b"})
    assert call(sim, "GET", f"{base}/configmaps", token=token)[0] == 403  # resourceNames never allow a list
    # A list narrowed to one name by metadata.name is authorized as that name, as the API server does.
    assert call(sim, "GET", f"{base}/configmaps?fieldSelector=metadata.name%3Da", token=token)[0] == 200
    assert call(sim, "PATCH", f"{base}/configmaps/a", token=token, body={"data": {"k": "v"}},
                content_type="application/merge-patch+json")[0] == 403  # update is granted, patch is not
    assert call(sim, "DELETE", f"{base}/configmaps", token=token)[0] == 403
    status, body = call(sim, "GET", f"{base}/pods/p/log", token=token)
    assert status == 404  # allowed, and the pod does not exist
    status, body = call(sim, "GET", f"{base}/pods/p", token=token)
    assert body["message"].endswith(f'cannot get resource "pods" in API group "" in the namespace "{namespace}"')
    assert call(sim, "GET", f"/apis/apps/v1/namespaces/{namespace}/statefulsets", token=token)[0] == 200
    status, body = call(sim, "GET", f"/apis/apps/v1/namespaces/{namespace}/statefulsets?watch=true", token=token)
    assert status == 403 and "cannot watch resource" in body["message"]
    status, body = call(sim, "GET", f"/apis/apps/v1/namespaces/{namespace}/deployments/d/status", token=token)
    assert body["message"] == (f'deployments.apps "d" is forbidden: User "{user}" cannot get resource '
                               f'"deployments/status" in API group "apps" in the namespace "{namespace}"')
    assert call(sim, "GET", f"/apis/apps/v1/namespaces/{namespace}/deployments/d/scale", token=token)[0] == 404
    status, body = call(sim, "GET", "/apis/apps/v1/deployments", token=token)  # all namespaces: cluster scope
    assert body["message"] == (f'deployments.apps is forbidden: User "{user}" cannot list resource "deployments" '
                               f'in API group "apps" at the cluster scope')


def test_role_bindings_to_cluster_roles_and_group_subjects(sim: KubeSim, namespace: str) -> None:
    other = f"{namespace}-b"
    ok(call(sim, "POST", "/api/v1/namespaces", body={"metadata": {"name": other}}))
    sim.call(lambda _: sim.server.access.add_user("ops-token", User("alice", ("ops", "system:authenticated"))))
    role = f"reader-{namespace}"
    ok(call(sim, "POST", f"{RBAC}/clusterroles", body={"metadata": {"name": role}, "rules": [
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]}]}))
    ok(call(sim, "POST", f"{RBAC}/namespaces/{namespace}/rolebindings", body={
        "metadata": {"name": "ops"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                                 "name": role},
        "subjects": [{"kind": "Group", "name": "ops", "apiGroup": "rbac.authorization.k8s.io"}]}))
    assert call(sim, "GET", f"/api/v1/namespaces/{namespace}/secrets", token="ops-token")[0] == 200
    assert call(sim, "GET", f"/api/v1/namespaces/{other}/secrets", token="ops-token")[0] == 403
    assert call(sim, "GET", "/api/v1/secrets", token="ops-token")[0] == 403
    # A namespace's own name is its namespace: the RoleBinding lets alice read that Namespace object only.
    ok(call(sim, "PATCH", f"{RBAC}/clusterroles/{role}", content_type="application/merge-patch+json", body={
        "rules": [{"apiGroups": [""], "resources": ["secrets", "namespaces"], "verbs": ["get", "list"]}]}))
    assert call(sim, "GET", f"/api/v1/namespaces/{namespace}", token="ops-token")[0] == 200
    assert call(sim, "GET", f"/api/v1/namespaces/{other}", token="ops-token")[0] == 403
    ok(call(sim, "DELETE", f"{RBAC}/namespaces/{namespace}/rolebindings/ops"))
    assert call(sim, "GET", f"/api/v1/namespaces/{namespace}/secrets", token="ops-token")[0] == 403


def test_escalation_a_user_grants_only_what_it_holds(sim: KubeSim, namespace: str, account: tuple[str, str]) -> None:
    user, token = account
    grant(sim, namespace, [  # not "*": that includes escalate and bind
        {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles", "rolebindings"],
         "verbs": ["get", "create", "update", "patch", "delete"]},
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}])
    roles, bindings = f"{RBAC}/namespaces/{namespace}/roles", f"{RBAC}/namespaces/{namespace}/rolebindings"
    status, body = call(sim, "POST", roles, token=token, body={"metadata": {"name": "more"}, "rules": [
        {"apiGroups": [""], "resources": ["configmaps", "secrets"], "verbs": ["get"]}]})
    groups = f'["system:serviceaccounts" "system:serviceaccounts:{namespace}" "system:authenticated"]'
    assert (status, body["reason"], body["message"]) == (403, "Forbidden", (
        f'roles.rbac.authorization.k8s.io "more" is forbidden: user "{user}" (groups={groups}) is attempting to '
        f'grant RBAC permissions not currently held:\n{{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}}'))
    assert call(sim, "GET", f"{roles}/more")[0] == 404  # nothing was stored
    ok(call(sim, "POST", roles, token=token, body={"metadata": {"name": "same"}, "rules": [
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}]}))
    status, _ = call(sim, "PATCH", f"{roles}/same", token=token, content_type="application/merge-patch+json",
                     body={"rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]})
    assert status == 403
    # A binding to a role holding more than the user: refused, whether the role is a Role or a ClusterRole.
    ok(call(sim, "POST", roles, body={"metadata": {"name": "big"}, "rules": [
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}]}))
    for kind, name in (("ClusterRole", "cluster-admin"), ("Role", "big")):
        status, body = call(sim, "POST", bindings, token=token, body={
            "metadata": {"name": f"to-{name}"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind,
                                                            "name": name},
            "subjects": [{"kind": "ServiceAccount", "name": "bot", "namespace": namespace}]})
        assert status == 403 and "attempting to grant RBAC permissions not currently held" in body["message"]
    ok(call(sim, "POST", bindings, token=token, body={
        "metadata": {"name": "to-same"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                                     "name": "same"},
        "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": namespace}]}))
    # `escalate` on roles and `bind` on a named ClusterRole lift the check, as they do on a real API server.
    grant(sim, namespace, [{"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"],
                            "verbs": ["escalate"]},
                           {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"],
                            "verbs": ["bind"], "resourceNames": ["cluster-admin"]}], name="lift")
    ok(call(sim, "POST", roles, token=token, body={"metadata": {"name": "more"}, "rules": [
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]}))
    ok(call(sim, "POST", bindings, token=token, body={
        "metadata": {"name": "to-cluster-admin"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": namespace}]}))


def test_cluster_roles_need_cluster_wide_rules(sim: KubeSim, namespace: str, account: tuple[str, str]) -> None:
    _, token = account
    grant(sim, namespace, [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}])  # admin of its namespace
    status, body = call(sim, "POST", f"{RBAC}/clusterroles", token=token, body={
        "metadata": {"name": f"x-{namespace}"}, "rules": [{"apiGroups": [""], "resources": ["pods"],
                                                          "verbs": ["get"]}]})
    assert status == 403 and "cannot create resource \"clusterroles\"" in body["message"]
    status, body = call(sim, "POST", f"/api/v1/namespaces/{namespace}/secrets", token=token,
                        body={"metadata": {"name": "s"}})
    assert status == 201


def test_kubectl_auth_can_i_and_whoami(sim: KubeSim, namespace: str, account: tuple[str, str],
                                       tmp_path: Path) -> None:
    user, _ = account
    grant(sim, namespace, [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["create"]}])
    config = sim.write_service_account_kubeconfig(tmp_path / "sa", namespace, "bot")
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}

    def kubectl(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(binary("kubectl")), "--kubeconfig", str(config), *args], capture_output=True,
                              text=True, env=env, timeout=30, check=False)

    assert kubectl("auth", "can-i", "create", "deployments", "-n", namespace).stdout.strip() == "yes"
    assert kubectl("auth", "can-i", "create", "deployments", "-n", "default").stdout.strip() == "no"
    assert kubectl("auth", "can-i", "delete", "deployments", "-n", namespace).stdout.strip() == "no"
    assert user in kubectl("auth", "whoami").stdout
    listed = kubectl("auth", "can-i", "--list", "-n", namespace).stdout
    assert "deployments.apps" in listed and "[create]" in listed
    denied = kubectl("get", "secrets", "-n", namespace)
    assert denied.returncode != 0 and (f'secrets is forbidden: User "{user}" cannot list resource "secrets"'
                                       in denied.stderr)
