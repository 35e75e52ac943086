"""The aiohttp application: URL parsing, discovery, OpenAPI, dispatch to the resource handlers, and errors as
``Status`` bodies. One catch-all route, because Kubernetes paths are parsed by position, not by pattern.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from devtools.kubesim import errors, handlers, protobuf, resources
from devtools.kubesim.auth import REVIEW_GROUPS, Access
from devtools.kubesim.cluster import Cluster
from devtools.kubesim.controllers import ControllerManager
from devtools.kubesim.errors import ApiError
from devtools.kubesim.handlers import Target, respond
from devtools.kubesim.rbac import Attributes, User
from devtools.kubesim.tls import make as tls_certificates
from devtools.kubesim.watch import handle_watch

log = logging.getLogger("kubesim")
OPENAPI_PB = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"  # "@" breaks Go mime parsing
_NAMESPACE_SUBRESOURCES = {"status", "finalize"}
USER = web.RequestKey("kubesim.user", User)  # who sent the request, once authenticated


def parse_target(cluster: Cluster, group: str, version: str, parts: list[str]) -> Target:
    namespace = None
    if parts[0] == "namespaces" and len(parts) >= 3 and not (len(parts) == 3 and parts[2] in
                                                              _NAMESPACE_SUBRESOURCES):
        namespace, parts = parts[1], parts[2:]
    if len(parts) > 3:
        raise errors.unknown_path()
    rt = cluster.registry.get(group, version, parts[0])
    if rt is None or (namespace is not None and not rt.namespaced):
        raise errors.unknown_path()
    name = parts[1] if len(parts) > 1 else None
    sub = parts[2] if len(parts) > 2 else None
    if sub is not None and sub not in rt.subresources:
        raise errors.unknown_path()
    return Target(rt, namespace, name, sub)


Route = Callable[[Cluster, web.Request, Target], Awaitable[web.StreamResponse]]
ROUTES: dict[tuple[str, bool], Route] = {  # (method, names an object) -> handler
    ("GET", False): handlers.handle_list,
    ("GET", True): handlers.handle_get,
    ("POST", False): handlers.handle_create,
    ("DELETE", False): handlers.handle_delete_collection,
    ("PUT", True): handlers.handle_update,
    ("PATCH", True): handlers.handle_patch,
    ("DELETE", True): handlers.handle_delete,
}


class KubeSimApp:
    def __init__(self, cluster: Cluster, manager: ControllerManager, access: Access | None = None) -> None:
        self.cluster = cluster
        self.manager = manager
        self.access = access or Access(cluster)
        self.server_address = "127.0.0.1:6443"

    def build(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            return await self._dispatch(request)
        except ApiError as exc:
            return respond(exc.status(), exc.code)
        except Exception as exc:  # answer like an API server instead of dropping the connection
            log.exception("internal error on %s %s", request.method, request.path)
            return respond(ApiError(500, "InternalError", f"kubesim: {exc!r}").status(), 500)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        user = self.access.authenticate(request)
        request[USER] = user
        parts = [p for p in request.path.split("/") if p]
        # Discovery, /version, /openapi and the health checks are non-resource requests: authorized by path.
        if not ((parts[:1] == ["api"] and len(parts) > 2) or (parts[:1] == ["apis"] and len(parts) > 3)):
            self.access.require(user, Attributes(request.method.lower(), resource_request=False, path=request.path))
        if not parts:
            return respond({"paths": ["/api", "/api/v1", "/apis", "/healthz", "/livez", "/openapi/v2",
                                      "/readyz", "/version"]})
        head = parts[0]
        if head == "api":
            return await self._api(request, parts[1:])
        if head == "apis":
            return await self._apis(request, parts[1:])
        return self._plain(request, head, parts)

    def _plain(self, request: web.Request, head: str, parts: list[str]) -> web.Response:
        if head == "version":
            return respond(resources.SERVER_VERSION)
        if head in ("healthz", "livez", "readyz"):
            return web.Response(text="ok")
        if head == "openapi":
            return self._openapi(request, parts)
        raise errors.unknown_path()

    def _openapi(self, request: web.Request, parts: list[str]) -> web.Response:
        # An empty v2 document is valid and makes kubectl/helm skip client-side schema validation; v3 is
        # deliberately absent (404) so they fall back to v2.
        if parts[1:] != ["v2"]:
            raise errors.unknown_path()
        if "protobuf" in request.headers.get("Accept", ""):
            body = protobuf.openapi_v2_document("Kubernetes", resources.SERVER_VERSION["gitVersion"])
            return web.Response(body=body, headers={"Content-Type": OPENAPI_PB})
        return respond({"swagger": "2.0", "info": {"title": "Kubernetes",
                                                   "version": resources.SERVER_VERSION["gitVersion"]},
                        "paths": {}, "definitions": {}})

    async def _api(self, request: web.Request, parts: list[str]) -> web.StreamResponse:
        if not parts:
            return respond(resources.core_versions(self.server_address))
        if parts[0] != "v1":
            raise errors.unknown_path()
        if len(parts) == 1:
            return respond(resources.resource_list(self.cluster.registry, "", "v1"))
        return await self._resource(request, parse_target(self.cluster, "", "v1", parts[1:]))

    async def _apis(self, request: web.Request, parts: list[str]) -> web.StreamResponse:
        registry = self.cluster.registry
        if not parts:
            return respond(resources.group_list(registry))
        group = parts[0]
        if len(parts) == 1:
            doc = resources.group_doc(registry, group)
            if doc is None:
                raise errors.unknown_path()
            return respond(doc)
        version = parts[1]
        if not registry.has_version(group, version):
            raise errors.unknown_path()
        if len(parts) == 2:
            return respond(resources.resource_list(registry, group, version))
        return await self._resource(request, parse_target(self.cluster, group, version, parts[2:]))

    async def _resource(self, request: web.Request, target: Target) -> web.StreamResponse:
        user = request[USER]
        attrs = self.access.attributes(request, target)
        self.access.require(user, attrs)
        if target.rt.group in REVIEW_GROUPS:
            return await self.access.review(request, user, target)
        await self.access.check_escalation(request, user, target, attrs.verb)
        method = request.method
        if method == "GET" and request.query.get("watch", "").lower() in ("true", "1"):
            return await handle_watch(self.cluster, request, target)
        route = ROUTES.get((method, target.name is not None))
        if route is None or (target.subresource == "log" and method != "GET") or \
                (target.subresource and method in ("POST", "DELETE")):
            raise errors.method_not_allowed(f"{method} is not supported on {request.path} by kubesim")
        return await route(self.cluster, request, target)


class Server:
    """Runs the app and the controller loop on the current event loop."""

    def __init__(self, cluster: Cluster, manager: ControllerManager, host: str = "127.0.0.1", port: int = 0,
                 access_log: bool = False, tls: bool = False) -> None:
        self.cluster = cluster
        self.manager = manager
        self.host = host
        self.port = port
        self.access_log = access_log
        self.certificates = tls_certificates(host) if tls else None
        # The token table and authorizer; tests issue tokens through it. Over plain http Go clients send no
        # credentials at all, so there a request without any counts as the admin (the behaviour kubesim always had).
        self.access = Access(cluster, anonymous_is_admin=not tls)
        self._runner: web.AppRunner | None = None
        self._controller_task: asyncio.Task[None] | None = None

    @property
    def scheme(self) -> str:
        return "https" if self.certificates is not None else "http"

    @property
    def ca_pem(self) -> bytes | None:
        return self.certificates.ca_pem if self.certificates is not None else None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def local_url(self) -> str:
        """The URL a process on this host reaches the server at (a wildcard listen address means loopback)."""
        host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(self.host, self.host)
        return f"{self.scheme}://[{host}]:{self.port}" if ":" in host else f"{self.scheme}://{host}:{self.port}"

    async def start(self) -> None:
        app = KubeSimApp(self.cluster, self.manager, self.access)
        kwargs: dict[str, Any] = {"handle_signals": False, "shutdown_timeout": 0.5}
        if not self.access_log:
            kwargs["access_log"] = None
        self._runner = web.AppRunner(app.build(), **kwargs)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        app.server_address = f"{self.host}:{self.port}"
        context = self.certificates.context if self.certificates is not None else None
        await web.SockSite(self._runner, sock, ssl_context=context).start()
        self.manager.api_url = self.local_url  # controllers that call the API themselves (Flux's helm) use it
        self._controller_task = asyncio.get_running_loop().create_task(self.manager.run())

    async def stop(self) -> None:
        self.manager.close()
        self.cluster.store.close_watchers()
        if self._controller_task is not None:
            self._controller_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._controller_task
        if self._runner is not None:
            await self._runner.cleanup()
