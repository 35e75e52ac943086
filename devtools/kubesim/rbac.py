"""RBAC as the Kubernetes API server evaluates it: which rules a user holds (from the Role, ClusterRole, RoleBinding
and ClusterRoleBinding objects in the store), whether a request's attributes are allowed, and whether a set of rules
is covered by the rules a user holds (the escalation check). Pure logic over the store: no HTTP here.

Semantics follow kubernetes.io/docs/reference/access-authn-authz/rbac/ and the API server's `rbac` authorizer:
`*` in verbs, apiGroups and resources; `*/sub` for a subresource of any resource; `resourceNames` only match requests
that name an object; nonResourceURLs with a trailing `*` match by prefix. ClusterRole aggregation is not simulated.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from devtools.kubesim.resources import StoreKey
from devtools.kubesim.store import Event, Store

Obj = dict[str, Any]
GROUP = "rbac.authorization.k8s.io"
ROLES: StoreKey = (GROUP, "roles")
CLUSTER_ROLES: StoreKey = (GROUP, "clusterroles")
ROLE_BINDINGS: StoreKey = (GROUP, "rolebindings")
CLUSTER_ROLE_BINDINGS: StoreKey = (GROUP, "clusterrolebindings")
RBAC_KEYS = frozenset({ROLES, CLUSTER_ROLES, ROLE_BINDINGS, CLUSTER_ROLE_BINDINGS})
MASTERS = "system:masters"  # the API server's privileged group: allowed everything before RBAC is asked


@dataclass(frozen=True)
class User:
    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""


@dataclass(frozen=True)
class Attributes:
    """What a request asks for, as the API server's RequestInfo describes it."""

    verb: str
    resource_request: bool = True
    namespace: str = ""
    api_group: str = ""
    api_version: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    path: str = ""  # non-resource requests only


@dataclass(frozen=True)
class Rule:
    verbs: tuple[str, ...]
    api_groups: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    resource_names: tuple[str, ...] = ()
    non_resource_urls: tuple[str, ...] = ()

    @classmethod
    def of(cls, raw: Obj) -> Rule:
        def strings(key: str) -> tuple[str, ...]:
            value = raw.get(key) or ()
            return tuple(str(v) for v in value) if isinstance(value, list) else ()

        return cls(strings("verbs"), strings("apiGroups"), strings("resources"), strings("resourceNames"),
                   strings("nonResourceURLs"))

    def allows(self, attrs: Attributes) -> bool:
        if not _has(self.verbs, attrs.verb):
            return False
        if not attrs.resource_request:
            return any(_url_matches(url, attrs.path) for url in self.non_resource_urls)
        return (_has(self.api_groups, attrs.api_group) and _resource_matches(self.resources, attrs)
                and (not self.resource_names or attrs.name in self.resource_names))

    def __str__(self) -> str:
        """The form the API server prints missing rules in."""
        parts = []
        for label, values in (("APIGroups", self.api_groups), ("Resources", self.resources),
                              ("ResourceNames", self.resource_names), ("NonResourceURLs", self.non_resource_urls),
                              ("Verbs", self.verbs)):
            if values or label == "Verbs":
                parts.append(f"{label}:[{' '.join(_quote(v) for v in values)}]")
        return "{" + ", ".join(parts) + "}"


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _url_matches(pattern: str, path: str) -> bool:
    """`*` matches every path, `/x/*` every path under `/x/` (a prefix match), anything else only itself."""
    return pattern in ("*", path) or (pattern.endswith("*") and path.startswith(pattern[:-1]))


def _has(values: tuple[str, ...], wanted: str) -> bool:
    return "*" in values or wanted in values


def _resource_matches(resources: tuple[str, ...], attrs: Attributes) -> bool:
    combined = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    for resource in resources:
        if resource in ("*", combined):
            return True
        if attrs.subresource and resource == f"*/{attrs.subresource}":
            return True
    return False


def rules_of(role: Obj | None) -> list[Rule]:
    return [Rule.of(raw) for raw in (role or {}).get("rules") or [] if isinstance(raw, dict)]


def subject_matches(subject: Obj, user: User, binding_namespace: str) -> bool:
    kind, name = subject.get("kind"), subject.get("name")
    if kind == "User":
        return bool(name == user.name)
    if kind == "Group":
        return name in user.groups
    if kind == "ServiceAccount":
        namespace = subject.get("namespace") or binding_namespace
        return user.name == f"system:serviceaccount:{namespace}:{name}"
    return False


