"""HTTP handlers for resource paths: list/get/create/update/patch/delete, scale, log, plus response encoding."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml
from aiohttp import web
from multidict import MultiMapping

from devtools.kubesim import errors, podlogs, protobuf, tables
from devtools.kubesim.cluster import Cluster
from devtools.kubesim.resources import ResourceType
from devtools.kubesim.selectors import combine, field_predicate, label_predicate, selector_string
from devtools.kubesim.store import Entry, dumps

Obj = dict[str, Any]
JSON = "application/json"
PATCH_TYPES = {
    "application/json-patch+json": "json",
    "application/merge-patch+json": "merge",
    "application/strategic-merge-patch+json": "strategic",
    "application/apply-patch+yaml": "apply",
    "application/apply-patch+json": "apply",
}
# Kinds whose DELETE answers with the object rather than a Status (graceful deletion / custom resources).
_RETURN_OBJECT = {("", "pods")}


@dataclass
class Target:
    rt: ResourceType
    namespace: str | None
    name: str | None
    subresource: str | None

    @property
    def ns(self) -> str:
        return self.namespace or ""


def respond(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=dumps(body), status=status, content_type=JSON)


def encode(entry: Entry, rt: ResourceType) -> bytes:
    # A resource served in several versions is stored once; relabel it for the version that was asked for.
    if entry.obj.get("apiVersion") != rt.api_version:
        return dumps({**entry.obj, "apiVersion": rt.api_version})
    return entry.raw()


def encoder_for(request: web.Request, rt: ResourceType) -> Callable[[Entry], bytes]:
    """How watch events render objects: as one-row Tables when kubectl asked for server-side printing."""
    if not _wants(request, "Table"):
        return lambda entry: encode(entry, rt)
    include = request.query.get("includeObject", "Metadata")
    return lambda entry: dumps(tables.table(
        rt, [entry.obj], {"resourceVersion": entry.obj["metadata"].get("resourceVersion", "")}, include))


def _wants(request: web.Request, what: str) -> bool:
    return f"as={what}" in request.headers.get("Accept", "")


async def read_body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw:
        return {}
    content_type = request.content_type
    if "protobuf" in content_type:
        return protobuf.decode_object(raw, content_type)
    try:
        if "yaml" in content_type:
            return yaml.safe_load(raw)
        return json.loads(raw)
    except (ValueError, yaml.YAMLError) as exc:
        raise errors.bad_request(f"unable to decode request body: {exc}") from exc


def _dry_run(query: MultiMapping[str]) -> bool:
    return "All" in query.getall("dryRun", [])


def _int(query: MultiMapping[str], key: str) -> int | None:
    value = query.get(key)
    if value in (None, ""):
        return None
    try:
        return int(str(value))
    except ValueError as exc:
        raise errors.bad_request(f"invalid {key}: {value!r}") from exc


def list_predicate(target: Target, query: MultiMapping[str]) -> Any:
    by_name = None
    if target.name is not None:
        name = target.name
        by_name = field_predicate(f"metadata.name={name}")
    return combine(label_predicate(query.get("labelSelector")), field_predicate(query.get("fieldSelector")), by_name)


async def handle_list(cluster: Cluster, request: web.Request, target: Target) -> web.Response:
    query = request.query
    page = cluster.list_objects(target.rt, target.namespace, list_predicate(target, query), _int(query, "limit") or 0,
                        query.get("continue") or None)
    meta: Obj = {"resourceVersion": str(cluster.store.rv)}
    if page.cont:
        meta["continue"] = page.cont
    if page.remaining is not None:
        meta["remainingItemCount"] = page.remaining
    rt = target.rt
    if _wants(request, "Table"):
        objects = [e.obj for e in page.entries]
        return respond(tables.table(rt, objects, meta, query.get("includeObject", "Metadata")))
    if _wants(request, "PartialObjectMetadataList"):
        items = [{"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": e.obj["metadata"]}
                 for e in page.entries]
        return respond({"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
                        "items": items})
    head = f'{{"kind":"{rt.kind}List","apiVersion":"{rt.api_version}","metadata":'.encode()
    body = head + dumps(meta) + b',"items":[' + b",".join(encode(e, rt) for e in page.entries) + b"]}"
    return web.Response(body=body, content_type=JSON)


def _object_response(cluster: Cluster, request: web.Request, target: Target, obj: Obj, status: int = 200
                     ) -> web.Response:
    rt = target.rt
    if _wants(request, "Table"):
        meta = {"resourceVersion": obj["metadata"].get("resourceVersion", "")}
        return respond(tables.table(rt, [obj], meta, request.query.get("includeObject", "Metadata")), status)
    if _wants(request, "PartialObjectMetadata"):
        return respond({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                        "metadata": obj["metadata"]}, status)
    entry = cluster.store.entry(rt.key, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
    if entry is not None and entry.obj is obj:
        return web.Response(body=encode(entry, rt), status=status, content_type=JSON)
    return respond({**obj, "apiVersion": rt.api_version}, status)


async def handle_get(cluster: Cluster, request: web.Request, target: Target) -> web.Response:
    assert target.name is not None
    obj = cluster.get(target.rt, target.ns, target.name)
    if target.subresource == "scale":
        return respond(_scale(obj))
    if target.subresource == "log":
        return _log(request, obj)
    return _object_response(cluster, request, target, obj)


def _scale(obj: Obj) -> Obj:
    meta = obj["metadata"]
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                     if k in meta},
        "spec": {"replicas": obj.get("spec", {}).get("replicas", 1)},
        "status": {"replicas": obj.get("status", {}).get("replicas", 0),
                   "selector": selector_string(obj.get("spec", {}).get("selector"))},
    }


def _log(request: web.Request, pod: Obj) -> web.Response:
    query = request.query
    text = podlogs.render(pod, query.get("container"), _int(query, "tailLines"), query.get("timestamps") == "true")
    return web.Response(text=text, content_type="text/plain")


async def handle_create(cluster: Cluster, request: web.Request, target: Target) -> web.Response:
    body = await read_body(request)
    if not isinstance(body, dict):
        raise errors.bad_request("the request body must be an object")
    obj = cluster.create(target.rt, target.namespace, body, _dry_run(request.query))
    return _object_response(cluster, request, target, obj, 201)


async def handle_update(cluster: Cluster, request: web.Request, target: Target) -> web.Response:
    assert target.name is not None
    body = await read_body(request)
    if not isinstance(body, dict):
        raise errors.bad_request("the request body must be an object")
    if target.subresource == "scale":
        return _set_scale(cluster, target, body)
    sub = target.subresource if target.subresource == "status" else None
    obj = cluster.update(target.rt, target.ns, target.name, body, sub, _dry_run(request.query))
    return _object_response(cluster, request, target, obj)


def _set_scale(cluster: Cluster, target: Target, scale: Obj) -> web.Response:
    assert target.name is not None
    current = cluster.get(target.rt, target.ns, target.name)
    wanted = {**current, "spec": {**current.get("spec", {}), "replicas": scale.get("spec", {}).get("replicas", 0)}}
    version = scale.get("metadata", {}).get("resourceVersion")
    wanted["metadata"] = {**current["metadata"], "resourceVersion": version or current["metadata"]["resourceVersion"]}
    updated = cluster.update(target.rt, target.ns, target.name, wanted)
    return respond(_scale(updated))


async def handle_patch(cluster: Cluster, request: web.Request, target: Target) -> web.Response:
    assert target.name is not None
    patch_type = PATCH_TYPES.get(request.content_type)
    if patch_type is None:
        raise errors.unsupported_media(request.content_type)
    body = await read_body(request)
    if target.subresource == "scale":
        from devtools.kubesim.cluster import apply_patch

        scale = apply_patch(patch_type, _scale(cluster.get(target.rt, target.ns, target.name)), body)
        return _set_scale(cluster, target, scale)
    sub = target.subresource if target.subresource == "status" else None
    obj, created = cluster.patch(target.rt, target.ns, target.name, patch_type, body, sub, _dry_run(request.query))
    return _object_response(cluster, request, target, obj, 201 if created else 200)


async def _delete_options(request: web.Request) -> Obj:
    options: Obj = {}
    if request.can_read_body:
        body = await read_body(request)
        options = body if isinstance(body, dict) else {}
    if request.query.get("propagationPolicy"):
        options["propagationPolicy"] = request.query["propagationPolicy"]
    return options


async def handle_delete(cluster: Cluster, request: web.Request, target: Target) -> web.Response:
    assert target.name is not None
    rt = target.rt
    options = await _delete_options(request)
    obj = cluster.delete(rt, target.ns, target.name, options, _dry_run(request.query))
    still_there = cluster.store.get(rt.key, target.ns if rt.namespaced else "", target.name) is not None
    if still_there or rt.custom or rt.key in _RETURN_OBJECT:
        return respond({**obj, "apiVersion": rt.api_version})
    return respond(errors.success(rt.plural, rt.group, target.name, obj["metadata"].get("uid", "")))


async def handle_delete_collection(cluster: Cluster, request: web.Request, target: Target) -> web.Response:
    options = await _delete_options(request)
    deleted = cluster.delete_collection(target.rt, target.namespace, list_predicate(target, request.query),
                                        options)
    rt = target.rt
    return respond({"kind": f"{rt.kind}List", "apiVersion": rt.api_version,
                    "metadata": {"resourceVersion": str(cluster.store.rv)}, "items": deleted})
