"""The API reference page at /docs: Swagger UI's files from the deployment package, no token needed, every URL
relative (so it works under a stage prefix), refusals as ProblemDetails. That it renders every route of
/openapi.json in a real browser is tests/e2e/test_docs_browser.py's job."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from chalicelib.adapters import swagger_ui
from tests.functional.conftest import Api, assert_problem


def test_the_page_needs_no_token_and_loads_only_relative_urls(api: Api) -> None:
    reply = api.get("/docs", token=None)
    assert reply.status == 200, reply.body
    assert reply.header("content-type") == "text/html; charset=utf-8"
    loaded = re.findall(rb'(?:src|href)="([^"]+)"', reply.body)
    assert loaded == [b"docs/swagger-ui.css", b"docs/swagger-ui-bundle.js", b"docs/start.js"]
    assert not any(url.startswith((b"http", b"/")) for url in loaded), "no CDN, no absolute path"


def test_swagger_ui_is_served_from_the_package_and_started_on_this_apis_document(api: Api) -> None:
    bundle = api.get("/docs/swagger-ui-bundle.js", token=None)
    assert bundle.status == 200 and bundle.header("content-type") == "text/javascript; charset=utf-8"
    assert b"SwaggerUIBundle" in bundle.body and len(bundle.body) > 500_000
    css = api.get("/docs/swagger-ui.css", token=None)
    assert css.status == 200 and css.header("content-type") == "text/css; charset=utf-8"
    start = api.get("/docs/start.js", token=None)
    assert b'url: "openapi.json"' in start.body  # relative: /api/docs reads /api/openapi.json


def test_other_files_and_methods_are_refused(api: Api) -> None:
    assert_problem(api.get("/docs/VERSION", token=None), 404, "VERSION")
    assert_problem(api.get("/docs/..%2F..%2Fapp.py", token=None), 404)
    assert_problem(api.request("POST", "/docs", token=None), 405)


def test_a_package_without_swagger_ui_answers_503_naming_the_fix(api: Api, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(swagger_ui, "_PLACES", (tmp_path,))
    swagger_ui._read.cache_clear()
    try:
        body = assert_problem(api.get("/docs", token=None), 503, "install_swagger_ui.sh")
        assert body["status"] == 503
    finally:
        swagger_ui._read.cache_clear()
