"""Facts about the request as the client sent it."""

from __future__ import annotations

from chalice.app import Request


def api_root(request: Request) -> str:
    """`{apiRoot}` as the client sees it (scheme, host, port; no path), honouring API Gateway's forwarding headers."""
    headers = request.headers or {}
    scheme = (headers.get("x-forwarded-proto") or "http").split(",")[0].strip()
    host = headers.get("host") or "localhost"
    port = headers.get("x-forwarded-port")
    default_port = {"http": "80", "https": "443"}.get(scheme)
    if port and port != default_port and ":" not in host:
        host = f"{host}:{port}"
    return f"{scheme}://{host}"
