"""`netweave provision ...`: O2ims provisioning requests and the infrastructure templates they name
(docs/provisioning.md); `--wait` follows a request to FULFILLED, or to its 404 after a delete."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from netweave_client.cli.common import (
    FilterOpt,
    OutputOpt,
    ParamOpt,
    TimeoutOpt,
    WaitOpt,
    assignments,
    listing,
    session,
)
from netweave_client.cli.output import Format, attr, ext, render
from netweave_client.cli.progress import Display, provisioning_progress
from netweave_client.client import Client
from netweave_client.provisioning import resized
from netweave_client.waiting import GONE

app = typer.Typer(no_args_is_help=True, help="""Provisioning requests: infrastructure made from a template.

\b
Examples:
  netweave provision templates
  netweave provision create --template eks-nodegroup-pool:1.0.0 --param size=2 --param location=edge-site-5 --wait
  netweave provision resize REQUEST_ID --size 3 --wait
  netweave provision delete REQUEST_ID --wait
""")


def _template(request: Any) -> str:
    return f"{request.template_name}:{request.template_version}"


def _resources(request: Any) -> int:
    return len(request.provisioned_resource_set.infrastructure_resource_ids or [])


COLUMNS = [("ID", attr("provisioning_request_id")), ("NAME", attr("name")), ("TEMPLATE", _template),
           ("PHASE", lambda r: r.status.provisioning_phase), ("RESOURCES", _resources),
           ("MESSAGE", lambda r: r.status.message)]
TEMPLATE_COLUMNS = [("NAME", attr("name")), ("VERSION", attr("version")), ("KIND", ext("templateKind")),
                    ("BACKEND", ext("imsAdapter"))]
TemplateOpt = Annotated[str, typer.Option("--template", "-t", help="NAME:VERSION, e.g. eks-nodegroup-pool:1.0.0")]


def template_reference(value: str) -> tuple[str, str]:
    name, sep, version = value.partition(":")
    if not (sep and name and version):
        raise typer.BadParameter(f"{value!r}: expected NAME:VERSION", param_hint="--template")
    return name, version


def follow(nw: Client, request_id: str, phase: str, wait: bool, timeout: float) -> None:
    if not wait:
        return
    display = Display()
    goal = "gone" if phase == GONE else phase
    with display.running(f"waiting for provisioning request {request_id} to be {goal} (at most {timeout:g} s)"):
        nw.provisioning.wait(request_id, phase, timeout=timeout, progress=provisioning_progress(display))
    display.line(f"provisioning request {request_id} {goal}")


@app.command()
def templates(ctx: typer.Context, filter: FilterOpt = None, output: OutputOpt = Format.table) -> None:
    """The templates a request may name."""
    with session(ctx) as nw:
        render(nw.provisioning.templates.list(**listing(filter)).all(), TEMPLATE_COLUMNS, output)


@app.command()
def create(ctx: typer.Context, template: TemplateOpt, param: ParamOpt = None,
           request_id: Annotated[str | None, typer.Option("--id", help="the request's UUID; default: a new one")
                                 ] = None,
           name: Annotated[str | None, typer.Option(help="the request's name")] = None,
           description: Annotated[str | None, typer.Option(help="the request's description")] = None,
           wait: WaitOpt = False, timeout: TimeoutOpt = 900, output: OutputOpt = Format.table) -> None:
    """Ask for infrastructure; with --wait, until it is FULFILLED (exit 1 if it FAILED)."""
    template_name, template_version = template_reference(template)
    with session(ctx) as nw:
        created = nw.provisioning.requests.create(template_name, template_version, assignments(param, "--param"),
                                                  request_id=request_id, name=name, description=description)
        render(created, COLUMNS, output)
        follow(nw, created.provisioning_request_id, "FULFILLED", wait, timeout)


@app.command("list")
def list_(ctx: typer.Context, filter: FilterOpt = None, output: OutputOpt = Format.table) -> None:
    """Provisioning requests."""
    with session(ctx) as nw:
        render(nw.provisioning.requests.list(**listing(filter)).all(), COLUMNS, output)


@app.command()
def show(ctx: typer.Context, request_id: str, output: OutputOpt = Format.table) -> None:
    """One provisioning request."""
    with session(ctx) as nw:
        render(nw.provisioning.requests.get(request_id), COLUMNS, output)


@app.command()
def resize(ctx: typer.Context, request_id: str, size: Annotated[int, typer.Option(help="templateParameters.size")],
           wait: WaitOpt = False, timeout: TimeoutOpt = 900, output: OutputOpt = Format.table) -> None:
    """Change a request's size (a PUT of the request with the new size); with --wait, until it is FULFILLED."""
    with session(ctx) as nw:
        current = nw.provisioning.requests.get(request_id)
        render(nw.provisioning.requests.replace(request_id, resized(current, size)), COLUMNS, output)
        follow(nw, request_id, "FULFILLED", wait, timeout)


@app.command()
def delete(ctx: typer.Context, request_id: str, wait: WaitOpt = False, timeout: TimeoutOpt = 900) -> None:
    """Release what a request made; with --wait, until the request is gone (404)."""
    with session(ctx) as nw:
        nw.provisioning.requests.delete(request_id)
        print(f"deleting {request_id}")
        follow(nw, request_id, GONE, wait, timeout)
