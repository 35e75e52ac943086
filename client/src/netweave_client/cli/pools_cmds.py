"""`netweave pools ...`: netweave's resource pool management (served on `/o2ims/v1/resourcePools`)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from netweave_client.cli.common import OutputOpt, TimeoutOpt, WaitOpt, session
from netweave_client.cli.inventory_cmds import POOL_COLUMNS
from netweave_client.cli.output import Format, render
from netweave_client.cli.progress import Display, pool_progress
from netweave_client.client import Client
from netweave_client.models import ResourcePool

app = typer.Typer(no_args_is_help=True, help="""Create, resize and delete resource pools.

\b
Examples:
  netweave pools create vDU-Pool --location edge-site-1 --instance-type c5.metal --replicas 3 --wait
  netweave pools resize POOL_ID 4 --wait
  netweave pools delete POOL_ID --wait
""")


def follow(nw: Client, pool_id: str, wait: bool, timeout: float, *, expect_nodes: int | None = None,
           deleted: bool = False) -> ResourcePool | None:
    if not wait:
        return None
    display = Display()
    goal = "gone" if deleted else "ready"
    with display.running(f"waiting for pool {pool_id} to be {goal} (at most {timeout:g} s)"):
        pool = nw.inventory.wait_resource_pool(pool_id, expect_nodes=expect_nodes, deleted=deleted,
                                               timeout=timeout, interval=2, progress=pool_progress(display, deleted))
    display.line(f"pool {pool_id} {goal}")
    return pool


@app.command()
def create(ctx: typer.Context, name: str,
           location: Annotated[str, typer.Option(help="where: routing.ims picks the backend by it")],
           instance_type: Annotated[str | None, typer.Option(help="extensions.instanceType")] = None,
           replicas: Annotated[int | None, typer.Option(help="extensions.replicas: the number of nodes")] = None,
           backend: Annotated[str | None, typer.Option(help="the IMS backend, overriding routing")] = None,
           cpu_pinning: Annotated[bool, typer.Option(help="extensions.cpuPinning")] = False,
           wait: WaitOpt = False, timeout: TimeoutOpt = 900, output: OutputOpt = Format.table) -> None:
    """Create a pool; with --wait, until all its nodes are ready."""
    extensions: dict[str, Any] = {}
    if instance_type:
        extensions["instanceType"] = instance_type
    if replicas is not None:
        extensions["replicas"] = replicas
    if cpu_pinning:
        extensions["cpuPinning"] = True
    with session(ctx) as nw:
        pool = nw.inventory.create_resource_pool(name, location, backend=backend, extensions=extensions or None)
        render(pool, POOL_COLUMNS, output)
        follow(nw, pool.resource_pool_id, wait, timeout, expect_nodes=replicas)


@app.command()
def resize(ctx: typer.Context, pool_id: str, replicas: int, wait: WaitOpt = False, timeout: TimeoutOpt = 900,
           output: OutputOpt = Format.table) -> None:
    """Resize a pool to REPLICAS nodes."""
    with session(ctx) as nw:
        render(nw.inventory.resize_resource_pool(pool_id, replicas), POOL_COLUMNS, output)
        follow(nw, pool_id, wait, timeout, expect_nodes=replicas)


@app.command()
def delete(ctx: typer.Context, pool_id: str, wait: WaitOpt = False, timeout: TimeoutOpt = 900) -> None:
    """Delete a pool; with --wait, until it is gone from the inventory."""
    with session(ctx) as nw:
        nw.inventory.delete_resource_pool(pool_id)
        print(f"deleting {pool_id}")
        follow(nw, pool_id, wait, timeout, deleted=True)
