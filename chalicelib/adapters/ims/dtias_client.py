"""HTTP access to one Dell DTIAS (docs/dtias-backend.md): the token flow, tenant-scoped calls, paging and jobs.

- **Tokens.** `POST /identity/v1/tenant/Fulcrum/token/create` with the password grant; the access token is kept
  until `expires_in` minus a margin, then renewed with the refresh token (the password grant again if DTIAS refuses
  the refresh). A 401 on a call drops the token and retries that call once with a new one.
- **Errors.** No route, timeouts, 5xx, 429 and refused credentials are `BackendUnavailable` (the poller keeps the
  last-known inventory); DTIAS's own refusals (`{code, message, details[]}`) become the domain error of their HTTP
  status, with DTIAS's message and error code in the detail.
- **Jobs.** A write answers a `jobid`; `wait_job` polls `GET jobs/{id}` until it completes or fails, bounded.

httpx is imported at module level: this module is only imported when a `dtias` backend is built.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from chalicelib.domain.errors import BackendUnavailable, BadRequest, Conflict, NetweaveError, NotFound

TOKEN_PATH = "/identity/v1/tenant/Fulcrum/token/create"  # `Fulcrum` is a literal, not the tenant
_TOKEN_MARGIN = 30.0  # renew this many seconds before DTIAS says the token expires
_MAX_PAGES = 1000  # a DTIAS whose counts never add up must not hold the poller forever
_STATUS_ERRORS: dict[int, type[NetweaveError]] = {400: BadRequest, 404: NotFound, 409: Conflict, 422: BadRequest}
RUNNING, COMPLETED, FAILED = frozenset({"pending", "started", "running"}), "completed", "failed"


@dataclass(frozen=True)
class Credentials:
    client_id: str
    username: str
    password: str


@dataclass
class _Token:
    access: str
    expires: float
    refresh: str | None
    refresh_expires: float


@dataclass(frozen=True)
class JobResult:
    job_id: str
    status: str  # completed | failed | one of RUNNING (the wait ran out)
    fail_reason: str = ""


class DtiasClient:
    def __init__(self, adapter_id: str, base_url: str, tenant: str, credentials: Callable[[], Credentials],
                 verify: Any, timeout: float, page_size: int, clock: Callable[[], float] = time.time) -> None:
        self.adapter_id, self.base_url, self.tenant = adapter_id, base_url.rstrip("/"), tenant
        self._credentials, self._verify, self._timeout, self.page_size = credentials, verify, timeout, page_size
        self._clock = clock
        self._token: _Token | None = None
        self._lock = threading.Lock()
        self._http: httpx.Client | None = None

    # --- transport ------------------------------------------------------------------------------------------------

    def _client(self) -> httpx.Client:
        if self._http is None:
            # No environment proxies: DTIAS is reached directly, and a proxy would see its bearer tokens.
            self._http = httpx.Client(base_url=self.base_url, verify=self._verify, timeout=self._timeout,
                                      trust_env=False, follow_redirects=False)
        return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def _unavailable(self, action: str, why: str) -> BackendUnavailable:
        return BackendUnavailable(f"DTIAS {self.base_url} (backend '{self.adapter_id}'): {action} failed: {why}")

    def _send(self, action: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._client().request(method, path, **kwargs)
        except httpx.TimeoutException as error:
            raise self._unavailable(action, f"no answer within {self._timeout:g} s") from error
        except httpx.HTTPError as error:
            raise self._unavailable(action, f"{type(error).__name__}: {error}") from error

    def _refusal(self, action: str, reply: httpx.Response) -> NetweaveError:
        """A DTIAS error body as a domain error; 5xx, 429 and anything unexpected as BackendUnavailable."""
        message, code = error_text(reply)
        why = f"DTIAS answered HTTP {reply.status_code}: {message}" + (f" ({code})" if code else "")
        error_type = _STATUS_ERRORS.get(reply.status_code)
        if error_type is None:
            return self._unavailable(action, why)
        return error_type(f"{action}: {why}")

    # --- tokens ---------------------------------------------------------------------------------------------------

    def _fresh_token(self) -> str:
        with self._lock:
            now = self._clock()
            token = self._token
            if token is not None and token.expires - _TOKEN_MARGIN > now:
                return token.access
            credentials = self._credentials()
            if token is not None and token.refresh and token.refresh_expires - _TOKEN_MARGIN > now:
                renewed = self._request_token({"client_id": credentials.client_id, "grant_type": "refresh_token",
                                               "refresh_token": token.refresh}, refusable=True)
                if renewed is not None:
                    self._token = renewed
                    return renewed.access
            self._token = self._request_token({"client_id": credentials.client_id, "grant_type": "password",
                                               "username": credentials.username,
                                               "password": credentials.password}, refusable=False)
            assert self._token is not None  # refusable=False raises instead of answering None
            return self._token.access

    def _request_token(self, body: dict[str, str], refusable: bool) -> _Token | None:
        reply = self._send("log in", "POST", TOKEN_PATH, json=body)
        if reply.status_code in (400, 401) and refusable:
            return None  # the refresh token is no longer good: log in again
        if reply.status_code in (400, 401, 403):
            message, code = error_text(reply)
            raise self._unavailable("log in", f"DTIAS refused netweave's credentials: {message}"
                                    + (f" ({code})" if code else ""))
        if reply.status_code != 200:
            raise self._refusal("log in", reply)
        answer = _body(reply)
        now = self._clock()
        if not answer.get("access_token"):
            raise self._unavailable("log in", "the token answer carries no access_token")
        return _Token(str(answer["access_token"]), now + float(answer.get("expires_in") or 60),
                      answer.get("refresh_token") or None, now + float(answer.get("refresh_expires_in") or 0))

    def forget_token(self) -> None:
        with self._lock:
            self._token = None

    # --- calls ----------------------------------------------------------------------------------------------------

    def call(self, action: str, method: str, path: str, *, ok: tuple[int, ...] = (200,),
             **kwargs: Any) -> httpx.Response:
        """A tenant-scoped call (`path` below `/v1/tenants/{tenant}`); one retry with a new token after a 401."""
        full = f"/v1/tenants/{self.tenant}{path}"
        for attempt in range(2):
            headers = {"Authorization": f"Bearer {self._fresh_token()}", "Accept": "application/json"}
            reply = self._send(action, method, full, headers=headers, **kwargs)
            if reply.status_code == 401 and attempt == 0:
                self.forget_token()  # expired early, or revoked: log in again once
                continue
            if reply.status_code == 401:
                raise self._unavailable(action, "DTIAS rejects netweave's fresh token (HTTP 401)")
            if reply.status_code not in ok:
                raise self._refusal(action, reply)
            return reply
        raise AssertionError("unreachable")

    def get(self, action: str, path: str, **params: str) -> dict[str, Any]:
        return _body(self.call(action, "GET", path, params=params or None))

    def servers(self) -> list[dict[str, Any]]:
        """Every server with its full inventory, page by page until `ServerCount` is reached."""
        found: list[dict[str, Any]] = []
        for number in range(1, _MAX_PAGES + 1):
            page = self.get("list servers", "/inventory/servers", pageNumber=str(number),
                            pageSize=str(self.page_size))
            _check_embedded_error("list servers", page)
            servers = [s for s in page.get("Servers") or [] if isinstance(s, dict)]
            found += servers
            if not servers or len(found) >= _int(page.get("ServerCount")):
                return found
        raise self._unavailable("list servers", f"more than {_MAX_PAGES} pages")

    def resource_pools(self) -> list[dict[str, Any]]:
        """`POST search/resourcepools`, walking `Pagination.offset` until `total`."""
        found: list[dict[str, Any]] = []
        while len(found) < _MAX_PAGES * self.page_size:
            body = {"Filters": [], "Pagination": {"limit": self.page_size, "offset": len(found)}}
            page = _body(self.call("search resource pools", "POST", "/search/resourcepools", json=body))
            pools = [p for p in page.get("ResourcePools") or [] if isinstance(p, dict)]
            found += pools
            if not pools or len(found) >= _int((page.get("Pagination") or {}).get("total")):
                return found
        raise self._unavailable("search resource pools", f"more than {_MAX_PAGES} pages")

    def resource_groups(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for number in range(1, _MAX_PAGES + 1):
            page = self.get("list resource groups", "/resourcegroups", pageNumber=str(number),
                            pageSize=str(self.page_size))
            groups = [g for g in page.get("resourceGroups") or [] if isinstance(g, dict)]
            found += groups
            paging = page.get("pagination") or {}
            if not groups or number >= _int(paging.get("totalPages"), 1) or len(found) >= _int(
                    paging.get("totalCount"), len(found)):
                return found
        raise self._unavailable("list resource groups", f"more than {_MAX_PAGES} pages")

    def wait_job(self, job_id: str, seconds: float, interval: float, gone_is_done: bool = False) -> JobResult:
        """Poll the job until it ends or `seconds` pass; a job that vanished (404) counts as done for a delete."""
        deadline = time.monotonic() + seconds
        while True:
            try:
                brief = self.get(f"read job {job_id}", f"/jobs/{job_id}").get("brief") or {}
            except NotFound:
                if gone_is_done:
                    return JobResult(job_id, COMPLETED)
                raise
            status = str(brief.get("Status") or "").lower()
            if status not in RUNNING or time.monotonic() >= deadline:
                return JobResult(job_id, status, str(brief.get("FailReason") or ""))
            time.sleep(interval)


def _body(reply: httpx.Response) -> dict[str, Any]:
    try:
        answer = reply.json()
    except ValueError as error:
        raise BackendUnavailable(f"DTIAS answered {reply.request.url.path} with a body that is not JSON") from error
    if not isinstance(answer, dict):
        raise BackendUnavailable(f"DTIAS answered {reply.request.url.path} with JSON that is not an object")
    return answer


def error_text(reply: httpx.Response) -> tuple[str, str]:
    """(message, DTIAS error code) of a `GooglerpcStatus` body; its `details` is a list, or an object (token)."""
    try:
        body = reply.json()
    except ValueError:
        return (reply.text[:200] or reply.reason_phrase), ""
    if not isinstance(body, dict):
        return str(body)[:200], ""
    details = body.get("details")
    first = details[0] if isinstance(details, list) and details else details if isinstance(details, dict) else {}
    metadata = first.get("metadata") if isinstance(first, dict) else None
    code = str((metadata or {}).get("DTIASErrorCode") or "")
    return str(body.get("message") or reply.reason_phrase)[:300], code


def _check_embedded_error(action: str, page: dict[str, Any]) -> None:
    """A 200 can still carry `Error` (reference §3.6): treat it as the outage it describes."""
    error = page.get("Error")
    if error:
        raise BackendUnavailable(f"DTIAS {action}: {str(error)[:300]}")


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default

