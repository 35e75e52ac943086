"""`netweave templates ...`: O2dms deployment templates (`/o2dms/v1/deploymentTemplates`), the patterns `netweave
deploy create --template` deploys from."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from netweave_client.cli.common import EXIT_FAILED, FilterOpt, OutputOpt, listing, session
from netweave_client.cli.output import Format, attr, render
from netweave_client.client import Client

app = typer.Typer(no_args_is_help=True, help="""Deployment templates: a package, default values, a parameter schema
and placement, deployed with `netweave deploy create --template`.

\b
Examples:
  netweave templates create -f du-template.yaml
  netweave templates list
  netweave templates show du:1.0.0
  netweave deploy create --template du:1.0.0 --param site=edge-5 --wait
  netweave templates delete TEMPLATE_ID
""")


def _package(template: Any) -> str:
    return template.package_id or f"{template.package_name}:{template.package_version}"


COLUMNS = [("ID", attr("deployment_template_id")), ("NAME", attr("name")), ("VERSION", attr("version")),
           ("PACKAGE", _package), ("NAMESPACE", lambda t: t.placement.namespace)]


def template_id(nw: Client, reference: str) -> str:
    """A template's id as given, or the id of the template NAME:VERSION names (template names hold no `:`)."""
    name, sep, version = reference.partition(":")
    if not sep:
        return reference
    found = nw.dms.templates.list(filter=f"(eq,name,{name});(eq,version,{version})").all()
    if not found:
        print(f"no deployment template {name} {version}", file=sys.stderr)
        raise typer.Exit(EXIT_FAILED)
    return found[0].deployment_template_id


def read_template(path: Path) -> dict[str, Any]:
    """A template document, YAML or JSON (JSON is YAML)."""
    import yaml

    document = yaml.safe_load(path.read_text())
    if not isinstance(document, dict):
        raise ValueError(f"{path}: expected a template object (name, version, parameterSchema, placement, ...)")
    return document


@app.command("list")
def list_(ctx: typer.Context, filter: FilterOpt = None, output: OutputOpt = Format.table) -> None:
    """Deployment templates."""
    with session(ctx) as nw:
        render(nw.dms.templates.list(**listing(filter)).all(), COLUMNS, output)


@app.command()
def show(ctx: typer.Context, template: Annotated[str, typer.Argument(help="ID or NAME:VERSION")],
         output: OutputOpt = Format.table) -> None:
    """One deployment template."""
    with session(ctx) as nw:
        render(nw.dms.templates.get(template_id(nw, template)), COLUMNS, output)


@app.command()
def create(ctx: typer.Context,
           file: Annotated[Path, typer.Option("--file", "-f", exists=True, dir_okay=False,
                                              help="the template, YAML or JSON")],
           output: OutputOpt = Format.table) -> None:
    """Store a deployment template."""
    with session(ctx) as nw:
        render(nw.dms.templates.create(read_template(file)), COLUMNS, output)


@app.command()
def delete(ctx: typer.Context, template: Annotated[str, typer.Argument(help="ID or NAME:VERSION")]) -> None:
    """Delete a deployment template."""
    with session(ctx) as nw:
        found = template_id(nw, template)
        nw.dms.templates.delete(found)
        print(f"deleted {found}")
