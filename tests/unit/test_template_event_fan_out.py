"""Deployment template events (docs/dms.md, "Deployment templates"): `TemplateCreated`/`TemplateDeleted` reach only
the DMS subscriptions that name them, filtered on the template, shaped like package notifications, and follow the
catalogue's tenancy."""

from __future__ import annotations

import pytest

from chalicelib.domain.deployment_templates import DeploymentTemplate
from chalicelib.domain.errors import BadRequest
from chalicelib.domain.events import ChangeEvent
from chalicelib.domain.subscriptions import SubscriptionKind
from chalicelib.domain.template_events import TemplateEventType, template_event
from chalicelib.services.subscriptions import checked_filter, wire_form
from tests.unit.test_package_event_fan_out import AT, created, deployment_ready, dms_subscription, heard, run


def vdu(template_id: str = "tpl-1", version: str = "1.0.0") -> DeploymentTemplate:
    return DeploymentTemplate.model_validate({
        "deploymentTemplateId": template_id, "name": "vdu", "version": version, "packageId": "pkg-1",
        "parameterSchema": {"type": "object", "required": ["site"], "properties": {"site": {"type": "string"}}},
        "placement": {"namespace": "du-{site}"}, "createdAt": AT, "updatedAt": AT, "owner": "operator-a"})


def event(kind: TemplateEventType, template: DeploymentTemplate | None = None, shared: bool = True) -> ChangeEvent:
    return template_event(template or vdu(), kind, shared=shared, at=AT)


def test_only_subscriptions_naming_template_events_receive_them() -> None:
    everything = dms_subscription("everything")
    packages = dms_subscription("packages", ["PackageCreated"])
    templates = dms_subscription("templates", ["TemplateCreated", "TemplateDeleted"])
    sent = run([event(TemplateEventType.CREATED), created(), event(TemplateEventType.DELETED), deployment_ready()],
               everything, packages, templates)
    assert heard(sent, "everything") == ["DeploymentReady"]
    assert heard(sent, "packages") == ["PackageCreated"]
    assert heard(sent, "templates") == ["TemplateCreated", "TemplateDeleted"]


def test_template_events_filter_on_the_template() -> None:
    v2 = dms_subscription("v2", ["TemplateCreated"], "(eq,version,2.0.0)")
    by_id = dms_subscription("id", ["TemplateCreated"], "(eq,deploymentTemplateId,tpl-1)")
    sent = run([event(TemplateEventType.CREATED), event(TemplateEventType.CREATED, vdu("tpl-2", "2.0.0"))], v2, by_id)
    assert [d.payload["deploymentTemplateId"] for d in sent if d.subscription_id == "v2"] == ["tpl-2"]
    assert [d.payload["deploymentTemplateId"] for d in sent if d.subscription_id == "id"] == ["tpl-1"]


def test_a_per_tenant_template_reaches_only_its_owner_and_admins() -> None:
    owner = dms_subscription("owner", ["TemplateCreated"], owner="operator-a")
    other = dms_subscription("other", ["TemplateCreated"], owner="operator-b")
    admin = dms_subscription("admin", ["TemplateCreated"], owner="ops", admin=True)
    assert sorted(d.subscription_id for d in run([event(TemplateEventType.CREATED)], owner, other, admin)) == [
        "admin", "other", "owner"]
    private = run([event(TemplateEventType.CREATED, shared=False)], owner, other, admin)
    assert sorted(d.subscription_id for d in private) == ["admin", "owner"]


def test_notifications_carry_the_template_as_a_get_shows_it() -> None:
    subscription = dms_subscription("s", ["TemplateCreated", "TemplateDeleted"])
    on_create, on_delete = (d.payload for d in run([event(TemplateEventType.CREATED),
                                                     event(TemplateEventType.DELETED)], subscription))
    assert on_create["eventType"] == "TemplateCreated" and on_create["deploymentTemplateId"] == "tpl-1"
    assert on_create["objectRef"] == "/o2dms/v1/deploymentTemplates/tpl-1"
    assert on_create["deploymentTemplate"] == vdu().to_wire() and "owner" not in on_create["deploymentTemplate"]
    assert on_delete["priorDeploymentTemplate"] == vdu().to_wire() and "deploymentTemplate" not in on_delete
    assert event(TemplateEventType.CREATED).event_id == event(TemplateEventType.CREATED).event_id, "a retry is one"


def test_a_subscription_shows_the_template_event_types_it_asked_for() -> None:
    subscription = dms_subscription("s", ["TemplateDeleted", "PackageCreated", "DeploymentReady"])
    assert wire_form(subscription)["eventTypes"] == ["DeploymentReady", "PackageCreated", "TemplateDeleted"]


def test_an_unknown_event_type_names_the_template_ones_among_the_known() -> None:
    with pytest.raises(BadRequest, match="TemplateCreated, TemplateDeleted"):
        checked_filter(SubscriptionKind.DMS, None, ["TemplateChanged"])


def test_the_client_library_reads_a_template_notification() -> None:
    from netweave_client import TemplateNotification, parse_notification

    subscription = dms_subscription("s", ["TemplateDeleted"])
    note = parse_notification(run([event(TemplateEventType.DELETED)], subscription)[0].payload)
    assert isinstance(note, TemplateNotification)
    assert note.deployment_template_id == "tpl-1" and note.prior_deployment_template == vdu().to_wire()
