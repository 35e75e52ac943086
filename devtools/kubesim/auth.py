"""Authentication and authorization, as a real API server does them (devtools/kubesim/README.md, "Access control").

- Bearer tokens from a static table: the kubeconfig's admin token is `kubernetes-admin` in `system:masters`;
  ServiceAccount tokens come from `issue()` and stay valid while the ServiceAccount exists. No token at all is
  `system:anonymous`; an unknown token is a 401 `Unauthorized` Status.
- Every request is then authorized by RBAC (`rbac.py`) from its RequestInfo-style attributes; a denial is a 403
  `Forbidden` Status worded like the API server's.
- Creating or changing Roles and bindings passes the API server's escalation check: a user may grant only rules it
  holds, unless it has `escalate` (roles) or `bind` (the referenced role).
- SelfSubjectAccessReview, SelfSubjectRulesReview (`kubectl auth can-i [--list]`) and SelfSubjectReview
  (`kubectl auth whoami`) are answered here.
"""

from __future__ import annotations

import copy
import json
import secrets
from typing import Any

from aiohttp import web

from devtools.kubesim import handlers, kubeconfig
from devtools.kubesim.cluster import Cluster
from devtools.kubesim.errors import ApiError
from devtools.kubesim.handlers import Target, respond
from devtools.kubesim.rbac import (
    CLUSTER_ROLES,
    GROUP,
    MASTERS,
    RBAC_KEYS,
    ROLES,
    Attributes,
    Resolver,
    Rule,
    User,
    missing_rules,
    rules_of,
)

Obj = dict[str, Any]
ADMIN = User("kubernetes-admin", (MASTERS, "system:authenticated"))
ANONYMOUS = User("system:anonymous", ("system:unauthenticated",))
SERVICE_ACCOUNTS = ("", "serviceaccounts")
REVIEW_GROUPS = frozenset({"authorization.k8s.io", "authentication.k8s.io"})
_METHOD_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch"}


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")


def forbidden(user: User, attrs: Attributes) -> ApiError:
    """The API server's words: `<resource>[.group] ["<name>"] is forbidden: User "<u>" cannot <verb> ...`."""
    if not attrs.resource_request:
        return ApiError(403, "Forbidden", f'forbidden: User "{user.name}" cannot {attrs.verb} path "{attrs.path}"',
                        {})
    resource = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    where = f'in the namespace "{attrs.namespace}"' if attrs.namespace else "at the cluster scope"
    why = (f'User "{user.name}" cannot {attrs.verb} resource "{resource}" in API group "{attrs.api_group}" '
           f"{where}")
    return _forbidden(attrs.resource, attrs.api_group, attrs.name, why)


def _forbidden(resource: str, group: str, name: str, why: str) -> ApiError:
    qualified = f"{resource}.{group}" if group else resource
    subject = f'{qualified} "{name}"' if name else qualified
    details: Obj = {"kind": resource}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    return ApiError(403, "Forbidden", f"{subject} is forbidden: {why}", details)


def _go_strings(values: tuple[str, ...]) -> str:
    return "[" + " ".join(json.dumps(v) for v in values) + "]"


