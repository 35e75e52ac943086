"""``?watch=true``: newline-delimited JSON events, resumable from a resourceVersion, closed after timeoutSeconds.

The watcher subscribes to the store and computes its backlog in the same synchronous step, so no event can fall
between "history" and "live". With a label/field selector, an object moving into or out of the selection is
reported as ADDED/DELETED, as a real API server does.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from devtools.kubesim.cluster import Cluster
from devtools.kubesim.errors import gone
from devtools.kubesim.handlers import Target, encoder_for, list_predicate
from devtools.kubesim.resources import ResourceType
from devtools.kubesim.store import Entry, Event, Watcher, dumps

Obj = dict[str, Any]
Render = Callable[[Entry], bytes]
DEFAULT_TIMEOUT = 1800.0
_POLL = 2.0  # how often an idle watch checks whether its client went away


def _line(kind: str, payload: bytes) -> bytes:
    return b'{"type":"' + kind.encode() + b'","object":' + payload + b"}\n"


def translate(event: Event, predicate: Callable[[Obj], bool] | None, render: Render) -> bytes | None:
    """Render one store event for a watcher, or None when the watcher's selector hides it."""
    payload = render(event.entry)
    if predicate is None:
        return _line(event.type, payload)
    now_match = predicate(event.entry.obj)
    if event.type == "ADDED":
        return _line("ADDED", payload) if now_match else None
    if event.type == "DELETED":
        return _line("DELETED", payload) if now_match else None
    was_match = event.old is not None and predicate(event.old)
    if now_match:
        return _line("MODIFIED" if was_match else "ADDED", payload)
    return _line("DELETED", payload) if was_match else None


def _bookmark(rt: ResourceType, rv: int, initial_end: bool) -> bytes:
    meta: Obj = {"resourceVersion": str(rv)}
    if initial_end:
        meta["annotations"] = {"k8s.io/initial-events-end": "true"}
    return _line("BOOKMARK", dumps({"kind": rt.kind, "apiVersion": rt.api_version, "metadata": meta}))


def _backlog(cluster: Cluster, target: Target, query: Any, predicate: Callable[[Obj], bool] | None,
             render: Render) -> list[bytes] | None:
    rt = target.rt
    rv = query.get("resourceVersion", "")
    initial = query.get("sendInitialEvents") == "true"
    if initial or rv in ("", "0"):
        entries = cluster.list_objects(rt, target.namespace, predicate).entries
        lines = [_line("ADDED", render(e)) for e in entries]
        if initial:
            lines.append(_bookmark(rt, cluster.store.rv, True))
        return lines
    try:
        events = cluster.store.since(int(rv))
    except ValueError:
        events = None
    if events is None:
        return None
    namespace = target.namespace if rt.namespaced else None
    lines = []
    for event in events:
        if event.key != rt.key:
            continue
        if namespace is not None and event.entry.obj["metadata"].get("namespace") != namespace:
            continue
        line = translate(event, predicate, render)
        if line is not None:
            lines.append(line)
    return lines


async def handle_watch(cluster: Cluster, request: web.Request, target: Target) -> web.StreamResponse:
    rt = target.rt
    predicate = list_predicate(target, request.query)
    timeout = float(request.query.get("timeoutSeconds") or DEFAULT_TIMEOUT)
    render = encoder_for(request, rt)
    watcher = Watcher(rt.key, target.namespace if rt.namespaced else None)
    cluster.store.watchers.add(watcher)
    try:
        backlog = _backlog(cluster, target, request.query, predicate, render)
        response = web.StreamResponse(headers={"Content-Type": "application/json",
                                               "Cache-Control": "no-cache, private"})
        await response.prepare(request)
        if backlog is None:
            expired = gone(f"too old resource version: {request.query.get('resourceVersion')} "
                           f"({cluster.store.rv})").status()
            expired["code"], expired["reason"] = 410, "Expired"
            await response.write(_line("ERROR", dumps(expired)))
            return response
        for line in backlog:
            await response.write(line)
        await _stream(request, response, watcher, predicate, render, time.monotonic() + timeout)
        return response
    finally:
        cluster.store.watchers.discard(watcher)


async def _stream(request: web.Request, response: web.StreamResponse, watcher: Watcher,
                  predicate: Callable[[Obj], bool] | None, render: Render, deadline: float) -> None:
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        try:
            event = await asyncio.wait_for(watcher.queue.get(), min(remaining, _POLL))
        except TimeoutError:
            if request.transport is None or request.transport.is_closing():
                return  # the client hung up; aiohttp does not cancel the handler for us
            continue
        if event is None:
            return
        line = translate(event, predicate, render)
        if line is not None:
            try:
                await response.write(line)
            except (ConnectionResetError, RuntimeError):
                return
