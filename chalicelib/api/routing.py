"""Route registration shared by every Blueprint: one place that knows, per path and method, the scope it needs,
its query/body models and its response model — read by the auth middleware and by the OpenAPI generator.

It also registers every unsupported method of a known path explicitly: `chalice local` would otherwise answer its
own non-ProblemDetails 405 and API Gateway a 403, while O2 clients expect 405 ProblemDetails with `Allow`.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chalice import Blueprint, Chalice, ChaliceUnhandledError, Response
from pydantic import BaseModel, ValidationError

from chalicelib.api import problems
from chalicelib.domain.auth import Scope
from chalicelib.domain.errors import BadRequest, MethodNotAllowed, NetweaveError, UnsupportedMediaType

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
JSON_MEDIA_TYPES = ["application/json", "application/merge-patch+json"]
View = Callable[..., Any]


@dataclass(frozen=True)
class RouteSpec:
    path: str
    method: str
    summary: str
    scope: Scope | None
    tag: str
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    responses: tuple[int, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)
    collection: bool = False  # the response is a JSON array of `response`
    # Raw routes: other JSON bodies accepted besides `body` (OpenAPI oneOf), request bodies of other media types
    # (media type -> JSON schema), and header parameters (OpenAPI parameter objects).
    alternatives: tuple[type[BaseModel], ...] = ()
    other_bodies: dict[str, dict[str, Any]] = field(default_factory=dict)
    headers: tuple[dict[str, Any], ...] = ()

    @property
    def public(self) -> bool:
        return self.scope is None


ROUTES: dict[tuple[str, str], RouteSpec] = {}


class Router:
    """Wraps a Blueprint so each view is declared once with everything the gateway needs to know about it."""

    def __init__(self, blueprint: Blueprint, tag: str) -> None:
        self.blueprint = blueprint
        self.tag = tag

    def route(
        self,
        path: str,
        method: str,
        *,
        summary: str,
        scope: Scope | None,
        query: type[BaseModel] | None = None,
        body: type[BaseModel] | None = None,
        response: type[BaseModel] | None = None,
        status: int = 200,
        responses: tuple[int, ...] = (),
        collection: bool = False,
    ) -> Callable[[View], View]:
        spec = RouteSpec(
            path, method, summary, scope, self.tag, query, body, response, status, responses, collection=collection
        )

        def register(view: View) -> View:
            if (path, method) in ROUTES:
                raise ValueError(f"route {method} {path} declared twice")
            ROUTES[(path, method)] = spec
            wrapped = _parsing(view, spec, self.blueprint)
            options: dict[str, Any] = {"methods": [method], "name": _route_name(method, path)}
            if body is not None:
                options["content_types"] = JSON_MEDIA_TYPES
            self.blueprint.route(path, **options)(wrapped)
            return view

        return register


    def raw_route(
        self,
        path: str,
        method: str,
        *,
        summary: str,
        scope: Scope | None,
        content_types: list[str],
        body: type[BaseModel] | None = None,
        response: type[BaseModel] | None = None,
        status: int = 200,
        responses: tuple[int, ...] = (),
        alternatives: tuple[type[BaseModel], ...] = (),
        other_bodies: dict[str, dict[str, Any]] | None = None,
        headers: tuple[dict[str, Any], ...] = (),
    ) -> Callable[[View], View]:
        """A route whose view reads the raw body itself (archives, multipart, bodies checked by hand): declared like
        any other for auth and OpenAPI (`body` and `alternatives` document the JSON forms, `other_bodies` the rest,
        `headers` the header parameters it reads), accepting `content_types`, taking no query parameters, its domain
        errors answered as ProblemDetails."""
        spec = RouteSpec(path, method, summary, scope, self.tag, None, body, response, status, responses,
                         alternatives=alternatives, other_bodies=dict(other_bodies or {}), headers=headers)

        def register(view: View) -> View:
            if (path, method) in ROUTES:
                raise ValueError(f"route {method} {path} declared twice")
            ROUTES[(path, method)] = spec

            @functools.wraps(view)
            def wrapped(**path_params: str) -> Any:
                request = self.blueprint.current_request
                try:
                    if request.query_params:
                        names = ", ".join(sorted(request.query_params))
                        raise BadRequest(f"unknown query parameter(s): {names}; this endpoint takes none")
                    _check_media_type(request.headers.get("content-type"), content_types)
                    return view(**path_params)
                except NetweaveError as error:
                    return problems.from_error(error)
                except Exception as error:
                    raise _bug(error) from error

            # Chalice is told "*/*" and the media type is checked above: `chalice deploy` refuses a route whose
            # content types mix binary and text ones (an archive upload and its JSON form), although API Gateway's
            # proxy integration decides per request, from the binary media types, whether the body comes base64.
            self.blueprint.route(path, methods=[method], name=_route_name(method, path),
                                 content_types=["*/*"])(wrapped)
            return view

        return register


def _check_media_type(header: str | None, accepted: list[str]) -> None:
    media_type = (header or "application/json").split(";", 1)[0].strip().lower()
    if media_type not in accepted:
        raise UnsupportedMediaType(f"Content-Type '{media_type[:100]}' is not accepted here; send one of "
                                   + ", ".join(accepted))


def _route_name(method: str, path: str) -> str:
    # Names must be unique per route: the same view function may serve several paths (the short form).
    return re.sub(r"[^A-Za-z0-9]+", "_", f"{method.lower()}{path}").strip("_")


def _parsing(view: View, spec: RouteSpec, blueprint: Blueprint) -> View:
    @functools.wraps(view)
    def wrapped(**path_params: str) -> Any:
        request = blueprint.current_request
        try:
            kwargs: dict[str, Any] = dict(path_params)
            if spec.query is not None:
                kwargs["query"] = parse_query(spec.query, request.query_params or {})
            elif request.query_params:
                names = ", ".join(sorted(request.query_params))
                raise BadRequest(f"unknown query parameter(s): {names}; this endpoint takes none")
            if spec.body is not None:
                kwargs["body"] = parse_body(spec.body, request.raw_body)
            return view(**kwargs)
        except NetweaveError as error:
            return problems.from_error(error)
        except Exception as error:
            raise _bug(error) from error

    return wrapped


def _bug(error: Exception) -> ChaliceUnhandledError:
    """Chalice lets only this through to the middleware, which answers 500 with the request id and logs the
    traceback under it; Chalice's own 500 would log it under no id."""
    return ChaliceUnhandledError(type(error).__name__)


