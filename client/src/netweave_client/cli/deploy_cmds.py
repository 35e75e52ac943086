"""`netweave deploy ...`: O2dms deployments and their lifecycle; `--wait` follows the operation to its end."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from netweave_client.cli.common import FilterOpt, OutputOpt, TimeoutOpt, WaitOpt, listing, session
from netweave_client.cli.output import Format, attr, ext, render
from netweave_client.cli.progress import Display, operation_progress
from netweave_client.client import Client
from netweave_client.models import Deployment, Operation

app = typer.Typer(no_args_is_help=True, help="""Deployments: create, change, follow, remove.

\b
Examples:
  netweave deploy create vdu-cell-1 --namespace oran-du --package PACKAGE_ID --set replicas=3 --wait
  netweave deploy scale DEPLOYMENT_ID 5 --wait
  netweave deploy upgrade DEPLOYMENT_ID --package NEW_PACKAGE_ID --wait
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
HelmTimeoutOpt = Annotated[int | None, typer.Option(
    "--operation-timeout", help="timeoutSeconds: how long the backend waits for readiness")]


def values(file: Path | None, settings: list[str] | None) -> dict[str, Any] | None:
    """Helm's way: the file first, then each --set over it (dotted keys nest; values read as YAML scalars)."""
    import yaml

    merged: dict[str, Any] = dict(yaml.safe_load(file.read_text()) or {}) if file else {}
    for item in settings or []:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--set {item!r}: expected key=value")
        *parents, leaf = key.split(".")
        node = merged
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = yaml.safe_load(raw) if raw else ""
    return merged if (file or settings) else None


def follow(nw: Client, target: Operation | Deployment, wait: bool, timeout: float) -> None:
    if not wait:
        return
    display = Display()
    with display.running(f"waiting for the operation (at most {timeout:g} s)"):
        done = nw.dms.wait(target, timeout=timeout, progress=operation_progress(display))
    display.line(f"operation {done.operation_id} {done.status.value}")


@app.command()
def create(ctx: typer.Context, name: str,
           namespace: Annotated[str, typer.Option("--namespace", "-n")],
           package: Annotated[str, typer.Option("--package", "-p", help="packageId")],
           values_file: ValuesOpt = None, set_: SetOpt = None,
           pool: Annotated[str | None, typer.Option(help="resourcePoolId to place every pod on")] = None,
           dms_adapter: Annotated[str | None, typer.Option(help="the DMS backend, overriding routing")] = None,
           operation_timeout: HelmTimeoutOpt = None, wait: WaitOpt = False, timeout: TimeoutOpt = 600,
           output: OutputOpt = Format.table) -> None:
    """Create a deployment."""
    with session(ctx) as nw:
        created = nw.dms.create_deployment(name, namespace, package, values=values(values_file, set_),
                                           resource_pool_id=pool, dms_adapter=dms_adapter,
                                           timeout_seconds=operation_timeout)
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
            package: Annotated[str, typer.Option("--package", "-p", help="the new packageId")],
            values_file: ValuesOpt = None, set_: SetOpt = None, operation_timeout: HelmTimeoutOpt = None,
            wait: WaitOpt = False, timeout: TimeoutOpt = 600, output: OutputOpt = Format.table) -> None:
    """Upgrade to another package (and values). A failed upgrade is not rolled back: `rollback` is yours."""
    with session(ctx) as nw:
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
