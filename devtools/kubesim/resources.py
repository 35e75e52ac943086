"""The resource types kubesim serves, and the discovery documents clients build their REST mappers from."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]
StoreKey = tuple[str, str]  # (group, plural): every served version of a resource shares one store

VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
# Groups whose objects carry no metadata.generation on a real API server.
_NO_GENERATION = {"", "rbac.authorization.k8s.io", "storage.k8s.io", "scheduling.k8s.io", "discovery.k8s.io"}


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    custom: bool = False  # served because a CustomResourceDefinition exists

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> StoreKey:
        return (self.group, self.plural)

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def has_generation(self) -> bool:
        return self.group not in _NO_GENERATION

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources


def _core(plural: str, kind: str, namespaced: bool = True, short: Iterable[str] = (), subs: Iterable[str] = (),
          cats: Iterable[str] = ()) -> ResourceType:
    return ResourceType("", "v1", plural, kind, namespaced, tuple(short), tuple(subs), tuple(cats))


def _grouped(gv: str, plural: str, kind: str, namespaced: bool = True, short: Iterable[str] = (),
             subs: Iterable[str] = (), cats: Iterable[str] = ()) -> ResourceType:
    group, version = gv.split("/")
    return ResourceType(group, version, plural, kind, namespaced, tuple(short), tuple(subs), tuple(cats))


ALL = ("all",)
BUILTIN: tuple[ResourceType, ...] = (
    _core("namespaces", "Namespace", False, ["ns"], ["status", "finalize"]),
    _core("nodes", "Node", False, ["no"], ["status"]),
    _core("pods", "Pod", True, ["po"], ["status", "log"], ALL),
    _core("secrets", "Secret"),
    _core("configmaps", "ConfigMap", True, ["cm"]),
    _core("services", "Service", True, ["svc"], ["status"], ALL),
    _core("serviceaccounts", "ServiceAccount", True, ["sa"]),
    _core("events", "Event", True, ["ev"]),
    _core("endpoints", "Endpoints", True, ["ep"]),
    _core("persistentvolumeclaims", "PersistentVolumeClaim", True, ["pvc"], ["status"]),
    _core("persistentvolumes", "PersistentVolume", False, ["pv"], ["status"]),
    _core("resourcequotas", "ResourceQuota", True, ["quota"], ["status"]),
    _core("limitranges", "LimitRange", True, ["limits"]),
    _grouped("apps/v1", "deployments", "Deployment", True, ["deploy"], ["status", "scale"], ALL),
    _grouped("apps/v1", "replicasets", "ReplicaSet", True, ["rs"], ["status", "scale"], ALL),
    _grouped("apps/v1", "statefulsets", "StatefulSet", True, ["sts"], ["status", "scale"], ALL),
    _grouped("apps/v1", "daemonsets", "DaemonSet", True, ["ds"], ["status"], ALL),
    _grouped("apps/v1", "controllerrevisions", "ControllerRevision"),
    _grouped("batch/v1", "jobs", "Job", True, [], ["status"], ALL),
    _grouped("batch/v1", "cronjobs", "CronJob", True, ["cj"], ["status"], ALL),
    _grouped("autoscaling/v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", True, ["hpa"], ["status"], ALL),
    _grouped("autoscaling/v1", "horizontalpodautoscalers", "HorizontalPodAutoscaler", True, ["hpa"], ["status"]),
    _grouped("networking.k8s.io/v1", "ingresses", "Ingress", True, ["ing"], ["status"]),
    _grouped("networking.k8s.io/v1", "ingressclasses", "IngressClass", False),
    _grouped("networking.k8s.io/v1", "networkpolicies", "NetworkPolicy", True, ["netpol"]),
    _grouped("discovery.k8s.io/v1", "endpointslices", "EndpointSlice"),
    _grouped("policy/v1", "poddisruptionbudgets", "PodDisruptionBudget", True, ["pdb"], ["status"]),
    _grouped("rbac.authorization.k8s.io/v1", "roles", "Role"),
    _grouped("rbac.authorization.k8s.io/v1", "rolebindings", "RoleBinding"),
    _grouped("rbac.authorization.k8s.io/v1", "clusterroles", "ClusterRole", False),
    _grouped("rbac.authorization.k8s.io/v1", "clusterrolebindings", "ClusterRoleBinding", False),
    # Reviews: answered by the authorizer (auth.py), never stored.
    _grouped("authorization.k8s.io/v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", False),
    _grouped("authorization.k8s.io/v1", "selfsubjectrulesreviews", "SelfSubjectRulesReview", False),
    _grouped("authentication.k8s.io/v1", "selfsubjectreviews", "SelfSubjectReview", False),
    _grouped("storage.k8s.io/v1", "storageclasses", "StorageClass", False, ["sc"]),
    _grouped("scheduling.k8s.io/v1", "priorityclasses", "PriorityClass", False, ["pc"]),
    _grouped("coordination.k8s.io/v1", "leases", "Lease"),
    _grouped("admissionregistration.k8s.io/v1", "validatingwebhookconfigurations",
             "ValidatingWebhookConfiguration", False),
    _grouped("admissionregistration.k8s.io/v1", "mutatingwebhookconfigurations",
             "MutatingWebhookConfiguration", False),
    _grouped("apiextensions.k8s.io/v1", "customresourcedefinitions", "CustomResourceDefinition", False,
             ["crd", "crds"], ["status"]),
)


class Registry:
    """Served resource types by group/version/plural; CRDs add and remove entries at runtime."""

    def __init__(self, types: Iterable[ResourceType] = BUILTIN) -> None:
        self._types: dict[tuple[str, str, str], ResourceType] = {}
        self._versions: dict[str, list[str]] = {}  # group -> versions, preferred first
        for rt in types:
            self.add(rt)

    def add(self, rt: ResourceType) -> None:
        self._types[(rt.group, rt.version, rt.plural)] = rt
        versions = self._versions.setdefault(rt.group, [])
        if rt.version not in versions:
            versions.append(rt.version)

    def remove_group_resource(self, group: str, plural: str) -> None:
        for key in [k for k in self._types if k[0] == group and k[2] == plural]:
            del self._types[key]
        still = {k[1] for k in self._types if k[0] == group}
        self._versions[group] = [v for v in self._versions.get(group, []) if v in still]
        if not self._versions[group]:
            del self._versions[group]

    def get(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._types.get((group, version, plural))

    def by_kind(self, api_version: str, kind: str) -> ResourceType | None:
        group, _, version = api_version.rpartition("/")
        for rt in self._types.values():
            if rt.group == group and rt.version == version and rt.kind == kind:
                return rt
        return None

    def preferred(self, group: str, plural: str) -> ResourceType | None:
        for version in self._versions.get(group, []):
            rt = self._types.get((group, version, plural))
            if rt is not None:
                return rt
        return None

    def has_version(self, group: str, version: str) -> bool:
        return version in self._versions.get(group, [])

    def in_version(self, group: str, version: str) -> list[ResourceType]:
        return [rt for (g, v, _), rt in self._types.items() if g == group and v == version]

    def store_keys(self) -> list[StoreKey]:
        return sorted({rt.key for rt in self._types.values()})

    def groups(self) -> dict[str, list[str]]:
        return {g: list(vs) for g, vs in self._versions.items() if g}


def _resource_doc(rt: ResourceType) -> list[Obj]:
    main: Obj = {
        "name": rt.plural,
        "singularName": rt.singular,
        "namespaced": rt.namespaced,
        "kind": rt.kind,
        "verbs": ["create"] if rt.plural.startswith("selfsubject") else list(VERBS),  # reviews are create-only
    }
    if rt.short_names:
        main["shortNames"] = list(rt.short_names)
    if rt.categories:
        main["categories"] = list(rt.categories)
    docs = [main]
    for sub in rt.subresources:
        doc: Obj = {"name": f"{rt.plural}/{sub}", "singularName": "", "namespaced": rt.namespaced,
                    "kind": rt.kind, "verbs": ["get", "patch", "update"]}
        if sub == "scale":
            doc.update(group="autoscaling", version="v1", kind="Scale")
        elif sub == "log":
            doc["verbs"] = ["get"]
        elif sub == "finalize":
            doc["verbs"] = ["update"]
        docs.append(doc)
    return docs


def resource_list(registry: Registry, group: str, version: str) -> Obj:
    gv = f"{group}/{version}" if group else version
    resources = [doc for rt in sorted(registry.in_version(group, version), key=lambda r: r.plural)
                 for doc in _resource_doc(rt)]
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}


def _group_doc(group: str, versions: list[str]) -> Obj:
    entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": entries, "preferredVersion": entries[0]}


def group_list(registry: Registry) -> Obj:
    groups = [_group_doc(g, vs) for g, vs in registry.groups().items()]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def group_doc(registry: Registry, group: str) -> Obj | None:
    versions = registry.groups().get(group)
    if not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group_doc(group, versions)}


def core_versions(server_address: str) -> Obj:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


SERVER_VERSION: Obj = {
    "major": "1",
    "minor": "31",
    "gitVersion": "v1.31.9+kubesim",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2025-05-15T00:00:00Z",
    "goVersion": "go1.23.8",
    "compiler": "gc",
    "platform": "linux/amd64",
}
