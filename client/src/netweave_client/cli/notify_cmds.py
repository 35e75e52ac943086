"""`netweave subscribe|subscriptions|unsubscribe ...` and `netweave listen`: notifications end to end."""

from __future__ import annotations

import json
import os
import sys
import time
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Annotated, Any

import typer
from pydantic import BaseModel

from netweave_client.cli.common import FilterOpt, OutputOpt, session
from netweave_client.cli.output import Format, attr, render
from netweave_client.client import Client
from netweave_client.errors import SignatureError
from netweave_client.models import DeploymentEventType, PackageEventType
from netweave_client.notifications import (
    AlarmEventNotification,
    DeploymentNotification,
    InventoryChangeNotification,
    NotificationReceiver,
    PackageNotification,
    TemplateNotification,
    parse_notification,
)


class Kind(StrEnum):
    inventory = "inventory"
    alarms = "alarms"
    dms = "dms"


KindArg = Annotated[Kind, typer.Argument(help="inventory, alarms or dms")]
COLUMNS = [("ID", lambda s: getattr(s, "subscription_id", None) or getattr(s, "alarm_subscription_id", "")),
           ("CALLBACK", attr("callback")), ("FILTER", attr("filter")), ("STATUS", attr("status")),
           ("SECRET", attr("secret"))]


def subscribe(ctx: typer.Context, kind: KindArg, callback: str, filter: FilterOpt = None,
              event_type: Annotated[list[str] | None, typer.Option(
                  "--event-type", help="dms: DeploymentReady, PackageCreated, ... (repeatable)")] = None,
              consumer_id: Annotated[str | None, typer.Option(help="consumerSubscriptionId")] = None,
              output: OutputOpt = Format.table) -> None:
    """Subscribe CALLBACK to notifications. The answer shows the signing secret once: give it to `listen`.

    \b
    Examples:
      netweave subscribe inventory http://127.0.0.1:9000/ --filter '(neq,objectType,ResourcePoolInfo)'
      netweave subscribe dms http://127.0.0.1:9000/ --event-type DeploymentReady --event-type DeploymentFailed
    """
    with session(ctx) as nw:
        created: BaseModel
        if kind is Kind.inventory:
            created = nw.inventory.subscribe(callback, filter=filter, consumer_subscription_id=consumer_id)
        elif kind is Kind.alarms:
            created = nw.alarms.subscribe(callback, filter=filter, consumer_subscription_id=consumer_id)
        else:
            types = [_event_type(name) for name in event_type or []] or None
            created = nw.dms.subscribe(callback, filter=filter, event_types=types,
                                       consumer_subscription_id=consumer_id)
        render(created, COLUMNS, output)


def _event_type(name: str) -> DeploymentEventType | PackageEventType:
    return PackageEventType(name) if name.startswith("Package") else DeploymentEventType(name)


def subscriptions(ctx: typer.Context, kind: KindArg, output: OutputOpt = Format.table) -> None:
    """List subscriptions of one kind."""
    with session(ctx) as nw:
        render(_list(nw, kind), COLUMNS, output)


def _list(nw: Client, kind: Kind) -> list[BaseModel]:
    if kind is Kind.inventory:
        return list(nw.inventory.subscriptions())
    if kind is Kind.alarms:
        return list(nw.alarms.subscriptions())
    return list(nw.dms.subscriptions())


def unsubscribe(ctx: typer.Context, kind: KindArg, subscription_id: str) -> None:
    """Delete a subscription."""
    with session(ctx) as nw:
        {Kind.inventory: nw.inventory.unsubscribe, Kind.alarms: nw.alarms.unsubscribe,
         Kind.dms: nw.dms.unsubscribe}[kind](subscription_id)
        print(f"deleted {subscription_id}")


