"""`netweave packages ...`: O2dms deployment packages."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from netweave_client.cli.common import FilterOpt, OutputOpt, listing, session
from netweave_client.cli.output import Format, attr, render
from netweave_client.models import PackageType, PackageType1, PackageUrlRequest, SourcePackageRequest

app = typer.Typer(no_args_is_help=True, help="""Deployment packages (Helm charts).

\b
Examples:
  netweave packages upload ./vdu-1.0.0.tgz
  netweave packages register --repository http://127.0.0.1:8879 --chart vdu --version 1.0.0
  netweave packages register --url https://charts.example.net/vdu-1.0.0.tgz --checksum sha256:<hex>
  netweave packages list -o json
  netweave packages delete PACKAGE_ID
""")

COLUMNS = [("ID", attr("package_id")), ("NAME", attr("name")), ("VERSION", attr("version")),
           ("TYPE", attr("package_type")), ("UPLOADED", attr("uploaded_at"))]


@app.command()
def upload(ctx: typer.Context, archive: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
           checksum: Annotated[str | None, typer.Option(help="sha256:<hex> the archive must match")] = None,
           output: OutputOpt = Format.table) -> None:
    """Upload a chart archive (.tgz)."""
    with session(ctx) as nw:
        render(nw.dms.upload_package(archive, checksum=checksum), COLUMNS, output)


@app.command()
def register(ctx: typer.Context,
             url: Annotated[str | None, typer.Option(help="an archive for netweave to fetch")] = None,
             checksum: Annotated[str | None, typer.Option(help="with --url: sha256:<hex>")] = None,
             repository: Annotated[str | None, typer.Option(help="a Helm or Git repository URL")] = None,
             chart: Annotated[str | None, typer.Option(help="with a Helm repository: the chart")] = None,
             path: Annotated[str | None, typer.Option(help="with a Git repository: the chart's path")] = None,
             version: Annotated[str | None, typer.Option(help="chart version, or Git branch/tag/commit")] = None,
             name: Annotated[str | None, typer.Option(help="with a Git repository: the package name")] = None,
             output: OutputOpt = Format.table) -> None:
    """Register a package by URL (fetched and checked) or by repository reference (GitOps backends)."""
    request: PackageUrlRequest | SourcePackageRequest
    if url:
        if not checksum:
            raise typer.BadParameter("--url needs --checksum sha256:<hex>")
        request = PackageUrlRequest(package_url=url, checksum=checksum, package_type=PackageType.HELM)
    elif repository and version:
        kind = PackageType1.GIT if path else PackageType1.HELM_REPO
        request = SourcePackageRequest(package_type=kind, repository_url=repository, chart=chart, path=path,
                                       version=version, name=name)
    else:
        raise typer.BadParameter("give --url and --checksum, or --repository and --version (and --chart or --path)")
    with session(ctx) as nw:
        render(nw.dms.register_package(request), COLUMNS, output)


@app.command("list")
def list_(ctx: typer.Context, filter: FilterOpt = None, output: OutputOpt = Format.table) -> None:
    """Packages."""
    with session(ctx) as nw:
        render(nw.dms.packages(**listing(filter)).all(), COLUMNS, output)


@app.command()
def get(ctx: typer.Context, package_id: str, output: OutputOpt = Format.table) -> None:
    """One package."""
    with session(ctx) as nw:
        render(nw.dms.package(package_id), COLUMNS, output)


@app.command()
def delete(ctx: typer.Context, package_id: str) -> None:
    """Delete a package (exit 1, 409, while a deployment uses it)."""
    with session(ctx) as nw:
        nw.dms.delete_package(package_id)
        print(f"deleted {package_id}")
