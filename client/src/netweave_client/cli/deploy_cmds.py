"""`netweave deploy ...`: O2dms deployments and their lifecycle; `--wait` follows the operation to its end."""

from __future__ import annotations

from pathlib import Path
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
from netweave_client.cli.progress import Display, operation_progress
from netweave_client.cli.templates_cmds import template_id
from netweave_client.client import Client
from netweave_client.models import Deployment, Operation

app = typer.Typer(no_args_is_help=True, help="""Deployments: create, change, follow, remove.

\b
Examples:
  netweave deploy create vdu-cell-1 --namespace oran-du --package PACKAGE_ID --set replicas=3 --wait
  netweave deploy create --template du:1.0.0 --param site=edge-5 --param cell.id=12345 --wait
  netweave deploy scale DEPLOYMENT_ID 5 --wait
  netweave deploy upgrade DEPLOYMENT_ID --package NEW_PACKAGE_ID --wait
  netweave deploy upgrade DEPLOYMENT_ID --template du:1.1.0 --wait
  netweave deploy rollback DEPLOYMENT_ID --wait
  netweave deploy status DEPLOYMENT_ID
  netweave deploy logs DEPLOYMENT_ID --tail 50
  netweave deploy delete DEPLOYMENT_ID --wait
""")

COLUMNS = [("ID", attr("deployment_id")), ("NAME", attr("name")), ("NAMESPACE", attr("namespace")),
           ("STATUS", attr("status")), ("VERSION", attr("package_version")), ("REVISION", ext("revision"))]
OP_COLUMNS = [("OPERATION", attr("operation_id")), ("TYPE", attr("operation_type")), ("STATUS", attr("status")),
              ("DEPLOYMENT", attr("deployment_id"))]
ValuesOpt = Annotated[Path | None, typer.Option("--values", exists=True, dir_okay=False, help="a YAML values file")]
SetOpt = Annotated[list[str] | None, typer.Option("--set", help="key.path=value (repeatable)")]
TemplateOpt = Annotated[str | None, typer.Option("--template", "-t", help="a deployment template: ID or NAME:VERSION")]
HelmTimeoutOpt = Annotated[int | None, typer.Option(
    "--operation-timeout", help="timeoutSeconds: how long the backend waits for readiness")]


def values(file: Path | None, settings: list[str] | None) -> dict[str, Any] | None:
    """Helm's way: the file first, then each --set over it (dotted keys nest; values read as YAML scalars)."""
    import yaml

    merged: dict[str, Any] = dict(yaml.safe_load(file.read_text()) or {}) if file else {}
    assignments(settings, "--set", merged)
    return merged if (file or settings) else None


def _only_template(command: str, **others: object) -> None:
    """A template brings the name, namespace, package, values and placement: giving them too is a usage error."""
    given = [name.replace("_", "-") for name, value in others.items() if value]
    if given:
        raise typer.BadParameter(f"takes --param, not {', '.join(given)}", param_hint="--template")


def follow(nw: Client, target: Operation | Deployment, wait: bool, timeout: float) -> None:
    if not wait:
        return
    display = Display()
    with display.running(f"waiting for the operation (at most {timeout:g} s)"):
        done = nw.dms.wait(target, timeout=timeout, progress=operation_progress(display))
    display.line(f"operation {done.operation_id} {done.status.value}")


@app.command()
def create(ctx: typer.Context,
           name: Annotated[str | None, typer.Argument(help="the release name (not with --template)")] = None,
           namespace: Annotated[str | None, typer.Option("--namespace", "-n")] = None,
           package: Annotated[str | None, typer.Option("--package", "-p", help="packageId")] = None,
           template: TemplateOpt = None, param: ParamOpt = None,
           values_file: ValuesOpt = None, set_: SetOpt = None,
           pool: Annotated[str | None, typer.Option(help="resourcePoolId to place every pod on")] = None,
           dms_adapter: Annotated[str | None, typer.Option(help="the DMS backend, overriding routing")] = None,
           operation_timeout: HelmTimeoutOpt = None, wait: WaitOpt = False, timeout: TimeoutOpt = 600,
           output: OutputOpt = Format.table) -> None:
    """Create a deployment: NAME -n NAMESPACE -p PACKAGE, or --template ID|NAME:VERSION --param k=v ..."""
    if template is not None:
        _only_template("create", name=name, namespace=namespace, package=package, values=values_file, set=set_,
                       pool=pool, dms_adapter=dms_adapter, operation_timeout=operation_timeout)
    elif not (name and namespace and package) or param:
        raise typer.BadParameter("give NAME, --namespace and --package, or --template (with --param)",
                                 param_hint="NAME")
    with session(ctx) as nw:
        if template is not None:
            created = nw.dms.deploy_template(template_id(nw, template), assignments(param, "--param"))
        else:
            created = nw.dms.create_deployment(str(name), str(namespace), str(package),
                                               values=values(values_file, set_), resource_pool_id=pool,
                                               dms_adapter=dms_adapter, timeout_seconds=operation_timeout)
        render(created, COLUMNS, output)
        follow(nw, created, wait, timeout)