def listen(port: Annotated[int, typer.Option(help="port to listen on")] = 9000,
           host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
           secret: Annotated[list[str] | None, typer.Option(
               "--secret", help="a subscription's whsec_... secret (repeatable; env NETWEAVE_WEBHOOK_SECRETS)")] = None,
           count: Annotated[int, typer.Option(help="stop after this many notifications (0: never)")] = 0,
           output: OutputOpt = Format.table) -> None:
    """Receive notifications: verify each Standard Webhooks signature and print it as it arrives. A notification
    whose signature matches no secret is answered 401 and printed as REJECTED; without any secret nothing can be
    verified and everything is accepted as UNVERIFIED.

    \b
    Examples:
      netweave listen --port 9000 --secret whsec_...
      netweave listen --port 9000 -o json | jq .eventType
    """
    secrets = [*(secret or []), *filter(None, os.environ.get("NETWEAVE_WEBHOOK_SECRETS", "").split(","))]
    receiver = NotificationReceiver(secrets)
    heard = [0]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length", "0")))
            status = _receive(receiver, bool(secrets), raw, {k.lower(): v for k, v in self.headers.items()}, output)
            heard[0] += 1
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:  # the gateway's optional reachability probe of a new callback
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer((host, port), Handler)
    print(f"listening on http://{host}:{server.server_address[1]}/ ({len(secrets)} secret(s))", file=sys.stderr,
          flush=True)
    try:
        while not count or heard[0] < count:
            server.handle_request()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def _receive(receiver: NotificationReceiver, verifying: bool, raw: bytes, headers: dict[str, str],
             output: Format) -> int:
    verdict, status = "verified", 204
    try:
        body = receiver.verify(raw, headers) if verifying else json.loads(raw)
    except SignatureError:
        verdict, status, body = "REJECTED", 401, {}
    except ValueError:
        verdict, status, body = "UNPARSABLE", 400, {}
    if not verifying and status == 204:
        verdict = "UNVERIFIED"
    if output is Format.table:
        print(f"{time.strftime('%H:%M:%S')} {verdict} {_summary(body)} id={headers.get('webhook-id', '-')}",
              flush=True)
    else:
        print(json.dumps({"verified": verdict == "verified", "verdict": verdict, "notification": body}), flush=True)
    return status


_INVENTORY_EVENTS = ("create", "modify", "delete")
_ALARM_EVENTS = ("NEW", "CHANGE", "CLEAR", "ACKNOWLEDGE")


def _catalogue_summary(note: PackageNotification | TemplateNotification) -> str:
    if isinstance(note, PackageNotification):
        return f"{note.event_type} {note.package_id}"
    state = note.deployment_template or note.prior_deployment_template or {}
    return f"{note.event_type} {state.get('name', note.deployment_template_id)} {state.get('version', '')}"


def _summary(body: dict[str, Any]) -> str:
    """One line a person can follow: what happened to which object, with the state an SMO waits on."""
    try:
        note = parse_notification(body)
    except ValueError:
        return "-" if not body else "unknown shape"
    if isinstance(note, InventoryChangeNotification):
        event = _pick(_INVENTORY_EVENTS, note.notification_event_type)
        return f"{event} {_inventory_object(note.post_object_state or note.prior_object_state or {})}"
    if isinstance(note, AlarmEventNotification):
        event = _pick(_ALARM_EVENTS, note.notification_event_type)
        return f"alarm {event} {note.alarm_definition_id or ''} severity={note.perceived_severity}"
    if isinstance(note, DeploymentNotification):
        state = note.deployment or note.prior_deployment or {}
        return f"{note.event_type} {state.get('name', note.deployment_id)} {state.get('status', '')}"
    if isinstance(note, PackageNotification | TemplateNotification):
        return _catalogue_summary(note)
    return f"registration {note.o_cloud_id}"


def _pick(names: tuple[str, ...], index: int) -> str:
    return names[index] if 0 <= index < len(names) else str(index)


def _inventory_object(state: dict[str, Any]) -> str:
    extensions = state.get("extensions") or {}
    if "resourceId" in state:
        ready = f" ready={extensions['ready']}" if "ready" in extensions else ""
        return f"resource {extensions.get('name', state['resourceId'])}{ready}"
    if "resourcePoolId" in state:
        progress = f" {extensions.get('readyNodes', '?')}/{extensions.get('desiredNodes', '?')}" \
            if "desiredNodes" in extensions else ""
        return f"pool {state.get('name', state['resourcePoolId'])} {extensions.get('status', '')}{progress}"
    for key in ("resourceTypeId", "deploymentManagerId", "oCloudSiteId", "globalLocationId", "oCloudId"):
        if key in state:
            return f"{key.removesuffix('Id')} {state.get('name', state[key])}"
    return "object"
