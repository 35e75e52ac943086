"""The `netweave` command line, on the client library (`pip install 'netweave-client[cli]'`)."""

from __future__ import annotations

from typing import Annotated

import typer

from netweave_client.cli import (
    alarms_cmds,
    deploy_cmds,
    inventory_cmds,
    notify_cmds,
    packages_cmds,
    pools_cmds,
    provision_cmds,
    templates_cmds,
)
from netweave_client.cli.config import Settings

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="""netweave: the O2 gateway from the shell.

\b
Where the gateway is: --url/--token, else NETWEAVE_URL/NETWEAVE_TOKEN (a token or @file), else the profile
(--profile, NETWEAVE_PROFILE, in ~/.config/netweave/profiles.yaml or NETWEAVE_CONFIG), else, inside a netweave
checkout, the local stack (http://127.0.0.1:8000 and .local/token).

\b
Examples:
  netweave inventory pools -o json
  netweave deploy create vdu --namespace oran-du --package PACKAGE_ID --wait
  netweave provision create --template eks-nodegroup-pool:1.0.0 --param size=2 --param location=edge-site-5 --wait
  netweave alarms list --watch
\b
Exit codes: 0 done, 1 a problem or a failed operation (ProblemDetails on stderr), 2 usage, 3 --wait timed out,
4 gateway unreachable. Shell completion: netweave --install-completion.
""")


@app.callback()
def root(ctx: typer.Context,
         url: Annotated[str | None, typer.Option(help="the gateway's base URL")] = None,
         token: Annotated[str | None, typer.Option(help="bearer token, or @path of a file holding one")] = None,
         profile: Annotated[str | None, typer.Option(help="profile of the profile file")] = None) -> None:
    ctx.obj = Settings(url=url, token=token, profile=profile)


app.add_typer(inventory_cmds.app, name="inventory")
app.add_typer(alarms_cmds.app, name="alarms")
app.add_typer(packages_cmds.app, name="packages")
app.add_typer(deploy_cmds.app, name="deploy")
app.add_typer(pools_cmds.app, name="pools")
app.add_typer(provision_cmds.app, name="provision")
app.add_typer(templates_cmds.app, name="templates")
app.command()(notify_cmds.subscribe)
app.command()(notify_cmds.subscriptions)
app.command()(notify_cmds.unsubscribe)
app.command()(notify_cmds.listen)


def main() -> None:
    app()