def service_account_user(namespace: str, name: str, uid: str = "") -> User:
    return User(f"system:serviceaccount:{namespace}:{name}",
                ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"), uid)


class Access:
    """One server's token table and authorizer. Lives on the server's event loop, like the cluster."""

    def __init__(self, cluster: Cluster, anonymous_is_admin: bool = False) -> None:
        self.cluster = cluster
        self.anonymous = ADMIN if anonymous_is_admin else ANONYMOUS
        self.resolver = Resolver(cluster.store)
        self._users: dict[str, User] = {kubeconfig.TOKEN: ADMIN}
        self._service_accounts: dict[str, tuple[str, str]] = {}

    # --- authentication -------------------------------------------------------------------------------------------

    def issue(self, namespace: str, name: str) -> str:
        """A token for ServiceAccount `namespace/name`. Like a bound token, it authenticates only while that
        ServiceAccount exists (it may be created after the token is issued)."""
        token = f"kubesim-sa.{namespace}.{name}.{secrets.token_hex(16)}"
        self._service_accounts[token] = (namespace, name)
        return token

    def add_user(self, token: str, user: User) -> None:
        """A static token for any identity (tests of User and Group subjects)."""
        self._users[token] = user

    def authenticate(self, request: web.Request) -> User:
        header = request.headers.get("Authorization")
        if header is None:
            return self.anonymous
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise unauthorized()
        user = self._users.get(token)
        if user is not None:
            return user
        account = self._service_accounts.get(token)
        if account is not None:
            sa = self.cluster.store.get(SERVICE_ACCOUNTS, *account)
            if sa is not None:
                return service_account_user(*account, sa["metadata"].get("uid", ""))
        raise unauthorized()

    # --- authorization --------------------------------------------------------------------------------------------

    def require(self, user: User, attrs: Attributes) -> None:
        if not self.resolver.allows(user, attrs):
            raise forbidden(user, attrs)

    @staticmethod
    def attributes(request: web.Request, target: Target) -> Attributes:
        """RequestInfo: the verb from the method (list/watch/deletecollection for collections), a namespace's own
        name as its namespace, and a list or watch narrowed by `metadata.name` naming that object."""
        method, rt, name = request.method, target.rt, target.name or ""
        watch = request.query.get("watch", "").lower() in ("true", "1")
        if method == "GET":
            verb = "watch" if watch else ("get" if name else "list")
        elif method == "DELETE":
            verb = "delete" if name else "deletecollection"
        else:
            verb = _METHOD_VERBS.get(method, method.lower())
        if verb in ("list", "watch") and not name:
            selector = request.query.get("fieldSelector", "")
            for prefix in ("metadata.name==", "metadata.name="):
                if selector.startswith(prefix) and "," not in selector:
                    name = selector[len(prefix):]
                    break
        namespace = target.namespace or ""
        if rt.key == ("", "namespaces") and name:
            namespace = name
        return Attributes(verb=verb, namespace=namespace, api_group=rt.group, api_version=rt.version,
                          resource=rt.plural, subresource=target.subresource or "", name=name)

    # --- escalation prevention ------------------------------------------------------------------------------------

    async def check_escalation(self, request: web.Request, user: User, target: Target, verb: str) -> None:
        """Before a Role or binding is written: compute what would be stored (a dry run of the same request) and
        refuse it when it grants rules the user does not hold."""
        rt = target.rt
        if rt.key not in RBAC_KEYS or verb not in ("create", "update", "patch") or MASTERS in user.groups:
            return
        new, old = await self._outcome(request, target, verb)
        meta = new.get("metadata") or {}
        name, namespace = str(meta.get("name") or ""), str(meta.get("namespace") or "") if rt.namespaced else ""
        if rt.key in (ROLES, CLUSTER_ROLES):
            if old is not None and old.get("rules") == new.get("rules"):
                return
            if self.resolver.allows(user, Attributes("escalate", namespace=namespace, api_group=GROUP,
                                                     resource=rt.plural, name=name)):
                return
            requested = rules_of(new)
        else:
            ref = new.get("roleRef") or {}
            if old is not None and (old.get("roleRef"), old.get("subjects")) == (ref, new.get("subjects")):
                return
            role_resource = "clusterroles" if ref.get("kind") == "ClusterRole" else "roles"
            if self.resolver.allows(user, Attributes("bind", namespace=namespace, api_group=GROUP,
                                                     resource=role_resource, name=str(ref.get("name") or ""))):
                return
            rules = self.resolver.role_rules(ref, namespace)
            if rules is None:
                raise _forbidden(rt.plural, GROUP, name, f'{role_resource}.{GROUP} "{ref.get("name")}" not found')
            requested = rules
        missing = missing_rules(self.resolver.rules_for(user, namespace), requested)
        if missing:
            held = "\n".join(str(rule) for rule in missing)
            raise _forbidden(rt.plural, GROUP, name, f'user "{user.name}" (groups={_go_strings(user.groups)}) is '
                                                     f"attempting to grant RBAC permissions not currently held:\n"
                                                     f"{held}")

    async def _outcome(self, request: web.Request, target: Target, verb: str) -> tuple[Obj, Obj | None]:
        body = await handlers.read_body(request)  # aiohttp keeps the bytes: the real handler reads them again
        if not isinstance(body, dict) and verb != "patch":
            raise ApiError(400, "BadRequest", "the request body must be an object")
        rt, cluster = target.rt, self.cluster
        if verb == "create":
            return cluster.create(rt, target.namespace, body, dry_run=True), None
        assert target.name is not None
        old = cluster.get(rt, target.ns, target.name)
        if verb == "update":
            return cluster.update(rt, target.ns, target.name, body, None, dry_run=True), old
        patch_type = handlers.PATCH_TYPES.get(request.content_type)
        if patch_type is None:
            raise ApiError(415, "UnsupportedMediaType", f"the body of the request was in an unknown format: "
                                                       f"{request.content_type}")
        new, created = cluster.patch(rt, target.ns, target.name, patch_type, body, None, dry_run=True)
        return new, None if created else old

    # --- self reviews ---------------------------------------------------------------------------------------------

    async def review(self, request: web.Request, user: User, target: Target) -> web.Response:
        """SelfSubjectAccessReview, SelfSubjectRulesReview and SelfSubjectReview: answered, never stored."""
        if request.method != "POST" or target.name is not None:
            raise ApiError(405, "MethodNotAllowed", f"{request.method} is not supported on {request.path}", {})
        body = await handlers.read_body(request)
        review = copy.deepcopy(body) if isinstance(body, dict) else {}
        review.update(apiVersion=target.rt.api_version, kind=target.rt.kind)
        review.setdefault("metadata", {})
        spec = review.get("spec") or {}
        if target.rt.plural == "selfsubjectreviews":
            review["status"] = {"userInfo": {"username": user.name, "uid": user.uid, "groups": list(user.groups)}}
        elif target.rt.plural == "selfsubjectrulesreviews":
            review["status"] = self._rules_review(user, str(spec.get("namespace") or ""))
        else:
            allowed = self.resolver.allows(user, _review_attributes(spec))
            review["status"] = {"allowed": allowed}
        return respond(review, 201)

    def _rules_review(self, user: User, namespace: str) -> Obj:
        resource: list[Obj] = []
        non_resource: list[Obj] = []
        for rule in self.resolver.rules_for(user, namespace):
            if rule.non_resource_urls:
                non_resource.append({"verbs": list(rule.verbs), "nonResourceURLs": list(rule.non_resource_urls)})
            else:
                entry: Obj = {"verbs": list(rule.verbs), "apiGroups": list(rule.api_groups),
                              "resources": list(rule.resources)}
                if rule.resource_names:
                    entry["resourceNames"] = list(rule.resource_names)
                resource.append(entry)
        return {"resourceRules": resource, "nonResourceRules": non_resource, "incomplete": False}


def _review_attributes(spec: Obj) -> Attributes:
    resource = spec.get("resourceAttributes")
    if isinstance(resource, dict):
        return Attributes(verb=str(resource.get("verb") or ""), namespace=str(resource.get("namespace") or ""),
                          api_group=str(resource.get("group") or ""), api_version=str(resource.get("version") or ""),
                          resource=str(resource.get("resource") or ""),
                          subresource=str(resource.get("subresource") or ""), name=str(resource.get("name") or ""))
    other = spec.get("nonResourceAttributes") or {}
    return Attributes(verb=str(other.get("verb") or ""), resource_request=False, path=str(other.get("path") or ""))


__all__ = ["ADMIN", "ANONYMOUS", "Access", "Rule", "User", "forbidden", "service_account_user", "unauthorized"]
