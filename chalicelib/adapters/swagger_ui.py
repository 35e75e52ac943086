"""Swagger UI's files for the /docs page (chalicelib/api/docs.py), as devtools/install_swagger_ui.sh put them in
`vendor/swagger_ui/`: Chalice ships vendor/'s contents at the package root, so in Lambda they are in
`/var/task/swagger_ui/`, in a checkout in `vendor/swagger_ui/`. Read once per container."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from chalicelib.domain.errors import NotFound, ServiceUnavailable

_APP_ROOT = Path(__file__).resolve().parents[2]  # where app.py is: /var/task in Lambda
_PLACES = (_APP_ROOT / "swagger_ui", _APP_ROOT / "vendor" / "swagger_ui")
ASSETS = {"swagger-ui-bundle.js": "text/javascript; charset=utf-8", "swagger-ui.css": "text/css; charset=utf-8"}


def asset(name: str) -> tuple[str, str]:
    """The file's text and media type; only Swagger UI's own files are served, never a path the caller builds."""
    media_type = ASSETS.get(name)
    if media_type is None:
        raise NotFound(f"no such file of the API reference page: {name}")
    return _read(name), media_type


def version() -> str:
    return _read("VERSION").strip()


@lru_cache(maxsize=len(ASSETS) + 1)
def _read(name: str) -> str:
    for place in _PLACES:
        if (place / name).is_file():
            return (place / name).read_text(encoding="utf-8")
    raise ServiceUnavailable("the API reference page's files are not in this deployment: run "
                             "devtools/install_swagger_ui.sh (make setup does) before packaging",
                             retry_after_seconds=3600)
