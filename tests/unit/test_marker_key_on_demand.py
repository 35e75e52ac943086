"""The paging marker key is read only when a marker is signed or checked (chalicelib/domain/paging.py `MarkerCodec`):
on a deployed stage it is an SSM parameter, and a first page that holds the whole list should not wait for it."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.paging import MarkerCodec
from chalicelib.services.paging import PagedSource, collect


def test_a_list_that_fits_one_page_never_reads_the_marker_key() -> None:
    reads: list[int] = []

    def key() -> bytes:
        reads.append(1)
        return b"marker key"

    items = [{"id": str(i)} for i in range(5)]

    def fetch(limit: int, start: Any) -> tuple[list[dict[str, str]], Any]:
        return items[:limit], ({"id": {"S": items[limit - 1]["id"]}} if limit < len(items) else None)

    source: PagedSource[dict[str, str]] = PagedSource(
        fetch=fetch, matches=lambda item: True, key_after=lambda item: {"id": {"S": item["id"]}}, scope="s",
        key_attributes=frozenset({"id"}))
    assert collect(source, 10, None, MarkerCodec(key)) == (items, None)
    assert reads == []
    first, marker = collect(source, 2, None, MarkerCodec(key))
    assert first == items[:2] and marker is not None and reads == [1]  # a longer list signs its marker
