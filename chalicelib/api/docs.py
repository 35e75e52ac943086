"""The API reference page: Swagger UI over this gateway's own /openapi.json, served from the deployment package
(no CDN, no token to read it). "Try it out" sends the bearer token the user pastes under "Authorize", the
document's `bearerAuth` scheme. Every URL on the page is relative, so it works under an API Gateway stage prefix
(`/api/docs` loads `/api/docs/...` and `/api/openapi.json`)."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.adapters import swagger_ui
from chalicelib.api.routing import Router

blueprint = Blueprint(__name__)
router = Router(blueprint, tag="operations")

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>netweave O2 gateway: API reference</title>
<link rel="stylesheet" href="docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script src="docs/start.js"></script>
</body>
</html>
"""
# Not inline in the page: a Content-Security-Policy without 'unsafe-inline' can still allow it.
_START = """window.ui = SwaggerUIBundle({
  url: "openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  docExpansion: "list",
  persistAuthorization: false
});
"""
_CACHE = {"Cache-Control": "public, max-age=3600"}  # an upgraded Swagger UI reaches browsers within the hour


@router.route("/docs", "GET", summary="API reference page (Swagger UI over /openapi.json)", scope=None)
def page() -> Response:
    swagger_ui.version()  # 503 ProblemDetails, not a blank page, when the package lacks Swagger UI's files
    return Response(_PAGE, status_code=200,
                    headers={"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache"})


@router.route("/docs/{fileName}", "GET", summary="A file of the API reference page", scope=None, responses=(404,))
def page_file(fileName: str) -> Response:
    if fileName == "start.js":
        return Response(_START, status_code=200, headers={"Content-Type": "text/javascript; charset=utf-8",
                                                          **_CACHE})
    content, media_type = swagger_ui.asset(fileName)
    return Response(content, status_code=200, headers={"Content-Type": media_type, **_CACHE})
