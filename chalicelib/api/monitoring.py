"""O2ims Infrastructure Monitoring: alarms and the alarm service configuration (docs/o2-conventions.md §1).

- GET `/o2ims-infrastructureMonitoring/v1/alarms` (O2 query language) and `/alarms/{alarmEventRecordId}`;
- PATCH `/alarms/{alarmEventRecordId}`: exactly `{"alarmAcknowledged": true}` or `{"perceivedSeverity": 5}`, as
  `application/merge-patch+json` (the spec's media type) or `application/json`;
- GET, PUT, PATCH `/alarmServiceConfiguration`.

Alarm subscriptions live with the other subscriptions (api/subscriptions.py). See docs/alarms.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice import Blueprint, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from chalicelib.api.listing import ListQuery, marker_codec, page_response
from chalicelib.api.ports import ports
from chalicelib.api.queries import SelectorQuery
from chalicelib.api.routing import JSON_MEDIA_TYPES, Router, read_json
from chalicelib.domain.alarms import AlarmEventRecord, AlarmServiceConfiguration, Severity
from chalicelib.domain.auth import Scope
from chalicelib.domain.errors import BadRequest
from chalicelib.domain.models import WireModel

if TYPE_CHECKING:  # views import the service when called: a cold start that serves other routes never loads it
    from chalicelib.adapters.store.alarm_store import AlarmStore

ROOT = "/o2ims-infrastructureMonitoring/v1"
ALARMS = f"{ROOT}/alarms"
ALARM = f"{ALARMS}/{{alarmEventRecordId}}"
CONFIGURATION = f"{ROOT}/alarmServiceConfiguration"

blueprint = Blueprint(__name__)
router = Router(blueprint, tag="alarms")


class AlarmEventRecordModifications(WireModel):
    """The PATCH body and its answer: exactly one member, `alarmAcknowledged: true` or `perceivedSeverity: 5`."""

    alarm_acknowledged: bool | None = Field(
        default=None, alias="alarmAcknowledged", description="true acknowledges the alarm (cannot be withdrawn)"
    )
    perceived_severity: Severity | None = Field(
        default=None, alias="perceivedSeverity", description="5 (CLEARED) clears the alarm"
    )


class AlarmServiceConfigurationUpdate(BaseModel):
    """PUT: the whole configuration, both members (the O2ims model requires `extensions`; `{}` for none). A PUT
    without it answers 400: a replacement that silently emptied the extensions would surprise."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)

    retention_period: int = Field(
        alias="retentionPeriod", ge=1, strict=True, description="days a cleared alarm is kept (at least 1)"
    )
    extensions: dict[str, Any]


class AlarmServiceConfigurationPatch(BaseModel):
    """PATCH (JSON merge patch): only the members given change; inside `extensions`, null removes a member."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)

    retention_period: int | None = Field(
        default=None,
        alias="retentionPeriod",
        ge=1,
        strict=True,
        description="days a cleared alarm is kept (at least 1)",
    )
    extensions: dict[str, Any] | None = None

    @field_validator("retention_period", mode="before")
    @classmethod
    def _not_removed(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("cannot be removed (it is required); give a number of days >= 1")
        return value


def _store() -> AlarmStore:
    return ports().alarm_store


@router.route(
    ALARMS,
    "GET",
    summary="List alarm event records",
    scope=Scope.IMS_READ,
    query=ListQuery,
    response=AlarmEventRecord,
    collection=True,
)
def list_alarms(query: ListQuery) -> Response:
    from chalicelib.services import alarms as service
    from chalicelib.services.paging import ListRequest

    request = ListRequest(query.selection(), query.page_size(), query.parsed_filter(), query.marker(),
                          codec=marker_codec())
    return page_response(blueprint.current_request, service.list_alarms(_store(), request))


@router.route(
    ALARM,
    "GET",
    summary="One alarm event record",
    scope=Scope.IMS_READ,
    query=SelectorQuery,
    response=AlarmEventRecord,
    responses=(404,),
)
def get_alarm(alarmEventRecordId: str, query: SelectorQuery) -> dict[str, Any]:
    from chalicelib.services import alarms as service

    return service.get_alarm(_store(), alarmEventRecordId, query.selection())


@router.raw_route(
    ALARM,
    "PATCH",
    summary="Acknowledge or clear an alarm",
    scope=Scope.IMS_WRITE,
    content_types=JSON_MEDIA_TYPES,
    body=AlarmEventRecordModifications,
    response=AlarmEventRecordModifications,
    responses=(404, 409, 415),
)
def patch_alarm(alarmEventRecordId: str) -> Response:
    """The body is checked by `parse_modification`, not by a pydantic model, so both members, `false`, other
    severities and unknown members get details of their own."""
    from chalicelib.services import alarms as service

    document = json_document(blueprint.current_request.raw_body)
    result = service.modify_alarm(ports().alarm_ports(), alarmEventRecordId, document)
    return Response(body=result, status_code=200, headers={"Content-Type": "application/json"})


def json_document(raw: bytes | None) -> Any:
    if not raw:
        raise BadRequest('a JSON request body is required: {"alarmAcknowledged": true} or {"perceivedSeverity": 5}')
    return read_json(raw)


@router.route(
    CONFIGURATION,
    "GET",
    summary="The alarm service configuration",
    scope=Scope.IMS_READ,
    response=AlarmServiceConfiguration,
)
def get_configuration() -> dict[str, Any]:
    from chalicelib.services import alarms as service

    return service.get_configuration(_store())


@router.route(
    CONFIGURATION,
    "PUT",
    summary="Replace the alarm service configuration (a shorter retention purges now)",
    scope=Scope.IMS_WRITE,
    body=AlarmServiceConfigurationUpdate,
    response=AlarmServiceConfiguration,
)
def put_configuration(body: AlarmServiceConfigurationUpdate) -> dict[str, Any]:
    from chalicelib.services import alarms as service

    return service.replace_configuration(_store(), body.retention_period, body.extensions)


@router.route(
    CONFIGURATION,
    "PATCH",
    summary="Change members of the alarm service configuration (merge patch)",
    scope=Scope.IMS_WRITE,
    body=AlarmServiceConfigurationPatch,
    response=AlarmServiceConfiguration,
)
def patch_configuration(body: AlarmServiceConfigurationPatch) -> dict[str, Any]:
    from chalicelib.services import alarms as service

    return service.patch_configuration(_store(), body.model_dump(by_alias=True, exclude_unset=True))
