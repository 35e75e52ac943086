"""Output forms: `table` for people (rich), `json` and `yaml` for scripts (the objects as the gateway sends them:
wire names, nothing left out but absent values)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Sequence
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from netweave_client.errors import ProblemError

Column = tuple[str, Callable[[Any], object]]


class Format(StrEnum):
    table = "table"
    json = "json"
    yaml = "yaml"
    id = "id"  # only the identifier (the table's first column), one per line: for `VAR=$(netweave ... -o id)`


def wire(item: BaseModel | dict[str, Any]) -> dict[str, Any]:
    if isinstance(item, BaseModel):
        return item.model_dump(by_alias=True, exclude_none=True, mode="json")
    return item


def ext(name: str) -> Callable[[Any], object]:
    return lambda item: (getattr(item, "extensions", None) or {}).get(name, "")


def attr(name: str) -> Callable[[Any], object]:
    return lambda item: getattr(item, name, "")


def render(items: Sequence[BaseModel] | BaseModel, columns: Sequence[Column], form: Format) -> None:
    many = not isinstance(items, BaseModel)
    rows = list(items) if not isinstance(items, BaseModel) else [items]
    if form is Format.json:
        print(json.dumps([wire(r) for r in rows] if many else wire(rows[0]), indent=2))
    elif form is Format.yaml:
        import yaml

        print(yaml.safe_dump([wire(r) for r in rows] if many else wire(rows[0]), sort_keys=False), end="")
    elif form is Format.id:
        for row in rows:
            print(_cell(columns[0][1](row)) if columns else "")
    else:
        table(rows, columns)


def table(rows: Iterable[Any], columns: Sequence[Column]) -> None:
    from rich.console import Console
    from rich.table import Table

    view = Table(box=None, header_style="bold", pad_edge=False)
    for header, _ in columns:
        view.add_column(header, overflow="fold")
    for row in rows:
        view.add_row(*(_cell(get(row)) for _, get in columns))
    # piped, a row stays one line (grep, awk); on a terminal rich fits the table to its width
    Console(soft_wrap=True, width=None if sys.stdout.isatty() else 100_000).print(view)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def print_problem(error: ProblemError) -> None:
    """The problem as the gateway sent it, on stderr, so `2>` keeps it for the SMO's logs; each parameter it
    refused first, one per line, for the person who typed them."""
    for invalid in error.invalid_params:
        print(f"invalid {invalid.name}: {invalid.reason}", file=sys.stderr)
    print(json.dumps(error.to_dict(), indent=2), file=sys.stderr)
