"""API semantics on top of the store: create/update/patch/delete with the metadata rules clients rely on
(uid, resourceVersion, generation, creationTimestamp, optimistic concurrency, status subresources, finalizers,
owner-reference garbage collection, namespace cascade, CRD registration).

Everything here runs on the server's event loop thread; other threads go through ``KubeSim.call``.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import ipaddress
import json
import random
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from devtools.kubesim import defaults, errors, patching
from devtools.kubesim.errors import ApiError
from devtools.kubesim.resources import Registry, ResourceType, StoreKey
from devtools.kubesim.store import Entry, Store

Obj = dict[str, Any]
Predicate = Callable[[Obj], bool]
NAMESPACES: StoreKey = ("", "namespaces")
CRDS: StoreKey = ("apiextensions.k8s.io", "customresourcedefinitions")
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # the alphabet Kubernetes uses for generated name suffixes


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass
class Page:
    entries: list[Entry]
    cont: str | None
    remaining: int | None


def _spec_part(obj: Obj) -> Obj:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def _same(a: Obj, b: Obj) -> bool:
    """Equal apart from resourceVersion: an update that changes nothing must not bump it (controllers rely on it)."""
    strip = ("resourceVersion", "managedFields")
    meta_a = {k: v for k, v in a.get("metadata", {}).items() if k not in strip}
    meta_b = {k: v for k, v in b.get("metadata", {}).items() if k not in strip}
    return meta_a == meta_b and {k: v for k, v in a.items() if k != "metadata"} == {
        k: v for k, v in b.items() if k != "metadata"}


class Cluster:
    def __init__(self, seed: str = "demo") -> None:
        self.registry = Registry()
        self.store = Store()
        self.rng = random.Random(seed)  # seeded: the same request sequence yields the same uids and names
        self._service_ips = iter(ipaddress.ip_network("10.100.0.0/16").hosts())
        next(self._service_ips)  # .1 belongs to the kubernetes service
        self._node_ports = iter(range(30000, 32768))
        self._pod_ips = iter(ipaddress.ip_network("10.244.0.0/14").hosts())

    # -- identity helpers -------------------------------------------------------------------------------------
    def new_uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def suffix(self, length: int = 5) -> str:
        return "".join(self.rng.choice(_NAME_ALPHABET) for _ in range(length))

    def allocate_service_ip(self) -> str:
        return str(next(self._service_ips))

    def allocate_node_port(self) -> int:
        return next(self._node_ports)

    def allocate_pod_ip(self) -> str:
        return str(next(self._pod_ips))

    # -- lookup ---------------------------------------------------------------------------------------------------
    def resource(self, group: str, plural: str) -> ResourceType:
        rt = self.registry.preferred(group, plural)
        if rt is None:
            raise errors.unknown_path()
        return rt

    def get(self, rt: ResourceType, namespace: str, name: str) -> Obj:
        obj = self.store.get(rt.key, namespace if rt.namespaced else "", name)
        if obj is None:
            raise errors.not_found(rt.plural, rt.group, name)
        return obj

    def find(self, key: StoreKey, namespace: str, name: str) -> Obj | None:
        return self.store.get(key, namespace, name)

    def list_objects(self, rt: ResourceType, namespace: str | None, predicate: Predicate | None = None,
                     limit: int = 0, cont: str | None = None) -> Page:
        """One page in (namespace, name) order; the continue token names the last key returned."""
        after = _decode_continue(cont) if cont else None
        entries: list[Entry] = []
        scan = self.store.scan(rt.key, namespace if rt.namespaced else None, after)
        for entry in scan:
            if predicate is not None and not predicate(entry.obj):
                continue
            if limit and len(entries) == limit:
                return self._page_break(entries, scan, predicate)  # a further match exists: more pages follow
            entries.append(entry)
        return Page(entries, None, None)

    def _page_break(self, entries: list[Entry], rest: Iterator[Entry], predicate: Predicate | None) -> Page:
        last = entries[-1].obj["metadata"]
        token = _encode_continue(last.get("namespace", ""), last["name"], self.store.rv)
        # Like etcd, the count of what is left is only known when no selector filters the scan.
        remaining = None if predicate is not None else 1 + sum(1 for _ in rest)
        return Page(entries, token, remaining)

    # -- writes ---------------------------------------------------------------------------------------------------
    def create(self, rt: ResourceType, namespace: str | None, body: Obj, dry_run: bool = False) -> Obj:
        obj = copy.deepcopy(body)
        obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
        meta = obj.setdefault("metadata", {})
        self._check_namespace(rt, namespace, meta)
        if not meta.get("name"):
            if not meta.get("generateName"):
                raise errors.invalid(rt.kind, rt.group, "", "metadata.name", "name or generateName is required")
            meta["name"] = meta["generateName"] + self.suffix()
        if self.store.get(rt.key, meta.get("namespace", ""), meta["name"]) is not None:
            raise errors.already_exists(rt.plural, rt.group, meta["name"])
        for field in ("resourceVersion", "deletionTimestamp", "managedFields", "selfLink"):
            meta.pop(field, None)
        meta["uid"] = self.new_uid()
        meta["creationTimestamp"] = now()
        if rt.has_generation:
            meta["generation"] = 1
        defaults.on_create(self, rt.key, obj)
        if dry_run:
            return obj
        stored = self.store.write(rt.key, obj).obj
        if rt.key == CRDS:
            self._register_crd(stored)
        return stored

    def _check_namespace(self, rt: ResourceType, namespace: str | None, meta: Obj) -> None:
        if not rt.namespaced:
            meta.pop("namespace", None)
            return
        if namespace and meta.get("namespace") and meta["namespace"] != namespace:
            raise errors.bad_request("the namespace of the provided object does not match the namespace sent on "
                                     "the request")
        meta["namespace"] = namespace or meta.get("namespace") or "default"
        if self.store.get(NAMESPACES, "", meta["namespace"]) is None:
            raise errors.not_found("namespaces", "", meta["namespace"])

    def update(self, rt: ResourceType, namespace: str, name: str, body: Obj, subresource: str | None = None,
               dry_run: bool = False) -> Obj:
        ns = namespace if rt.namespaced else ""
        old = self.get(rt, ns, name)
        meta = body.get("metadata") or {}
        if meta.get("name", name) != name:
            raise errors.bad_request(f'the name of the object ({meta["name"]}) does not match the name on the URL '
                                     f"({name})")
        if meta.get("resourceVersion") and meta["resourceVersion"] != old["metadata"]["resourceVersion"]:
            raise errors.stale(rt.plural, rt.group, name)
        new = self._merge_update(rt, old, body, subresource)
        if _same(old, new):
            return old
        if dry_run:
            return new
        if new["metadata"].get("deletionTimestamp") and not new["metadata"].get("finalizers"):
            self._remove(rt, ns, name, "Background")
            return new
        stored = self.store.write(rt.key, new).obj
        if rt.key == CRDS:
            self._register_crd(stored)
        return stored

    def _merge_update(self, rt: ResourceType, old: Obj, body: Obj, subresource: str | None) -> Obj:
        if subresource == "status":
            new = copy.deepcopy(old)
            if "status" in body:
                new["status"] = copy.deepcopy(body["status"])
            return new
        new = copy.deepcopy(body)
        new["apiVersion"], new["kind"] = rt.api_version, rt.kind
        meta = new.setdefault("metadata", {})
        for field in ("uid", "creationTimestamp", "deletionTimestamp", "namespace", "name", "generation"):
            if field in old["metadata"]:
                meta[field] = old["metadata"][field]
            else:
                meta.pop(field, None)
        if rt.has_status:
            new.pop("status", None)
            if "status" in old:
                new["status"] = copy.deepcopy(old["status"])
        defaults.on_update(self, rt.key, old, new)
        if rt.has_generation and _spec_part(new) != _spec_part(old):
            meta["generation"] = int(old["metadata"].get("generation", 1)) + 1
        return new

    def patch(self, rt: ResourceType, namespace: str, name: str, patch_type: str, body: Any,
              subresource: str | None = None, dry_run: bool = False) -> tuple[Obj, bool]:
        """Apply a patch; server-side apply of a missing object creates it. Returns (object, created)."""
        ns = namespace if rt.namespaced else ""
        current = self.store.get(rt.key, ns, name)
        if current is None:
            if patch_type != "apply" or subresource:
                raise errors.not_found(rt.plural, rt.group, name)
            created_body = {**body, "metadata": {**body.get("metadata", {}), "name": name}}
            return self.create(rt, namespace or None, created_body, dry_run), True
        patched = apply_patch(patch_type, current, body)
        if patch_type == "apply":
            # Server-side apply never carries a precondition on resourceVersion unless the manifest sets one.
            patched["metadata"].setdefault("resourceVersion", current["metadata"]["resourceVersion"])
        return self.update(rt, namespace, name, patched, subresource, dry_run), False

    def write_status(self, rt: ResourceType, obj: Obj, status: Obj) -> Obj:
        """Controller shortcut: replace ``status`` unless nothing changed."""
        if obj.get("status") == status:
            return obj
        ns = obj["metadata"].get("namespace", "")
        return self.update(rt, ns, obj["metadata"]["name"], {"status": status}, subresource="status")

    def delete(self, rt: ResourceType, namespace: str, name: str, options: Obj | None = None,
               dry_run: bool = False) -> Obj:
        ns = namespace if rt.namespaced else ""
        obj = self.get(rt, ns, name)
        options = options or {}
        pre = options.get("preconditions") or {}
        if pre.get("uid") and pre["uid"] != obj["metadata"]["uid"]:
            raise errors.conflict(rt.plural, rt.group, name, "Precondition failed: UID in precondition does not "
                                                             "match the object")
        if pre.get("resourceVersion") and pre["resourceVersion"] != obj["metadata"]["resourceVersion"]:
            raise errors.stale(rt.plural, rt.group, name)
        if dry_run:
            return obj
        if obj["metadata"].get("finalizers"):
            if obj["metadata"].get("deletionTimestamp"):
                return obj
            marked = copy.deepcopy(obj)
            marked["metadata"]["deletionTimestamp"] = now()
            marked["metadata"]["deletionGracePeriodSeconds"] = 0
            return self.store.write(rt.key, marked).obj
        policy = options.get("propagationPolicy") or ("Orphan" if options.get("orphanDependents") else "Background")
        return self._remove(rt, ns, name, policy)

    def _remove(self, rt: ResourceType, ns: str, name: str, policy: str) -> Obj:
        final = self.store.remove(rt.key, ns, name)
        if final is None:
            raise errors.not_found(rt.plural, rt.group, name)
        self._collect(final["metadata"]["uid"], policy)
        if rt.key == NAMESPACES:
            self._empty_namespace(name)
        elif rt.key == CRDS:
            self._unregister_crd(final)
        return final

    def _collect(self, uid: str, policy: str) -> None:
        """Garbage-collect dependents by ownerReference (Orphan strips the reference instead)."""
        for key, ns, name in self.store.owned_by(uid):
            dependent = self.store.get(key, ns, name)
            rt = self.registry.preferred(*key)
            if dependent is None or rt is None:
                continue
            if policy == "Orphan":
                kept = copy.deepcopy(dependent)
                kept["metadata"]["ownerReferences"] = [
                    r for r in dependent["metadata"].get("ownerReferences", []) if r.get("uid") != uid]
                self.store.write(key, kept)
            else:
                self._remove_quietly(rt, ns, name)

    def _remove_quietly(self, rt: ResourceType, ns: str, name: str) -> None:
        with contextlib.suppress(ApiError):  # already gone through another owner
            self.delete(rt, ns, name)

    def _empty_namespace(self, namespace: str) -> None:
        for key in self.registry.store_keys():
            rt = self.registry.preferred(*key)
            if rt is None or not rt.namespaced:
                continue
            for obj in self.store.objects(key, namespace):
                self._remove_quietly(rt, namespace, obj["metadata"]["name"])

    def delete_collection(self, rt: ResourceType, namespace: str | None, predicate: Predicate | None,
                          options: Obj | None = None) -> list[Obj]:
        page = self.list_objects(rt, namespace, predicate)
        deleted = []
        for entry in page.entries:
            meta = entry.obj["metadata"]
            deleted.append(self.delete(rt, meta.get("namespace", ""), meta["name"], options))
        return deleted

    # -- CRDs -----------------------------------------------------------------------------------------------------
    def _register_crd(self, crd: Obj) -> None:
        spec, names = crd["spec"], crd["spec"]["names"]
        self.registry.remove_group_resource(spec["group"], names["plural"])
        subresources: dict[str, tuple[str, ...]] = {}
        for version in spec.get("versions") or []:
            if version.get("served", True):
                subs = tuple(sorted((version.get("subresources") or {}).keys()))
                subresources[version["name"]] = subs
        for version_name, subs in subresources.items():
            self.registry.add(ResourceType(
                spec["group"], version_name, names["plural"], names["kind"], spec.get("scope") == "Namespaced",
                tuple(names.get("shortNames") or ()), subs, tuple(names.get("categories") or ()), custom=True))

    def _unregister_crd(self, crd: Obj) -> None:
        group, plural = crd["spec"]["group"], crd["spec"]["names"]["plural"]
        for obj in self.store.objects((group, plural)):
            self.store.remove((group, plural), obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
        self.registry.remove_group_resource(group, plural)


def apply_patch(patch_type: str, current: Obj, body: Any) -> Obj:
    if patch_type == "json":
        return patching.json_patch(current, body)
    if patch_type == "merge":
        result = patching.merge_patch(current, body)
    elif patch_type in ("strategic", "apply"):
        result = patching.strategic_merge(current, body)
    else:
        raise errors.unsupported_media(patch_type)
    if not isinstance(result, dict):
        raise errors.bad_request("patch must produce an object")
    return result


def _encode_continue(namespace: str, name: str, rv: int) -> str:
    raw = json.dumps({"ns": namespace, "name": name, "rv": rv}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_continue(token: str) -> tuple[str, str]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        return str(data["ns"]), str(data["name"])
    except (ValueError, KeyError, TypeError) as exc:
        raise errors.bad_request(f"invalid continue token: {exc}") from exc