def parse_query(model: type[BaseModel], params: dict[str, str]) -> BaseModel:
    try:
        return model.model_validate(dict(params))
    except ValidationError as error:
        raise problems.bad_request_from_validation(error, "query") from None


def parse_body(model: type[BaseModel], raw_body: bytes | None) -> BaseModel:
    if not raw_body:
        raise BadRequest("a JSON request body is required")
    document = read_json(raw_body)
    try:
        return model.model_validate(document)
    except ValidationError as error:
        raise problems.bad_request_from_validation(error, "body") from None


def read_json(raw: bytes) -> Any:
    """The one JSON parser of request bodies: whatever the bytes, a document or a 400, never a 500."""
    try:
        document = json.loads(raw, parse_constant=_not_json)
    except RecursionError:  # the C parser recurses per level: 100,000 '[' exhaust the stack before any check
        raise BadRequest(f"the request body is nested too deeply (at most {MAX_BODY_DEPTH} levels)") from None
    except ValueError as error:  # syntax, bad UTF-8 (UnicodeDecodeError), over 4300 digits, NaN/Infinity
        raise BadRequest(f"the request body is not valid JSON: {error}") from None
    if _depth(document) > MAX_BODY_DEPTH:  # what parses may still be too deep for code that walks it recursively
        raise BadRequest(f"the request body is nested too deeply (at most {MAX_BODY_DEPTH} levels)")
    return document


MAX_BODY_DEPTH = 64  # far beyond any O2 document or Helm values file, far below the interpreter's recursion limit


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON value")  # Python's parser accepts NaN and Infinity; JSON does not


def _depth(document: Any) -> int:
    """Nesting depth, counted without recursion."""
    deepest, stack = 0, [(document, 1)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, (dict, list)):
            deepest = max(deepest, level)
            if level > MAX_BODY_DEPTH:
                break
            stack.extend((child, level + 1) for child in (value.values() if isinstance(value, dict) else value))
    return deepest


def add_method_not_allowed_routes(app: Chalice) -> None:
    """For every path, answer each method it does not serve with 405 ProblemDetails and an `Allow` header."""
    for path, entries in list(app.routes.items()):
        allowed = sorted(entries)
        for method in HTTP_METHODS:
            if method not in entries:
                ROUTES[(path, method)] = RouteSpec(
                    path, method, "method not allowed", None, "internal", status=405, extra={"not_allowed": True}
                )
                app.route(path, methods=[method], name=f"not_allowed_{method.lower()}")(_not_allowed(method, allowed))


def allowed_methods(resource_path: str) -> list[str]:
    """The methods `resource_path` serves, as a 405's `Allow` names them (empty for an unknown path)."""
    return sorted(m for (p, m), spec in ROUTES.items() if p == resource_path and not spec.extra.get("not_allowed"))


def _not_allowed(method: str, allowed: list[str]) -> View:
    def not_allowed(**_: str) -> Response:
        return problems.from_error(MethodNotAllowed(method, allowed))

    return not_allowed


def spec_for(resource_path: str | None, method: str) -> RouteSpec | None:
    if resource_path is None:
        return None
    return ROUTES.get((resource_path, method))
