"""What every command shares: the connection from the root options, the `-o` option, and the exit codes.

Exit codes: 0 done; 1 the gateway answered a problem, or an operation or pool failed (the problem goes to stderr as
JSON); 2 wrong usage; 3 `--wait` timed out; 4 the gateway could not be reached."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import httpx
import typer

from netweave_client._queries import ListQuery
from netweave_client.cli import config
from netweave_client.cli.output import Format, print_problem
from netweave_client.client import Client
from netweave_client.errors import OperationFailed, PoolFailed, ProblemError, ProvisioningFailed, WaitTimeout

EXIT_FAILED, EXIT_USAGE, EXIT_TIMEOUT, EXIT_UNREACHABLE = 1, 2, 3, 4

OutputOpt = Annotated[Format, typer.Option("--output", "-o", help="table, json, yaml, or id (identifiers only)")]
FilterOpt = Annotated[str | None, typer.Option("--filter", "-f", help="O2 filter, e.g. '(eq,name,far-edge-du)'")]
FieldsOpt = Annotated[str | None, typer.Option("--fields", help="extra attributes, comma-separated: 'elements'")]
WaitOpt = Annotated[bool, typer.Option("--wait", "-w", help="follow the change to its end, showing progress")]
TimeoutOpt = Annotated[float, typer.Option("--timeout", help="seconds --wait waits at most")]
ParamOpt = Annotated[list[str] | None, typer.Option("--param", help="a template parameter, key.path=value "
                                                    "(repeatable; read like --set)")]


def assignments(items: list[str] | None, option: str, into: dict[str, Any] | None = None) -> dict[str, Any]:
    """Helm's `--set` way: `key.path=value`, dotted keys nest, values read as YAML scalars (`3` a number, `true` a
    boolean, `'3'` a string); each laid over `into`."""
    import yaml

    merged = into if into is not None else {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ValueError(f"{option} {item!r}: expected key=value")
        *parents, leaf = key.split(".")
        node = merged
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = yaml.safe_load(raw) if raw else ""
    return merged


def listing(filter: str | None, fields: str | None = None) -> ListQuery:
    """The query of a list command: `--filter` as given, `--fields` split at commas."""
    query: ListQuery = {}
    if filter:
        query["filter"] = filter
    chosen = [part.strip() for part in fields.split(",") if part.strip()] if fields else []
    if chosen:
        query["fields"] = chosen
    return query


@contextmanager
def session(ctx: typer.Context) -> Iterator[Client]:
    """A client for the command; every failure leaves as its exit code, with the problem on stderr."""
    settings = ctx.obj if isinstance(ctx.obj, config.Settings) else config.Settings()
    try:
        with config.connect(settings) as client:
            yield client
    except ProblemError as error:
        print_problem(error)
        raise typer.Exit(EXIT_FAILED) from None
    except OperationFailed as failed:
        recorded = failed.operation.error
        problem = recorded.model_dump(by_alias=True, exclude_none=True) if recorded else {}
        operation = failed.operation
        print(json.dumps({"operationId": operation.operation_id, "operationType": operation.operation_type.value,
                          **problem}, indent=2), file=sys.stderr)
        raise typer.Exit(EXIT_FAILED) from None
    except (PoolFailed, ProvisioningFailed) as failed:
        print(str(failed), file=sys.stderr)
        raise typer.Exit(EXIT_FAILED) from None
    except WaitTimeout as timeout:
        print(str(timeout), file=sys.stderr)
        raise typer.Exit(EXIT_TIMEOUT) from None
    except httpx.TransportError as error:
        print(f"cannot reach the gateway: {error}", file=sys.stderr)
        raise typer.Exit(EXIT_UNREACHABLE) from None
    except ValueError as error:  # a profile that does not exist, a malformed --set or --param
        print(str(error), file=sys.stderr)
        raise typer.Exit(EXIT_USAGE) from None
