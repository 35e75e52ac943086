"""Query parameters every collection and object read takes (docs/o2-conventions.md §3)."""

from __future__ import annotations

from typing import TypedDict

from netweave_client._core import query


class ItemQuery(TypedDict, total=False):
    """Attribute selectors: `fields` adds to the default representation, `all_fields` returns everything,
    `exclude_fields` removes (excluding an attribute the model requires fails its validation)."""

    fields: list[str]
    all_fields: bool
    exclude_fields: list[str]


class ListQuery(ItemQuery, total=False):
    """`filter` in the O2 query language (`(eq,name,far-edge-du);(gte,extensions/vfCount,4)`); `limit` is the page
    size (1-1000), the pager follows every page anyway."""

    filter: str
    limit: int


def params(selection: ItemQuery | ListQuery) -> dict[str, str]:
    return query(**selection)
