"""Shared by every collection view: the query model of the O2 query language and the paged response."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from chalice import Response
from chalice.app import Request
from pydantic import ConfigDict

from chalicelib.api.ports import ports
from chalicelib.api.queries import SelectorQuery
from chalicelib.api.request_info import api_root

if TYPE_CHECKING:  # the query language and paging load with the first listing, not with the API function
    from chalicelib.domain.paging import Marker, MarkerCodec
    from chalicelib.domain.query import Filter
    from chalicelib.services.paging import Page


class ListQuery(SelectorQuery):
    """`filter`, attribute selectors and paging (docs/o2-conventions.md §3)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    filter: str | None = None
    nextpage_opaque_marker: str | None = None
    limit: str | None = None

    def parsed_filter(self) -> Filter | None:
        from chalicelib.domain.query import parse_filter

        return parse_filter(self.filter) if self.filter is not None else None

    def marker(self) -> Marker | None:
        from chalicelib.domain.paging import decode_marker

        return decode_marker(self.nextpage_opaque_marker) if self.nextpage_opaque_marker else None

    def page_size(self) -> int:
        from chalicelib.domain.paging import parse_limit

        return parse_limit(self.limit)


def marker_codec() -> MarkerCodec:
    """Signs and checks this gateway's paging markers, with the key of its settings, read only if a marker is signed
    or checked (`ports().secret` keeps the SSM parameter for the container's life)."""
    from chalicelib.domain.paging import MarkerCodec

    api_ports = ports()
    return MarkerCodec(lambda: api_ports.settings.marker_key(api_ports.secret))


def page_response(request: Request, page: Page, warning: str | None = None) -> Response:
    headers = {"Content-Type": "application/json"}
    if warning:
        headers["Warning"] = f'199 netweave "{warning}"'  # RFC 7234 miscellaneous warning: partial knowledge
    if page.next_marker is not None:
        headers["Link"] = f'<{next_page_url(request, page.next_marker)}>; rel="next"'
    return Response(body=json.dumps(page.items, separators=(",", ":")), status_code=200, headers=headers)


def next_page_url(request: Request, marker: str) -> str:
    params: dict[str, Any] = {k: v for k, v in (request.query_params or {}).items() if k != "nextpage_opaque_marker"}
    params["nextpage_opaque_marker"] = marker
    path = (request.context or {}).get("path") or request.path
    return f"{api_root(request)}{path}?{urlencode(params)}"