@dataclass
class Resolver:
    """Rules per (user, namespace), cached until an RBAC object changes: a request then costs one dict lookup plus
    a scan of the rules, and only an RBAC write (rare) costs a scan of the bindings."""

    store: Store
    _cache: dict[tuple[User, str], list[Rule]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.store.listeners.append(self._on_event)

    def _on_event(self, event: Event) -> None:
        if event.key in RBAC_KEYS and self._cache:
            self._cache.clear()

    def role_rules(self, ref: Obj, namespace: str) -> list[Rule] | None:
        """The rules a roleRef points to (None: no such role), as a binding in `namespace` sees them."""
        kind, name = ref.get("kind"), str(ref.get("name") or "")
        if kind == "ClusterRole":
            role = self.store.get(CLUSTER_ROLES, "", name)
        elif kind == "Role" and namespace:
            role = self.store.get(ROLES, namespace, name)
        else:
            role = None
        return None if role is None else rules_of(role)

    def rules_for(self, user: User, namespace: str) -> list[Rule]:
        """Every rule the user holds in `namespace` ("" = cluster scope: ClusterRoleBindings only)."""
        key = (user, namespace)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        rules: list[Rule] = []
        for binding, scope in self._bindings(namespace):
            if any(subject_matches(s, user, scope) for s in binding.get("subjects") or [] if isinstance(s, dict)):
                rules.extend(self.role_rules(binding.get("roleRef") or {}, scope) or [])
        self._cache[key] = rules
        return rules

    def _bindings(self, namespace: str) -> Iterator[tuple[Obj, str]]:
        for binding in self.store.objects(CLUSTER_ROLE_BINDINGS):
            yield binding, ""
        if namespace:
            for binding in self.store.objects(ROLE_BINDINGS, namespace):
                yield binding, namespace

    def allows(self, user: User, attrs: Attributes) -> bool:
        if MASTERS in user.groups:
            return True
        return any(rule.allows(attrs) for rule in self.rules_for(user, attrs.namespace))


def missing_rules(owned: Iterable[Rule], requested: Iterable[Rule]) -> list[Rule]:
    """The parts of `requested` that `owned` does not cover, one verb/group/resource(/name) per rule, as the API
    server's escalation check breaks them down."""
    owned = list(owned)
    missing: list[Rule] = []
    for rule in requested:
        for atom in _atoms(rule):
            if not any(_covers(have, atom) for have in owned):
                missing.append(atom)
    return missing


def _atoms(rule: Rule) -> Iterator[Rule]:
    if rule.non_resource_urls:
        for url in rule.non_resource_urls:
            for verb in rule.verbs:
                yield Rule((verb,), non_resource_urls=(url,))
        return
    for group in rule.api_groups:
        for resource in rule.resources:
            for verb in rule.verbs:
                if rule.resource_names:
                    for name in rule.resource_names:
                        yield Rule((verb,), (group,), (resource,), (name,))
                else:
                    yield Rule((verb,), (group,), (resource,))


def _covers(have: Rule, atom: Rule) -> bool:
    """Whether `have` grants all of `atom` (a wildcard in `atom` needs the same wildcard in `have`)."""
    if not _has(have.verbs, atom.verbs[0]):
        return False
    if atom.non_resource_urls:
        url = atom.non_resource_urls[0]
        return any(_url_matches(mine, url) for mine in have.non_resource_urls)
    if not _has(have.api_groups, atom.api_groups[0]):
        return False
    resource = atom.resources[0]
    sub = resource.partition("/")[2]
    if not any(mine in ("*", resource) or (sub and mine == f"*/{sub}") for mine in have.resources):
        return False
    return not have.resource_names or (bool(atom.resource_names) and atom.resource_names[0] in have.resource_names)


# --- the API server's bootstrap policy (the part clients depend on) --------------------------------------------------

_BOOTSTRAP_META = {"labels": {"kubernetes.io/bootstrapping": "rbac-defaults"},
                   "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}}
DISCOVERY_URLS = ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*", "/readyz",
                  "/version", "/version/"]
PUBLIC_URLS = ["/healthz", "/livez", "/readyz", "/version", "/version/"]


def _cluster_role(name: str, rules: list[Obj]) -> Obj:
    return {"apiVersion": f"{GROUP}/v1", "kind": "ClusterRole",
            "metadata": {"name": name, **_BOOTSTRAP_META}, "rules": rules}


def _cluster_binding(name: str, groups: list[str]) -> Obj:
    return {"apiVersion": f"{GROUP}/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": name, **_BOOTSTRAP_META},
            "roleRef": {"apiGroup": GROUP, "kind": "ClusterRole", "name": name},
            "subjects": [{"apiGroup": GROUP, "kind": "Group", "name": group} for group in groups]}


def bootstrap_policy() -> list[tuple[StoreKey, Obj]]:
    """cluster-admin, and the default roles that let any authenticated user discover the API and ask what it may
    do (and anyone read /version and the health checks)."""
    return [
        (CLUSTER_ROLES, _cluster_role("cluster-admin", [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                                                        {"nonResourceURLs": ["*"], "verbs": ["*"]}])),
        (CLUSTER_ROLE_BINDINGS, _cluster_binding("cluster-admin", [MASTERS])),
        (CLUSTER_ROLES, _cluster_role("system:discovery", [{"nonResourceURLs": DISCOVERY_URLS, "verbs": ["get"]}])),
        (CLUSTER_ROLE_BINDINGS, _cluster_binding("system:discovery", ["system:authenticated"])),
        (CLUSTER_ROLES, _cluster_role("system:public-info-viewer", [{"nonResourceURLs": PUBLIC_URLS,
                                                                     "verbs": ["get"]}])),
        (CLUSTER_ROLE_BINDINGS, _cluster_binding("system:public-info-viewer",
                                                 ["system:authenticated", "system:unauthenticated"])),
        (CLUSTER_ROLES, _cluster_role("system:basic-user", [
            {"apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectaccessreviews",
                                                                  "selfsubjectrulesreviews"], "verbs": ["create"]},
            {"apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"], "verbs": ["create"]}])),
        (CLUSTER_ROLE_BINDINGS, _cluster_binding("system:basic-user", ["system:authenticated"])),
    ]
