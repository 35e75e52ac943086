"""`netweave inventory ...`: the O2ims inventory, read."""

from __future__ import annotations

from typing import Annotated

import typer

from netweave_client.cli.common import FieldsOpt, FilterOpt, OutputOpt, listing, session
from netweave_client.cli.output import Format, attr, ext, render

app = typer.Typer(no_args_is_help=True, help="""Read the O-Cloud's inventory.

\b
Examples:
  netweave inventory pools
  netweave inventory pools --filter '(eq,name,far-edge-du)' -o json
  netweave inventory resources POOL_ID --filter '(eq,extensions/category,accelerator)'
  netweave inventory types -o yaml
""")

POOL_COLUMNS = [("ID", attr("resource_pool_id")), ("NAME", attr("name")), ("LOCATION", attr("location")),
                ("STATUS", ext("status")), ("READY", ext("readyNodes")), ("DESIRED", ext("desiredNodes"))]


@app.command()
def ocloud(ctx: typer.Context, output: OutputOpt = Format.table) -> None:
    """The O-Cloud itself."""
    with session(ctx) as nw:
        render(nw.inventory.ocloud(), [("ID", attr("o_cloud_id")), ("NAME", attr("name")),
                                       ("SERVICE URI", attr("service_uri"))], output)


@app.command()
def pools(ctx: typer.Context, filter: FilterOpt = None, fields_: FieldsOpt = None,
          output: OutputOpt = Format.table) -> None:
    """Resource pools."""
    with session(ctx) as nw:
        render(nw.inventory.resource_pools(**listing(filter, fields_)).all(), POOL_COLUMNS, output)


@app.command()
def resources(ctx: typer.Context, pool_id: Annotated[str, typer.Argument(help="the resource pool's id")],
              filter: FilterOpt = None, fields_: FieldsOpt = None, output: OutputOpt = Format.table) -> None:
    """A pool's resources: servers and their components (components have a PARENT)."""
    columns = [("ID", attr("resource_id")), ("NAME", ext("name")), ("TYPE", attr("resource_type_id")),
               ("PARENT", attr("parent_id")), ("GLOBAL ASSET ID", attr("global_asset_id"))]
    with session(ctx) as nw:
        render(nw.inventory.resources(pool_id, **listing(filter, fields_)).all(), columns, output)


@app.command()
def types(ctx: typer.Context, filter: FilterOpt = None, fields_: FieldsOpt = None,
          output: OutputOpt = Format.table) -> None:
    """Resource types."""
    columns = [("ID", attr("resource_type_id")), ("NAME", attr("name")), ("KIND", attr("resource_kind")),
               ("CLASS", attr("resource_class")), ("VENDOR", attr("vendor"))]
    with session(ctx) as nw:
        render(nw.inventory.resource_types(**listing(filter, fields_)).all(), columns, output)


@app.command()
def managers(ctx: typer.Context, filter: FilterOpt = None, fields_: FieldsOpt = None,
             output: OutputOpt = Format.table) -> None:
    """Deployment managers (one per cluster)."""
    columns = [("ID", attr("deployment_manager_id")), ("NAME", attr("name")), ("SERVICE URI", attr("service_uri"))]
    with session(ctx) as nw:
        render(nw.inventory.deployment_managers(**listing(filter, fields_)).all(), columns, output)


@app.command()
def sites(ctx: typer.Context, filter: FilterOpt = None, output: OutputOpt = Format.table) -> None:
    """O-Cloud sites."""
    columns = [("ID", attr("o_cloud_site_id")), ("NAME", attr("name")), ("LOCATION", attr("global_location_id"))]
    with session(ctx) as nw:
        render(nw.inventory.sites(**listing(filter, None)).all(), columns, output)


@app.command()
def locations(ctx: typer.Context, filter: FilterOpt = None, output: OutputOpt = Format.table) -> None:
    """Locations."""
    columns = [("GLOBAL LOCATION ID", attr("global_location_id")), ("NAME", attr("name")),
               ("SITES", attr("o_cloud_site_ids"))]
    with session(ctx) as nw:
        render(nw.inventory.locations(**listing(filter, None)).all(), columns, output)

