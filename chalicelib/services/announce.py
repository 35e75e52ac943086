"""Publishing a catalogue change's event (a package's, a deployment template's; docs/dms.md, "Events"), or undoing
the change: a record that exists without its creation event (or is gone without its deletion event) would be an
event lost for good. The client's retry of an undone change is safe, and a retry that publishes twice is one
notification (the event ids are stable)."""

from __future__ import annotations

from collections.abc import Callable

from chalicelib.domain.errors import ServiceUnavailable
from chalicelib.domain.events import ChangeEvent, EventPublisher


def publish_or_undo(publisher: EventPublisher, event: ChangeEvent, undo: Callable[[], None], subject: str) -> None:
    """Publish `event`; if it cannot be queued, run `undo` and answer 503 (`subject` names the record)."""
    try:
        publisher.publish([event])
    except Exception as error:  # any failure to queue: the change must not stand without its event
        undo()
        raise ServiceUnavailable(
            f"{subject}: its {event.detail_type} event could not be queued, so the change was undone; retry the "
            "request", retry_after_seconds=5) from error
