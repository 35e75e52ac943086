"""The simulator's HTTP face (aiohttp): DTIAS paths, bearer checks, paging, error bodies, and the `/_sim/` knobs.

Every DTIAS path but the token endpoint wants a live bearer token and the tenant in its path; while the `down` knob
is set, every DTIAS path answers 503. Error bodies are DTIAS's `GooglerpcStatus`:
`{code, message, details: [{reason, domain, metadata: {DTIASErrorCode, HTTPErrorCode, ...}}]}` (the token endpoint's
`details` is an object, as Dell's is).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from devtools.dtias_sim.state import INVALID_ARGUMENT, NOT_FOUND, UNAVAILABLE, Job, SimError, State

T = "/v1/tenants/{tenant}"
DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 20, 100
STATE = web.AppKey("state", State)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error_body(error: SimError, token_endpoint: bool = False) -> dict[str, Any]:
    metadata = {"DTIASErrorCode": error.dtias_code, "HTTPErrorCode": str(error.status),
                "ManagedServiceError": "", "Resolution": error.resolution}
    detail = {"reason": error.message, "domain": "dtias.dell.com", "metadata": metadata}
    return {"code": error.code, "message": error.message, "details": detail if token_endpoint else [detail]}


@web.middleware
async def dtias_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    state = request.app[STATE]
    is_sim, is_token = request.path.startswith("/_sim/"), request.path.endswith("/token/create")
    try:
        if not is_sim:
            if state.knobs.down:
                raise SimError(503, UNAVAILABLE, "service unavailable", "DELL-DTIAS-GW-00503",
                               "Retry later; the DTIAS control plane is restarting.")
            if not is_token:
                state.check_token(request.headers.get("Authorization"))
                if "tenant" in request.match_info:
                    state.check_tenant(request.match_info["tenant"])
        return await handler(request)
    except SimError as error:
        return web.json_response(error_body(error, is_token), status=error.status)
    except web.HTTPNotFound:
        missing = SimError(404, NOT_FOUND, f"no such path {request.path}", "DELL-DTIAS-GW-00404")
        return web.json_response(error_body(missing, is_token), status=404)


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SimError(400, INVALID_ARGUMENT, "request body is not JSON", "DELL-DTIAS-GW-00400") from exc
    if not isinstance(body, dict):
        raise SimError(400, INVALID_ARGUMENT, "request body must be a JSON object", "DELL-DTIAS-GW-00400")
    return body


def _page_params(request: web.Request) -> tuple[int, int]:
    try:
        number = int(request.query.get("pageNumber") or 1)
        size = int(request.query.get("pageSize") or DEFAULT_PAGE_SIZE)
    except ValueError as exc:
        raise SimError(400, INVALID_ARGUMENT, "pageNumber and pageSize must be integers",
                       "DELL-DTIAS-GW-00400") from exc
    if number < 1 or not 1 <= size <= MAX_PAGE_SIZE:
        raise SimError(400, INVALID_ARGUMENT, f"pageNumber >= 1 and 1 <= pageSize <= {MAX_PAGE_SIZE}",
                       "DELL-DTIAS-GW-00400")
    return number, size


def _brief(server: dict[str, Any], state: State) -> dict[str, Any]:
    status = server["status"]
    firmware = {f["Name"]: f["Version"] for f in status["Firmware"]}
    return {"ID": server["metadata"]["uid"], "Name": server["metadata"]["name"], "ServiceTag": status["SKU"],
            "SerialNumber": status["SerialNumber"], "Model": status["Model"], "Health": status["Health"],
            "PowerState": status["PowerState"], "BIOSVersion": firmware.get("BIOS", ""),
            "BMCFwVersion": status["BMC"][0]["FirmwareVersion"], "Site": server["Site"],
            "ResourcePool": server["ResourcePool"], "Allocated": server["Allocated"]}


async def token_create(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE].issue_token(await _json(request)))


async def list_servers(request: web.Request) -> web.Response:
    state = request.app[STATE]
    query = request.query
    found = [state.server(query["id"])] if query.get("id") else state.servers(dict(query))
    number, size = _page_params(request)
    page = found[(number - 1) * size: number * size]
    brief = request.query.get("brief", "").lower() == "true"
    return web.json_response({"Servers": [] if brief else page,
                              "CachedServers": [_brief(s, state) for s in page] if brief else [],
                              "ServerCount": str(len(found)), "Error": None})


async def get_server(request: web.Request) -> web.Response:
    return web.json_response({"Server": request.app[STATE].server(request.match_info["id"]), "Error": None})


def _inventory(key: str, singular: str, source: str) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        items = request.app[STATE].data[source]
        tenant = request.match_info["tenant"]
        if "id" in request.match_info:
            item = next((i for i in items if i["Id"] == request.match_info["id"]), None)
            if item is None:
                raise SimError(404, NOT_FOUND, f"{singular} {request.match_info['id']} not found",
                               "DELL-DTIAS-INV-30004")
            return web.json_response({singular: item, "Status": "OK", "Tenant": tenant, "Error": None})
        return web.json_response({key: items, "Status": "OK", "Tenant": tenant, "Error": None})
    return handler


async def search_pools(request: web.Request) -> web.Response:
    """`POST search/resourcepools`: `Filters` (Key/Values/operator any_of) and `Pagination` {limit, offset}."""
    body = await _json(request)
    pools = list(request.app[STATE].data["pools"])
    for rule in body.get("Filters") or []:
        if rule.get("operator", "any_of") != "any_of":
            raise SimError(400, INVALID_ARGUMENT, "the simulator supports the any_of operator only",
                           "DELL-DTIAS-GW-00400")
        pools = [p for p in pools if str(p.get(rule.get("Key"), "")) in (rule.get("Values") or [])]
    paging = body.get("Pagination") or {}
    limit, offset = int(paging.get("limit") or DEFAULT_PAGE_SIZE), int(paging.get("offset") or 0)
    if not 1 <= limit <= MAX_PAGE_SIZE or offset < 0:
        raise SimError(400, INVALID_ARGUMENT, f"Pagination.limit 1..{MAX_PAGE_SIZE}, offset >= 0",
                       "DELL-DTIAS-GW-00400")
    return web.json_response({"ResourcePools": pools[offset: offset + limit],
                              "Pagination": {"limit": limit, "offset": offset, "total": len(pools)}, "Resp": None})


async def list_groups(request: web.Request) -> web.Response:
    number, size = _page_params(request)
    groups = request.app[STATE].data["groups"]
    pages = max(1, -(-len(groups) // size))
    return web.json_response({"resourceGroups": groups[(number - 1) * size: number * size],
                              "pagination": {"pageNumber": number, "pageSize": size, "totalPages": pages,
                                             "totalCount": len(groups)}})


def _accepted(job: Job, group_id: str) -> web.Response:
    return web.json_response({"jobid": job.id, "id": group_id, "status": "BUSY", "errorMsg": "", "debugMsg": ""},
                             status=202)


async def create_group(request: web.Request) -> web.Response:
    body = await _json(request)
    job = request.app[STATE].create_group(body)
    return _accepted(job, job.group_id)


async def get_group(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE].group(request.match_info["id"]))


async def delete_group(request: web.Request) -> web.Response:
    job = request.app[STATE].delete_group(request.match_info["id"])
    return _accepted(job, job.group_id)


async def get_job(request: web.Request) -> web.Response:
    job = request.app[STATE].poll_job(request.match_info["id"])
    return web.json_response({"brief": {"Id": job.id, "Status": job.status, "StartTime": job.start_time,
                                        "FailReason": job.fail_reason}})


# --- knobs (never part of DTIAS) ----------------------------------------------------------------------------------

async def knob_server(request: web.Request) -> web.Response:
    body = await _json(request)
    server = request.app[STATE].set_server(request.match_info["id"], body.get("health"), body.get("powerState"))
    return web.json_response({"name": server["metadata"]["name"], "health": server["status"]["Health"],
                              "powerState": server["status"]["PowerState"]})


async def knob_settings(request: web.Request) -> web.Response:
    """`{"down": bool, "failNextJob": "reason", "tokenSeconds": n, "jobSteps": n, "expireTokens": true}`."""
    body = await _json(request)
    state = request.app[STATE]
    knobs = state.knobs
    knobs.down = bool(body.get("down", knobs.down))
    knobs.fail_next_job = body.get("failNextJob", knobs.fail_next_job)
    knobs.token_seconds = int(body.get("tokenSeconds", knobs.token_seconds))
    knobs.job_steps = int(body.get("jobSteps", knobs.job_steps))
    if body.get("expireTokens"):
        state.expire_tokens()
    return web.json_response({"down": knobs.down, "failNextJob": knobs.fail_next_job,
                              "tokenSeconds": knobs.token_seconds, "jobSteps": knobs.job_steps})


async def knob_health(request: web.Request) -> web.Response:
    state = request.app[STATE]
    return web.json_response({"ok": True, "servers": len(state.data["servers"]), "grants": state.grants})


def build_app(state: State) -> web.Application:
    app = web.Application(middlewares=[dtias_errors])
    app[STATE] = state
    app.router.add_post("/identity/v1/tenant/Fulcrum/token/create", token_create)
    app.router.add_get(f"{T}/inventory/servers", list_servers)
    app.router.add_get(f"{T}/inventory/servers/{{id}}", get_server)
    for path, key, singular, source in (("sites", "Sites", "Site", "sites"),
                                        ("locations", "Locations", "Location", "locations"),
                                        ("resourcepools", "Rps", "Rp", "pools")):
        app.router.add_get(f"{T}/inventory/{path}", _inventory(key, singular, source))
        app.router.add_get(f"{T}/inventory/{path}/{{id}}", _inventory(key, singular, source))
    app.router.add_post(f"{T}/search/resourcepools", search_pools)
    app.router.add_get(f"{T}/resourcegroups", list_groups)
    app.router.add_post(f"{T}/resourcegroups", create_group)
    app.router.add_get(f"{T}/resourcegroups/{{id}}", get_group)
    app.router.add_delete(f"{T}/resourcegroups/{{id}}", delete_group)
    app.router.add_get(f"{T}/jobs/{{id}}", get_job)
    app.router.add_post("/_sim/servers/{id}", knob_server)
    app.router.add_post("/_sim/settings", knob_settings)
    app.router.add_get("/_sim/health", knob_health)
    return app
