"""`netweave alarms ...`: O2ims infrastructure monitoring."""

from __future__ import annotations

import json
import time
from typing import Annotated

import typer

from netweave_client.cli.common import FilterOpt, OutputOpt, listing, session
from netweave_client.cli.output import Format, attr, render, wire
from netweave_client.models import AlarmEventRecord, Severity

app = typer.Typer(no_args_is_help=True, help="""Alarms: list, watch, acknowledge, clear.

\b
Examples:
  netweave alarms list --filter '(lte,perceivedSeverity,1)'
  netweave alarms list --watch              # new and changed alarms as they come; Ctrl-C stops
  netweave alarms ack ALARM_ID
  netweave alarms clear ALARM_ID
""")

COLUMNS = [("ID", attr("alarm_event_record_id")), ("SEVERITY", lambda a: _severity(a.perceived_severity)),
           ("DEFINITION", attr("alarm_definition_id")), ("RESOURCE", attr("resource_id")),
           ("RAISED", attr("alarm_raised_time")), ("ACK", attr("alarm_acknowledged"))]


def _severity(value: int) -> str:
    try:
        return Severity(value).name
    except ValueError:
        return str(value)


@app.command("list")
def list_(ctx: typer.Context, filter: FilterOpt = None, output: OutputOpt = Format.table,
          watch: Annotated[bool, typer.Option("--watch", help="keep polling; print alarms that appear or change")]
          = False,
          interval: Annotated[float, typer.Option(help="seconds between polls with --watch")] = 5.0,
          polls: Annotated[int, typer.Option(help="with --watch: stop after this many polls (0: never)")] = 0) -> None:
    """Alarm event records."""
    query = listing(filter)
    with session(ctx) as nw:
        if not watch:
            render(nw.alarms.list(**query).all(), COLUMNS, output)
            return
        seen: dict[str, tuple[object, ...]] = {}
        count = 0
        try:
            while True:
                changed = _changes(nw.alarms.list(**query).all(), seen)
                if changed:
                    _print_watch(changed, output, header=count == 0)
                count += 1
                if polls and count >= polls:
                    return
                time.sleep(interval)
        except KeyboardInterrupt:
            return


def _changes(alarms: list[AlarmEventRecord], seen: dict[str, tuple[object, ...]]) -> list[AlarmEventRecord]:
    changed = []
    for alarm in alarms:
        state = (alarm.alarm_changed_time, alarm.alarm_acknowledged, alarm.perceived_severity)
        if seen.get(alarm.alarm_event_record_id) != state:
            seen[alarm.alarm_event_record_id] = state
            changed.append(alarm)
    return changed


def _print_watch(alarms: list[AlarmEventRecord], output: Format, header: bool) -> None:
    if output is Format.table:
        render(alarms, COLUMNS, output)
    else:  # one JSON document per line, so a pipe reads them as they come
        for alarm in alarms:
            print(json.dumps(wire(alarm)), flush=True)


@app.command()
def ack(ctx: typer.Context, alarm_id: Annotated[str, typer.Argument(help="alarmEventRecordId")]) -> None:
    """Acknowledge an alarm (exit 1 with the problem if it is already acknowledged or cleared)."""
    with session(ctx) as nw:
        nw.alarms.acknowledge(alarm_id)
        print(f"acknowledged {alarm_id}")


@app.command()
def clear(ctx: typer.Context, alarm_id: Annotated[str, typer.Argument(help="alarmEventRecordId")]) -> None:
    """Clear an alarm (perceivedSeverity 5)."""
    with session(ctx) as nw:
        nw.alarms.clear(alarm_id)
        print(f"cleared {alarm_id}")