@app.command()
def scale(ctx: typer.Context, deployment_id: str, replicas: int, operation_timeout: HelmTimeoutOpt = None,
          wait: WaitOpt = False, timeout: TimeoutOpt = 600, output: OutputOpt = Format.table) -> None:
    """Scale every workload of a deployment."""
    with session(ctx) as nw:
        operation = nw.dms.scale(deployment_id, replicas, timeout_seconds=operation_timeout)
        render(operation, OP_COLUMNS, output)
        follow(nw, operation, wait, timeout)


@app.command()
def upgrade(ctx: typer.Context, deployment_id: str,
            package: Annotated[str | None, typer.Option("--package", "-p", help="the new packageId")] = None,
            template: TemplateOpt = None, param: ParamOpt = None,
            values_file: ValuesOpt = None, set_: SetOpt = None, operation_timeout: HelmTimeoutOpt = None,
            wait: WaitOpt = False, timeout: TimeoutOpt = 600, output: OutputOpt = Format.table) -> None:
    """Upgrade to another package (and values), or to a template (--param, else the deployment's own parameters).
    A failed package upgrade is not rolled back: `rollback` is yours."""
    if template is not None:
        _only_template("upgrade", package=package, values=values_file, set=set_, operation_timeout=operation_timeout)
    elif package is None or param:
        raise typer.BadParameter("give --package, or --template (with --param)", param_hint="--package")
    with session(ctx) as nw:
        if template is not None:
            operation = nw.dms.upgrade(deployment_id, template_id=template_id(nw, template),
                                       parameters=assignments(param, "--param") if param else None)
        else:
            operation = nw.dms.upgrade(deployment_id, package, values=values(values_file, set_),
                                       timeout_seconds=operation_timeout)
        render(operation, OP_COLUMNS, output)
        follow(nw, operation, wait, timeout)


@app.command()
def rollback(ctx: typer.Context, deployment_id: str,
             revision: Annotated[int | None, typer.Option(help="default: the previous one")] = None,
             operation_timeout: HelmTimeoutOpt = None, wait: WaitOpt = False, timeout: TimeoutOpt = 600,
             output: OutputOpt = Format.table) -> None:
    """Roll back to a revision."""
    with session(ctx) as nw:
        operation = nw.dms.rollback(deployment_id, revision, timeout_seconds=operation_timeout)
        render(operation, OP_COLUMNS, output)
        follow(nw, operation, wait, timeout)


@app.command()
def delete(ctx: typer.Context, deployment_id: str, wait: WaitOpt = False, timeout: TimeoutOpt = 600,
           output: OutputOpt = Format.table) -> None:
    """Uninstall and remove a deployment."""
    with session(ctx) as nw:
        operation = nw.dms.delete_deployment(deployment_id)
        render(operation, OP_COLUMNS, output)
        follow(nw, operation, wait, timeout)


@app.command("list")
def list_(ctx: typer.Context, filter: FilterOpt = None, output: OutputOpt = Format.table) -> None:
    """Deployments."""
    with session(ctx) as nw:
        render(nw.dms.deployments(**listing(filter)).all(), COLUMNS, output)


@app.command()
def get(ctx: typer.Context, deployment_id: str, output: OutputOpt = Format.table) -> None:
    """One deployment."""
    with session(ctx) as nw:
        render(nw.dms.deployment(deployment_id), COLUMNS, output)


@app.command()
def status(ctx: typer.Context, deployment_id: str, output: OutputOpt = Format.table) -> None:
    """Live status: release, workloads, pods."""
    with session(ctx) as nw:
        live = nw.dms.status(deployment_id)
        if output is not Format.table:
            render(live, [], output)
            return
        release = live.release
        print(f"{live.status} ready={live.ready} revision={release.revision if release else '-'} "
              f"release={release.status if release else 'none'}")
        render(live.pods, [("POD", attr("name")), ("PHASE", attr("phase")), ("READY", attr("ready")),
                           ("RESTARTS", attr("restarts")), ("REASON", attr("reason"))], output)


@app.command()
def logs(ctx: typer.Context, deployment_id: str, container: str | None = None,
         tail: Annotated[int | None, typer.Option(help="last lines per container")] = None) -> None:
    """Recent log lines of the deployment's pods."""
    with session(ctx) as nw:
        for stream in nw.dms.logs(deployment_id, container=container, tail_lines=tail):
            for line in stream.lines:
                print(f"{stream.pod}/{stream.container}: {line}")


@app.command()
def history(ctx: typer.Context, deployment_id: str, output: OutputOpt = Format.table) -> None:
    """Release revisions, oldest first."""
    columns = [("REVISION", attr("revision")), ("STATUS", attr("status")), ("CHART", attr("chart")),
               ("UPDATED", attr("updated_at")), ("DESCRIPTION", attr("description"))]
    with session(ctx) as nw:
        render(nw.dms.history(deployment_id), columns, output)


@app.command()
def operation(ctx: typer.Context, operation_id: str, wait: WaitOpt = False, timeout: TimeoutOpt = 600,
              output: OutputOpt = Format.table) -> None:
    """One operation; with --wait, follow it."""
    with session(ctx) as nw:
        found = nw.dms.operation(operation_id)
        render(found, OP_COLUMNS, output)
        follow(nw, found, wait, timeout)
