# ruff: noqa: E501
# Generated from the gateway's OpenAPI document by `python -m devtools.client_models`; do not edit by hand.

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class AlarmDefinition(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    alarm_definition_id: Annotated[
        str, Field(alias="alarmDefinitionId", title="Alarmdefinitionid")
    ]
    alarm_name: Annotated[str, Field(alias="alarmName", title="Alarmname")]
    alarm_last_change: Annotated[
        str, Field(alias="alarmLastChange", title="Alarmlastchange")
    ]
    alarm_change_type: Annotated[
        str, Field(alias="alarmChangeType", title="Alarmchangetype")
    ]
    alarm_description: Annotated[
        str, Field(alias="alarmDescription", title="Alarmdescription")
    ]
    proposed_repair_actions: Annotated[
        str, Field(alias="proposedRepairActions", title="Proposedrepairactions")
    ]
    clearing_type: Annotated[str, Field(alias="clearingType", title="Clearingtype")]
    management_interface_id: Annotated[
        list[str] | None,
        Field(alias="managementInterfaceId", title="Managementinterfaceid"),
    ] = None
    pk_notification_field: Annotated[
        list[str] | None,
        Field(alias="pkNotificationField", title="Pknotificationfield"),
    ] = None
    alarm_additional_fields: Annotated[
        dict[str, Any] | None,
        Field(alias="alarmAdditionalFields", title="Alarmadditionalfields"),
    ] = None


class AlarmDictionary(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    alarm_dictionary_id: Annotated[
        str, Field(alias="alarmDictionaryId", title="Alarmdictionaryid")
    ]
    alarm_dictionary_version: Annotated[
        str, Field(alias="alarmDictionaryVersion", title="Alarmdictionaryversion")
    ]
    alarm_dictionary_schema_version: Annotated[
        str,
        Field(
            alias="alarmDictionarySchemaVersion", title="Alarmdictionaryschemaversion"
        ),
    ]
    entity_type: Annotated[str, Field(alias="entityType", title="Entitytype")]
    vendor: Annotated[str, Field(title="Vendor")]
    management_interface_id: Annotated[
        list[str] | None,
        Field(alias="managementInterfaceId", title="Managementinterfaceid"),
    ] = None
    pk_notification_field: Annotated[
        list[str] | None,
        Field(alias="pkNotificationField", title="Pknotificationfield"),
    ] = None
    alarm_definition: Annotated[
        list[AlarmDefinition], Field(alias="alarmDefinition", title="Alarmdefinition")
    ]


class AlarmServiceConfiguration(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    retention_period: Annotated[
        int | None,
        Field(
            alias="retentionPeriod",
            description="days a cleared alarm is kept",
            ge=1,
            title="Retentionperiod",
        ),
    ] = 30
    extensions: Annotated[dict[str, Any] | None, Field(title="Extensions")] = None


class AlarmServiceConfigurationPatch(BaseModel):
    """
    PATCH (JSON merge patch): only the members given change; inside `extensions`, null removes a member.
    """

    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    retention_period: Annotated[
        int | None,
        Field(
            alias="retentionPeriod",
            description="days a cleared alarm is kept (at least 1)",
            ge=1,
            title="Retentionperiod",
        ),
    ] = None
    extensions: Annotated[dict[str, Any] | None, Field(title="Extensions")] = None


class AlarmServiceConfigurationUpdate(BaseModel):
    """
    PUT: the whole configuration, both members (the O2ims model requires `extensions`; `{}` for none). A PUT
    without it answers 400: a replacement that silently emptied the extensions would surprise.
    """

    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    retention_period: Annotated[
        int,
        Field(
            alias="retentionPeriod",
            description="days a cleared alarm is kept (at least 1)",
            ge=1,
            title="Retentionperiod",
        ),
    ]
    extensions: Annotated[dict[str, Any], Field(title="Extensions")]


class AlarmSubscriptionInfo(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    callback: Annotated[str, Field(title="Callback")]
    consumer_subscription_id: Annotated[
        str | None,
        Field(alias="consumerSubscriptionId", title="Consumersubscriptionid"),
    ] = None
    filter: Annotated[str | None, Field(title="Filter")] = None
    status: Annotated[
        str | None,
        Field(
            description="netweave: active, or disabled (the SMO answered 410 Gone, or an operator disabled it)",
            title="Status",
        ),
    ] = None
    status_reason: Annotated[
        str | None, Field(alias="statusReason", title="Statusreason")
    ] = None
    secret: Annotated[
        str | None,
        Field(
            description="Standard Webhooks signing secret (whsec_...): only in the creation response, never again",
            title="Secret",
        ),
    ] = None
    alarm_subscription_id: Annotated[
        str, Field(alias="alarmSubscriptionId", title="Alarmsubscriptionid")
    ]


class AlarmSubscriptionRequest(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    callback: Annotated[
        str,
        Field(
            description="absolute https URL receiving the notifications (POST)",
            title="Callback",
        ),
    ]
    consumer_subscription_id: Annotated[
        str | None,
        Field(
            alias="consumerSubscriptionId",
            max_length=256,
            min_length=1,
            title="Consumersubscriptionid",
        ),
    ] = None
    filter: Annotated[
        str | dict[str, str | list[str]] | None,
        Field(
            description="O2 filter text, or an object of attribute -> value(s) (docs/subscriptions.md)",
            title="Filter",
        ),
    ] = None


class ApiVersion(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    version: Annotated[str, Field(title="Version")]


class ApiVersions(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    uri_prefix: Annotated[str, Field(alias="uriPrefix", title="Uriprefix")]
    api_versions: Annotated[
        list[ApiVersion], Field(alias="apiVersions", title="Apiversions")
    ]


class AssignOwnerRequest(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    owner: Annotated[
        str,
        Field(
            description="the tenant (value of the tenant claim) the record now belongs to",
            max_length=256,
            min_length=1,
            title="Owner",
        ),
    ]


class CivicAddressElement(BaseModel):
    """
    One RFC 4776 civic address element (caType 1 country, 3 state, 6 city, 22 street, 26 number...).
    """

    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    ca_type: Annotated[int, Field(alias="caType", title="Catype")]
    ca_value: Annotated[str, Field(alias="caValue", title="Cavalue")]


class CloudInfo(BaseModel):
    """
    The O-Cloud root object of the Inventory service (docs/o2-conventions.md §2).
    """

    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    o_cloud_id: Annotated[str, Field(alias="oCloudId", title="Ocloudid")]
    global_cloud_id: Annotated[str, Field(alias="globalCloudId", title="Globalcloudid")]
    name: Annotated[str, Field(title="Name")]
    description: Annotated[str, Field(title="Description")]
    service_uri: Annotated[str, Field(alias="serviceUri", title="Serviceuri")]
    extensions: Annotated[dict[str, Any] | None, Field(title="Extensions")] = None
    globalcloud_id: Annotated[
        str,
        Field(
            alias="globalcloudId",
            description="The conformance schema spells it with a lower-case c; emit both spellings.",
            title="Globalcloudid",
        ),
    ]


class Coordinate(BaseModel):
    """
    An RFC 7946 GeoJSON Point: [longitude, latitude] or [longitude, latitude, altitude].
    """

    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    type: Annotated[Literal["Point"], Field(title="Type")] = "Point"
    coordinates: Annotated[
        list[float], Field(max_length=3, min_length=2, title="Coordinates")
    ]


class DeploymentEventType(StrEnum):
    DEPLOYMENT_CREATED = "DeploymentCreated"
    DEPLOYMENT_PROGRESSING = "DeploymentProgressing"
    DEPLOYMENT_READY = "DeploymentReady"
    DEPLOYMENT_FAILED = "DeploymentFailed"
    DEPLOYMENT_SCALED = "DeploymentScaled"
    DEPLOYMENT_UPGRADED = "DeploymentUpgraded"
    DEPLOYMENT_ROLLED_BACK = "DeploymentRolledBack"
    DEPLOYMENT_DELETED = "DeploymentDeleted"


class DeploymentExtensions(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    deployment_type: Annotated[
        str | None, Field(alias="deploymentType", max_length=64, title="Deploymenttype")
    ] = None
    dms_adapter: Annotated[
        str | None, Field(alias="dmsAdapter", max_length=64, title="Dmsadapter")
    ] = None
    labels: Annotated[dict[str, Any] | None, Field(title="Labels")] = None


class DeploymentManager(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    deployment_manager_id: Annotated[
        str, Field(alias="deploymentManagerId", title="Deploymentmanagerid")
    ]
    name: Annotated[str, Field(title="Name")]
    description: Annotated[str, Field(title="Description")]
    o_cloud_id: Annotated[str, Field(alias="oCloudId", title="Ocloudid")]
    service_uri: Annotated[str, Field(alias="serviceUri", title="Serviceuri")]
    supported_locations: Annotated[
        list[str] | None, Field(alias="supportedLocations", title="Supportedlocations")
    ] = None
    capabilities: Annotated[dict[str, Any] | None, Field(title="Capabilities")] = None
    capacity: Annotated[dict[str, Any] | None, Field(title="Capacity")] = None
    extensions: Annotated[dict[str, Any] | None, Field(title="Extensions")] = None


class DeploymentStatus(StrEnum):
    PENDING = "pending"
    DEPLOYING = "deploying"
    DEPLOYED = "deployed"
    FAILED = "failed"
    DELETING = "deleting"


class EventOrigin(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    field_odata_id: Annotated[
        str, Field(alias="@odata.id", max_length=2048, title="@Odata.Id")
    ]


class EventRecord(BaseModel):
    """
    One record of an Event (DMTF Event v1: `Events[]`).
    """

    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    message_id: Annotated[
        str, Field(alias="MessageId", max_length=256, min_length=1, title="Messageid")
    ]
    event_type: Annotated[
        str | None, Field(alias="EventType", max_length=64, title="Eventtype")
    ] = None
    origin_of_condition: Annotated[
        EventOrigin | None, Field(alias="OriginOfCondition")
    ] = None


class Health(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    status: Annotated[str, Field(title="Status")]


class InventorySubscriptionRequest(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    callback: Annotated[
        str,
        Field(
            description="absolute https URL receiving the notifications (POST)",
            title="Callback",
        ),
    ]
    consumer_subscription_id: Annotated[
        str | None,
        Field(
            alias="consumerSubscriptionId",
            max_length=256,
            min_length=1,
            title="Consumersubscriptionid",
        ),
    ] = None
    filter: Annotated[
        str | dict[str, str | list[str]] | None,
        Field(
            description="O2 filter text, or an object of attribute -> value(s) (docs/subscriptions.md)",
            title="Filter",
        ),
    ] = None


class Lifecycle(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    timeout_seconds: Annotated[
        int | None, Field(alias="timeoutSeconds", ge=10, le=840, title="Timeoutseconds")
    ] = None
    rollback_on_failure: Annotated[
        bool | None,
        Field(
            alias="rollbackOnFailure",
            description="a failed upgrade rolls back to the last good revision, where the backend can (helm: --atomic)",
            title="Rollbackonfailure",
        ),
    ] = False


class Location(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    global_location_id: Annotated[
        str, Field(alias="globalLocationId", title="Globallocationid")
    ]
    name: Annotated[str, Field(title="Name")]
    description: Annotated[str, Field(title="Description")]
    o_cloud_site_ids: Annotated[
        list[str] | None, Field(alias="oCloudSiteIds", title="Ocloudsiteids")
    ] = None
    coordinate: Coordinate | None = None
    civic_address: Annotated[
        list[CivicAddressElement] | None,
        Field(alias="civicAddress", title="Civicaddress"),
    ] = None
    address: Annotated[str | None, Field(title="Address")] = None
    extensions: Annotated[dict[str, Any] | None, Field(title="Extensions")] = None


class ManagedInfrastructureTemplate(BaseModel):
    """
    A template as the O2ims Infrastructure Artifacts API shows it (oran-o2ims's shape).
    """

    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    artifact_resource_id: Annotated[
        str, Field(alias="artifactResourceId", title="Artifactresourceid")
    ]
    name: Annotated[str, Field(title="Name")]
    version: Annotated[str, Field(title="Version")]
    description: Annotated[str, Field(title="Description")]
    parameter_schema: Annotated[
        dict[str, Any], Field(alias="parameterSchema", title="Parameterschema")
    ]
    characteristics: Annotated[
        dict[str, Any] | None, Field(title="Characteristics")
    ] = None
    extensions: Annotated[dict[str, Any] | None, Field(title="Extensions")] = None


class OCloudSite(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    o_cloud_site_id: Annotated[str, Field(alias="oCloudSiteId", title="Ocloudsiteid")]
    global_location_id: Annotated[
        str, Field(alias="globalLocationId", title="Globallocationid")
    ]
    name: Annotated[str, Field(title="Name")]
    description: Annotated[str, Field(title="Description")]
    resource_pools: Annotated[
        list[str] | None, Field(alias="resourcePools", title="Resourcepools")
    ] = None
    extensions: Annotated[dict[str, Any] | None, Field(title="Extensions")] = None


class OperationError(BaseModel):
    """
    What went wrong, in ProblemDetails terms, so an SMO handles it like any other error of the API.
    """

    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    title: Annotated[str, Field(title="Title")]
    status: Annotated[int, Field(title="Status")]
    detail: Annotated[str, Field(title="Detail")]


class OperationStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class OperationType(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    UPGRADE = "upgrade"
    SCALE = "scale"
    ROLLBACK = "rollback"
    DELETE = "delete"


class PackageEventType(StrEnum):
    PACKAGE_CREATED = "PackageCreated"
    PACKAGE_DELETED = "PackageDeleted"


class PackageType(StrEnum):
    HELM = "helm"
    HELM_REPO = "helm-repo"
    GIT = "git"


class PackageUrlRequest(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    package_url: Annotated[
        str,
        Field(
            alias="packageUrl",
            description="https URL of a chart archive (.tgz); redirects are not followed",
            max_length=2048,
            title="Packageurl",
        ),
    ]
    checksum: Annotated[
        str,
        Field(
            description="sha256:<hex> the fetched archive must match",
            pattern="^sha256:[0-9a-f]{64}$",
            title="Checksum",
        ),
    ]
    package_type: Annotated[PackageType | None, Field(alias="packageType")] = (
        PackageType.HELM
    )


class Placement(BaseModel):
    """
    Where a deployment made from the template goes. Patterns: `{parameter}` is replaced by that parameter's value
    (a string, integer or boolean parameter; the result must still be a valid name).
    """

    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    name: Annotated[
        str | None,
        Field(
            description="release name pattern; default: the template's name",
            max_length=256,
            title="Name",
        ),
    ] = None
    namespace: Annotated[
        str,
        Field(
            description="namespace pattern, e.g. du-{site}",
            max_length=256,
            min_length=1,
            title="Namespace",
        ),
    ]
    resource_pool_filter: Annotated[
        str | None,
        Field(
            alias="resourcePoolFilter",
            description="O2 filter pattern that must match exactly one resource pool, e.g. (eq,name,du-{site})",
            max_length=1024,
            title="Resourcepoolfilter",
        ),
    ] = None
    deployment_type: Annotated[
        str | None, Field(alias="deploymentType", max_length=64, title="Deploymenttype")
    ] = None
    dms_adapter: Annotated[
        str | None, Field(alias="dmsAdapter", max_length=64, title="Dmsadapter")
    ] = None


class PoolChange(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    name: Annotated[str | None, Field(title="Name")] = None
    location: Annotated[str | None, Field(title="Location")] = None
    extensions: Annotated[
        dict[str, Any] | None,
        Field(description="replicas, minSize, maxSize", title="Extensions"),
    ] = None


class PoolCreate(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    name: Annotated[str, Field(max_length=63, min_length=1, title="Name")]
    description: Annotated[str | None, Field(title="Description")] = None
    location: Annotated[str | None, Field(title="Location")] = None
    backend: Annotated[
        str | None,
        Field(
            description="IMS adapter id (as extensions.imsAdapter); default: the first matching routing.ims rule, else the default IMS backend",
            title="Backend",
        ),
    ] = None
    extensions: Annotated[
        dict[str, Any] | None,
        Field(
            description="instanceType, replicas, cpuPinning, imsAdapter, clusterName, ...",
            title="Extensions",
        ),
    ] = None


class ProblemDetails(BaseModel):
    """
    RFC 9457 problem document (docs/o2-conventions.md §6); `instance` is left out on purpose.
    """

    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    type: Annotated[str, Field(title="Type")]
    title: Annotated[str, Field(title="Title")]
    status: Annotated[int, Field(title="Status")]
    detail: Annotated[str, Field(title="Detail")]
    request_id: Annotated[str | None, Field(alias="requestId", title="Requestid")] = (
        None
    )


class ProgressMessage(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    at: Annotated[str, Field(title="At")]
    message: Annotated[str, Field(title="Message")]


class ProvisionedResourceSet(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    infrastructure_resource_ids: Annotated[
        list[str] | None,
        Field(alias="infrastructureResourceIds", title="Infrastructureresourceids"),
    ] = None


class ProvisioningPhase(StrEnum):
    PENDING = "PENDING"
    PROGRESSING = "PROGRESSING"
    FULFILLED = "FULFILLED"
    FAILED = "FAILED"
    DELETING = "DELETING"


class ProvisioningRequestData(BaseModel):
    """
    What an SMO sends (POST, PUT): the spec's ProvisioningRequestData.
    """

    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    provisioning_request_id: Annotated[
        str,
        Field(
            alias="provisioningRequestId",
            description="assigned by the SMO: a UUID",
            max_length=64,
            min_length=1,
            title="Provisioningrequestid",
        ),
    ]
    name: Annotated[str | None, Field(max_length=256, title="Name")] = ""
    description: Annotated[str | None, Field(max_length=1024, title="Description")] = ""
    template_name: Annotated[
        str,
        Field(alias="templateName", max_length=128, min_length=1, title="Templatename"),
    ]
    template_version: Annotated[
        str,
        Field(
            alias="templateVersion",
            max_length=64,
            min_length=1,
            title="Templateversion",
        ),
    ]
    template_parameters: Annotated[
        dict[str, Any], Field(alias="templateParameters", title="Templateparameters")
    ]
    extensions: Annotated[dict[str, Any] | None, Field(title="Extensions")] = None


class ProvisioningRequestReplacement(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    provisioning_request_id: Annotated[
        str,
        Field(
            alias="provisioningRequestId",
            description="assigned by the SMO: a UUID",
            max_length=64,
            min_length=1,
            title="Provisioningrequestid",
        ),
    ]
    name: Annotated[str | None, Field(max_length=256, title="Name")] = ""
    description: Annotated[str | None, Field(max_length=1024, title="Description")] = ""
    template_name: Annotated[
        str,
        Field(alias="templateName", max_length=128, min_length=1, title="Templatename"),
    ]
    template_version: Annotated[
        str,
        Field(
            alias="templateVersion",
            max_length=64,
            min_length=1,
            title="Templateversion",
        ),
    ]
    template_parameters: Annotated[
        dict[str, Any], Field(alias="templateParameters", title="Templateparameters")
    ]
    extensions: Annotated[dict[str, Any] | None, Field(title="Extensions")] = None


class ReadinessCheck(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    name: Annotated[str, Field(title="Name")]
    ok: Annotated[bool, Field(title="Ok")]
    detail: Annotated[str | None, Field(title="Detail")] = None


class RedfishEvent(BaseModel):
    """
    The body a BMC POSTs to a subscription's Destination (DMTF Event v1). Only what netweave reads is checked;
    vendors add their own members (Oem, MessageArgs, Severity, …).
    """

    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    context: Annotated[
        str | None, Field(alias="Context", max_length=256, title="Context")
    ] = None
    events: Annotated[
        list[EventRecord],
        Field(alias="Events", max_length=100, min_length=1, title="Events"),
    ]


class ReplayRequest(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    notification_ids: Annotated[
        list[str] | None,
        Field(alias="notificationIds", max_length=1000, title="Notificationids"),
    ] = None
    all: Annotated[bool | None, Field(title="All")] = False


class Resource(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    resource_id: Annotated[str, Field(alias="resourceId", title="Resourceid")]
    resource_pool_id: Annotated[
        str, Field(alias="resourcePoolId", title="Resourcepoolid")
    ]
    resource_type_id: Annotated[
        str, Field(alias="resourceTypeId", title="Resourcetypeid")
    ]
    global_asset_id: Annotated[str, Field(alias="globalAssetId", title="Globalassetid")]
    description: Annotated[str, Field(title="Description")]
    parent_id: Annotated[str | None, Field(alias="parentId", title="Parentid")] = None
    elements: Annotated[list[Resource] | None, Field(title="Elements")] = None
    tags: Annotated[list[str] | None, Field(title="Tags")] = None
    groups: Annotated[list[str] | None, Field(title="Groups")] = None
    extensions: Annotated[dict[str, Any] | None, Field(title="Extensions")] = None


class ResourceClass(StrEnum):
    UNDEFINED = "UNDEFINED"
    COMPUTE = "COMPUTE"
    NETWORKING = "NETWORKING"
    STORAGE = "STORAGE"


class ResourceKind(StrEnum):
    UNDEFINED = "UNDEFINED"
    PHYSICAL = "PHYSICAL"
    LOGICAL = "LOGICAL"


class ResourcePhase(StrEnum):
    PROCESSING = "PROCESSING"
    PROVISIONED = "PROVISIONED"
    AWAITING_FREE_RESOURCES = "AWAITING_FREE_RESOURCES"
    FAILED = "FAILED"


class ResourcePool(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    resource_pool_id: Annotated[
        str, Field(alias="resourcePoolId", title="Resourcepoolid")
    ]
    name: Annotated[str, Field(title="Name")]
    description: Annotated[str, Field(title="Description")]
    o_cloud_id: Annotated[str, Field(alias="oCloudId", title="Ocloudid")]
    o_cloud_site_id: Annotated[
        str | None, Field(alias="oCloudSiteId", title="Ocloudsiteid")
    ] = None
    global_location_id: Annotated[
        str, Field(alias="globalLocationId", title="Globallocationid")
    ]
    location: Annotated[str, Field(title="Location")]
    extensions: Annotated[dict[str, Any] | None, Field(title="Extensions")] = None


class ResourcePoolV2(BaseModel):
    """
    A pool as v2 shows it (what `/openapi.json` documents for v2): `ResourcePool` less the dropped attributes.
    """

    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    resource_pool_id: Annotated[
        str, Field(alias="resourcePoolId", title="Resourcepoolid")
    ]
    name: Annotated[str, Field(title="Name")]
    description: Annotated[str, Field(title="Description")]
    o_cloud_id: Annotated[str, Field(alias="oCloudId", title="Ocloudid")]
    o_cloud_site_id: Annotated[str, Field(alias="oCloudSiteId", title="Ocloudsiteid")]
    extensions: Annotated[dict[str, Any] | None, Field(title="Extensions")] = None


class ResourceProvisioningStatus(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    resource_name: Annotated[str, Field(alias="resourceName", title="Resourcename")]
    resource_id: Annotated[str, Field(alias="resourceId", title="Resourceid")]
    resource_provisioning_phase: Annotated[
        ResourcePhase, Field(alias="resourceProvisioningPhase")
    ]


class ResourceType(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    resource_type_id: Annotated[
        str, Field(alias="resourceTypeId", title="Resourcetypeid")
    ]
    name: Annotated[str, Field(title="Name")]
    description: Annotated[str, Field(title="Description")]
    vendor: Annotated[str, Field(title="Vendor")]
    model: Annotated[str, Field(title="Model")]
    version: Annotated[str, Field(title="Version")]
    resource_kind: Annotated[ResourceKind, Field(alias="resourceKind")]
    resource_class: Annotated[ResourceClass, Field(alias="resourceClass")]
    alarm_dictionary_id: Annotated[
        str | None, Field(alias="alarmDictionaryId", title="Alarmdictionaryid")
    ] = None
    alarm_dictionary: Annotated[
        AlarmDictionary | None, Field(alias="alarmDictionary")
    ] = None
    extensions: Annotated[dict[str, Any] | None, Field(title="Extensions")] = None


class RollbackRequest(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    timeout_seconds: Annotated[
        int | None,
        Field(
            alias="timeoutSeconds",
            description="how long helm waits for readiness (default 300)",
            ge=10,
            le=840,
            title="Timeoutseconds",
        ),
    ] = None
    revision: Annotated[
        int | None,
        Field(description="omitted: the previous revision", ge=1, title="Revision"),
    ] = None


class ScaleRequest(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    timeout_seconds: Annotated[
        int | None,
        Field(
            alias="timeoutSeconds",
            description="how long helm waits for readiness (default 300)",
            ge=10,
            le=840,
            title="Timeoutseconds",
        ),
    ] = None
    replicas: Annotated[int, Field(ge=0, le=1000, title="Replicas")]


class Severity(IntEnum):
    CRITICAL = 0
    MAJOR = 1
    MINOR = 2
    WARNING = 3
    INDETERMINATE = 4
    CLEARED = 5


class PackageType1(StrEnum):
    HELM_REPO = "helm-repo"
    GIT = "git"


class SourcePackageRequest(BaseModel):
    """
    A chart a GitOps backend (ArgoCD, Flux) fetches itself: registered by reference, nothing downloaded.
    """

    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    package_type: Annotated[
        PackageType1, Field(alias="packageType", title="Packagetype")
    ]
    repository_url: Annotated[
        str,
        Field(
            alias="repositoryUrl",
            description="Helm repository: http(s):// or oci://; Git: http(s)://, ssh:// or git@ (plain http for in-cluster repositories such as ChartMuseum)",
            max_length=2048,
            min_length=1,
            pattern="^(https?://|oci://|ssh://|git@)\\S+$",
            title="Repositoryurl",
        ),
    ]
    chart: Annotated[
        str | None,
        Field(
            description="helm-repo: the chart name",
            max_length=253,
            min_length=1,
            title="Chart",
        ),
    ] = None
    path: Annotated[
        str | None,
        Field(
            description="git: the chart directory",
            max_length=1024,
            min_length=1,
            title="Path",
        ),
    ] = None
    version: Annotated[
        str,
        Field(
            description="helm-repo: chart version; git: branch, tag or commit",
            max_length=128,
            min_length=1,
            title="Version",
        ),
    ]
    name: Annotated[
        str | None,
        Field(
            description="default: the chart name",
            max_length=253,
            min_length=1,
            title="Name",
        ),
    ] = None
    description: Annotated[str | None, Field(max_length=2000, title="Description")] = (
        None
    )


class SubscriptionInfo(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    callback: Annotated[str, Field(title="Callback")]
    consumer_subscription_id: Annotated[
        str | None,
        Field(alias="consumerSubscriptionId", title="Consumersubscriptionid"),
    ] = None
    filter: Annotated[str | None, Field(title="Filter")] = None
    status: Annotated[
        str | None,
        Field(
            description="netweave: active, or disabled (the SMO answered 410 Gone, or an operator disabled it)",
            title="Status",
        ),
    ] = None
    status_reason: Annotated[
        str | None, Field(alias="statusReason", title="Statusreason")
    ] = None
    secret: Annotated[
        str | None,
        Field(
            description="Standard Webhooks signing secret (whsec_...): only in the creation response, never again",
            title="Secret",
        ),
    ] = None
    subscription_id: Annotated[
        str, Field(alias="subscriptionId", title="Subscriptionid")
    ]


class TemplateDefaults(BaseModel):
    """
    A template's default parameters: what a provisioning request's `templateParameters` are merged over.
    """

    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    template_defaults: Annotated[
        dict[str, Any], Field(alias="templateDefaults", title="Templatedefaults")
    ]


class TemplateEventType(StrEnum):
    TEMPLATE_CREATED = "TemplateCreated"
    TEMPLATE_DELETED = "TemplateDeleted"


class UpdateDeploymentRequest(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    timeout_seconds: Annotated[
        int | None,
        Field(
            alias="timeoutSeconds",
            description="how long helm waits for readiness (default 300)",
            ge=10,
            le=840,
            title="Timeoutseconds",
        ),
    ] = None
    package_id: Annotated[
        str | None,
        Field(alias="packageId", max_length=128, min_length=1, title="Packageid"),
    ] = None
    values: Annotated[dict[str, Any] | None, Field(title="Values")] = None


class UpgradeRequest(BaseModel):
    """
    To another package (`packageId`, `values`), or to another version of the deployment's template
    (`deploymentTemplateId`, `parameters`: omitted, the ones the deployment recorded).
    """

    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    timeout_seconds: Annotated[
        int | None,
        Field(
            alias="timeoutSeconds",
            description="how long helm waits for readiness (default 300)",
            ge=10,
            le=840,
            title="Timeoutseconds",
        ),
    ] = None
    package_id: Annotated[
        str | None,
        Field(alias="packageId", max_length=128, min_length=1, title="Packageid"),
    ] = None
    values: Annotated[
        dict[str, Any] | None,
        Field(description="replaces the values; omitted: kept", title="Values"),
    ] = None
    deployment_template_id: Annotated[
        str | None,
        Field(
            alias="deploymentTemplateId",
            max_length=128,
            min_length=1,
            title="Deploymenttemplateid",
        ),
    ] = None
    parameters: Annotated[dict[str, Any] | None, Field(title="Parameters")] = None


class AlarmEventRecord(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    alarm_event_record_id: Annotated[
        str, Field(alias="alarmEventRecordId", title="Alarmeventrecordid")
    ]
    alarm_definition_id: Annotated[
        str, Field(alias="alarmDefinitionID", title="Alarmdefinitionid")
    ]
    probable_cause_id: Annotated[
        str, Field(alias="probableCauseID", title="Probablecauseid")
    ]
    alarm_raised_time: Annotated[
        str, Field(alias="alarmRaisedTime", title="Alarmraisedtime")
    ]
    alarm_changed_time: Annotated[
        str | None, Field(alias="alarmChangedTime", title="Alarmchangedtime")
    ] = None
    alarm_cleared_time: Annotated[
        str | None, Field(alias="alarmClearedTime", title="Alarmclearedtime")
    ] = None
    alarm_acknowledged: Annotated[
        bool | None, Field(alias="alarmAcknowledged", title="Alarmacknowledged")
    ] = False
    alarm_acknowledged_time: Annotated[
        str | None, Field(alias="alarmAcknowledgedTime", title="Alarmacknowledgedtime")
    ] = None
    alarm_acknowledge_time: Annotated[
        str | None, Field(alias="alarmAcknowledgeTime", title="Alarmacknowledgetime")
    ] = None
    perceived_severity: Annotated[Severity, Field(alias="perceivedSeverity")]
    resource_type_id: Annotated[
        str, Field(alias="resourceTypeID", title="Resourcetypeid")
    ]
    resource_id: Annotated[str, Field(alias="resourceID", title="Resourceid")]
    extensions: Annotated[dict[str, Any] | None, Field(title="Extensions")] = None


class AlarmEventRecordModifications(BaseModel):
    """
    The PATCH body and its answer: exactly one member, `alarmAcknowledged: true` or `perceivedSeverity: 5`.
    """

    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    alarm_acknowledged: Annotated[
        bool | None,
        Field(
            alias="alarmAcknowledged",
            description="true acknowledges the alarm (cannot be withdrawn)",
            title="Alarmacknowledged",
        ),
    ] = None
    perceived_severity: Annotated[
        Severity | None,
        Field(alias="perceivedSeverity", description="5 (CLEARED) clears the alarm"),
    ] = None


class CreateDeploymentRequest(BaseModel):
    """
    Two exclusive forms: a package (`name`, `namespace`, `packageId`, `values`, `resourcePoolId`), or a
    deployment template (`deploymentTemplateId`, `parameters`; docs/dms.md, "Deployments from templates"), which
    decides all of those and the backend, so it takes only `timeoutSeconds` and `extensions.labels` besides.
    """

    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    timeout_seconds: Annotated[
        int | None,
        Field(
            alias="timeoutSeconds",
            description="how long helm waits for readiness (default 300)",
            ge=10,
            le=840,
            title="Timeoutseconds",
        ),
    ] = None
    name: Annotated[str | None, Field(max_length=253, min_length=1, title="Name")] = (
        None
    )
    namespace: Annotated[
        str | None, Field(max_length=253, min_length=1, title="Namespace")
    ] = None
    package_id: Annotated[
        str | None,
        Field(alias="packageId", max_length=128, min_length=1, title="Packageid"),
    ] = None
    values: Annotated[dict[str, Any] | None, Field(title="Values")] = None
    resource_pool_id: Annotated[
        str | None,
        Field(alias="resourcePoolId", max_length=256, title="Resourcepoolid"),
    ] = None
    deployment_template_id: Annotated[
        str | None,
        Field(
            alias="deploymentTemplateId",
            max_length=128,
            min_length=1,
            title="Deploymenttemplateid",
        ),
    ] = None
    parameters: Annotated[
        dict[str, Any] | None,
        Field(
            description="checked against the template's parameterSchema, merged over its defaultValues",
            title="Parameters",
        ),
    ] = None
    extensions: DeploymentExtensions | None = None


class Deployment(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    deployment_id: Annotated[str, Field(alias="deploymentId", title="Deploymentid")]
    name: Annotated[str, Field(title="Name")]
    namespace: Annotated[str, Field(title="Namespace")]
    package_id: Annotated[str, Field(alias="packageId", title="Packageid")]
    package_version: Annotated[
        str, Field(alias="packageVersion", title="Packageversion")
    ]
    resource_pool_id: Annotated[
        str | None, Field(alias="resourcePoolId", title="Resourcepoolid")
    ] = None
    status: DeploymentStatus
    values: Annotated[dict[str, Any] | None, Field(title="Values")] = None
    created_at: Annotated[str, Field(alias="createdAt", title="Createdat")]
    updated_at: Annotated[str, Field(alias="updatedAt", title="Updatedat")]
    extensions: Annotated[
        dict[str, Any] | None,
        Field(
            description="dmsAdapter, revision, statusReason, activeOperationId, lastOperationId, replicas, owner, nodeSelector",
            title="Extensions",
        ),
    ] = None


class DeploymentPackage(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    package_id: Annotated[str, Field(alias="packageId", title="Packageid")]
    name: Annotated[str, Field(title="Name")]
    version: Annotated[str, Field(title="Version")]
    app_version: Annotated[
        str | None, Field(alias="appVersion", title="Appversion")
    ] = None
    description: Annotated[str | None, Field(title="Description")] = None
    package_type: Annotated[PackageType | None, Field(alias="packageType")] = (
        PackageType.HELM
    )
    checksum: Annotated[
        str | None,
        Field(
            description="sha256:<hex> of the chart archive as stored (helm packages)",
            pattern="^sha256:[0-9a-f]{64}$",
            title="Checksum",
        ),
    ] = None
    size: Annotated[
        int | None,
        Field(
            description="bytes of the chart archive (helm packages)", ge=0, title="Size"
        ),
    ] = None
    uploaded_at: Annotated[
        str, Field(alias="uploadedAt", description="RFC 3339 UTC", title="Uploadedat")
    ]
    source: Annotated[
        str,
        Field(
            description="the packageUrl it was fetched from, 'upload', or the repository URL",
            title="Source",
        ),
    ]
    repository_url: Annotated[
        str | None,
        Field(
            alias="repositoryUrl",
            description="helm-repo and git packages: where the GitOps tool fetches it",
            title="Repositoryurl",
        ),
    ] = None
    chart: Annotated[
        str | None,
        Field(
            description="helm-repo packages: the chart's name in the repository",
            title="Chart",
        ),
    ] = None
    path: Annotated[
        str | None,
        Field(
            description="git packages: the chart directory in the repository",
            title="Path",
        ),
    ] = None
    extensions: Annotated[dict[str, Any] | None, Field(title="Extensions")] = None


class DeploymentSubscriptionInfo(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    callback: Annotated[str, Field(title="Callback")]
    consumer_subscription_id: Annotated[
        str | None,
        Field(alias="consumerSubscriptionId", title="Consumersubscriptionid"),
    ] = None
    filter: Annotated[str | None, Field(title="Filter")] = None
    status: Annotated[
        str | None,
        Field(
            description="netweave: active, or disabled (the SMO answered 410 Gone, or an operator disabled it)",
            title="Status",
        ),
    ] = None
    status_reason: Annotated[
        str | None, Field(alias="statusReason", title="Statusreason")
    ] = None
    secret: Annotated[
        str | None,
        Field(
            description="Standard Webhooks signing secret (whsec_...): only in the creation response, never again",
            title="Secret",
        ),
    ] = None
    subscription_id: Annotated[
        str, Field(alias="subscriptionId", title="Subscriptionid")
    ]
    event_types: Annotated[
        list[DeploymentEventType | PackageEventType | TemplateEventType] | None,
        Field(alias="eventTypes", title="Eventtypes"),
    ] = None


class DeploymentSubscriptionRequest(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    callback: Annotated[
        str,
        Field(
            description="absolute https URL receiving the notifications (POST)",
            title="Callback",
        ),
    ]
    consumer_subscription_id: Annotated[
        str | None,
        Field(
            alias="consumerSubscriptionId",
            max_length=256,
            min_length=1,
            title="Consumersubscriptionid",
        ),
    ] = None
    filter: Annotated[
        str | dict[str, str | list[str]] | None,
        Field(
            description="O2 filter text, or an object of attribute -> value(s) (docs/subscriptions.md)",
            title="Filter",
        ),
    ] = None
    event_types: Annotated[
        list[DeploymentEventType | PackageEventType | TemplateEventType] | None,
        Field(
            alias="eventTypes",
            description="the events to receive; without it, every deployment event and no package or template event",
            min_length=1,
            title="Eventtypes",
        ),
    ] = None


class DeploymentTemplate(BaseModel):
    """
    A stored template: the data plus what netweave assigns.
    """

    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    name: Annotated[
        str,
        Field(
            description="DNS-1123 label, at most 53 characters",
            pattern="^[a-z0-9]([-a-z0-9]{0,51}[a-z0-9])?$",
            title="Name",
        ),
    ]
    version: Annotated[
        str, Field(pattern="^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$", title="Version")
    ]
    description: Annotated[str | None, Field(max_length=1024, title="Description")] = ""
    package_id: Annotated[
        str | None, Field(alias="packageId", max_length=128, title="Packageid")
    ] = None
    package_name: Annotated[
        str | None, Field(alias="packageName", max_length=253, title="Packagename")
    ] = None
    package_version: Annotated[
        str | None,
        Field(alias="packageVersion", max_length=128, title="Packageversion"),
    ] = None
    default_values: Annotated[
        dict[str, Any] | None, Field(alias="defaultValues", title="Defaultvalues")
    ] = None
    parameter_schema: Annotated[
        dict[str, Any],
        Field(
            alias="parameterSchema",
            description="JSON Schema (Draft 2020-12) of an object: the parameters a deployment may set",
            title="Parameterschema",
        ),
    ]
    placement: Placement
    lifecycle: Lifecycle | None = None
    extensions: Annotated[dict[str, Any] | None, Field(title="Extensions")] = None
    deployment_template_id: Annotated[
        str, Field(alias="deploymentTemplateId", title="Deploymenttemplateid")
    ]
    created_at: Annotated[str, Field(alias="createdAt", title="Createdat")]
    updated_at: Annotated[str, Field(alias="updatedAt", title="Updatedat")]


class DeploymentTemplateData(BaseModel):
    """
    What an SMO sends (POST, PUT).
    """

    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    name: Annotated[
        str,
        Field(
            description="DNS-1123 label, at most 53 characters",
            pattern="^[a-z0-9]([-a-z0-9]{0,51}[a-z0-9])?$",
            title="Name",
        ),
    ]
    version: Annotated[
        str, Field(pattern="^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$", title="Version")
    ]
    description: Annotated[str | None, Field(max_length=1024, title="Description")] = ""
    package_id: Annotated[
        str | None, Field(alias="packageId", max_length=128, title="Packageid")
    ] = None
    package_name: Annotated[
        str | None, Field(alias="packageName", max_length=253, title="Packagename")
    ] = None
    package_version: Annotated[
        str | None,
        Field(alias="packageVersion", max_length=128, title="Packageversion"),
    ] = None
    default_values: Annotated[
        dict[str, Any] | None, Field(alias="defaultValues", title="Defaultvalues")
    ] = None
    parameter_schema: Annotated[
        dict[str, Any],
        Field(
            alias="parameterSchema",
            description="JSON Schema (Draft 2020-12) of an object: the parameters a deployment may set",
            title="Parameterschema",
        ),
    ]
    placement: Placement
    lifecycle: Lifecycle | None = None
    extensions: Annotated[dict[str, Any] | None, Field(title="Extensions")] = None


class DeploymentTemplateReplacement(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    name: Annotated[
        str,
        Field(
            description="DNS-1123 label, at most 53 characters",
            pattern="^[a-z0-9]([-a-z0-9]{0,51}[a-z0-9])?$",
            title="Name",
        ),
    ]
    version: Annotated[
        str, Field(pattern="^[0-9A-Za-z][0-9A-Za-z.+_-]{0,63}$", title="Version")
    ]
    description: Annotated[str | None, Field(max_length=1024, title="Description")] = ""
    package_id: Annotated[
        str | None, Field(alias="packageId", max_length=128, title="Packageid")
    ] = None
    package_name: Annotated[
        str | None, Field(alias="packageName", max_length=253, title="Packagename")
    ] = None
    package_version: Annotated[
        str | None,
        Field(alias="packageVersion", max_length=128, title="Packageversion"),
    ] = None
    default_values: Annotated[
        dict[str, Any] | None, Field(alias="defaultValues", title="Defaultvalues")
    ] = None
    parameter_schema: Annotated[
        dict[str, Any],
        Field(
            alias="parameterSchema",
            description="JSON Schema (Draft 2020-12) of an object: the parameters a deployment may set",
            title="Parameterschema",
        ),
    ]
    placement: Placement
    lifecycle: Lifecycle | None = None
    extensions: Annotated[dict[str, Any] | None, Field(title="Extensions")] = None


class Operation(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    operation_id: Annotated[str, Field(alias="operationId", title="Operationid")]
    deployment_id: Annotated[str, Field(alias="deploymentId", title="Deploymentid")]
    operation_type: Annotated[OperationType, Field(alias="operationType")]
    status: OperationStatus
    parameters: Annotated[
        dict[str, Any] | None,
        Field(description="what was asked: values, replicas, ...", title="Parameters"),
    ] = None
    progress: Annotated[list[ProgressMessage] | None, Field(title="Progress")] = None
    created_at: Annotated[str, Field(alias="createdAt", title="Createdat")]
    started_at: Annotated[str | None, Field(alias="startedAt", title="Startedat")] = (
        None
    )
    finished_at: Annotated[
        str | None, Field(alias="finishedAt", title="Finishedat")
    ] = None
    attempts: Annotated[int | None, Field(title="Attempts")] = 0
    result: Annotated[
        dict[str, Any] | None,
        Field(description="revision and status reached, on success", title="Result"),
    ] = None
    error: OperationError | None = None
    href: Annotated[str | None, Field(title="Href")] = None


class ProvisioningStatus(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    update_time: Annotated[str, Field(alias="updateTime", title="Updatetime")]
    message: Annotated[str, Field(title="Message")]
    provisioning_phase: Annotated[ProvisioningPhase, Field(alias="provisioningPhase")]
    infrastructure_resource_provisioning_status: Annotated[
        list[ResourceProvisioningStatus] | None,
        Field(
            alias="infrastructureResourceProvisioningStatus",
            title="Infrastructureresourceprovisioningstatus",
        ),
    ] = None


class Readiness(BaseModel):
    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    status: Annotated[str, Field(title="Status")]
    checks: Annotated[list[ReadinessCheck] | None, Field(title="Checks")] = None


class ProvisioningRequestInfo(BaseModel):
    """
    What GET answers: the request as sent, the reference netweave assigned, the status and what was provisioned.
    `extensions.resourcePoolIds` names the inventory pools the request's resources are in (the spec's resource set
    has no member for pools).
    """

    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
    )
    provisioning_request_id: Annotated[
        str, Field(alias="provisioningRequestId", title="Provisioningrequestid")
    ]
    name: Annotated[str, Field(title="Name")]
    description: Annotated[str, Field(title="Description")]
    template_name: Annotated[str, Field(alias="templateName", title="Templatename")]
    template_version: Annotated[
        str, Field(alias="templateVersion", title="Templateversion")
    ]
    template_parameters: Annotated[
        dict[str, Any], Field(alias="templateParameters", title="Templateparameters")
    ]
    provisioning_request_reference: Annotated[
        str,
        Field(
            alias="provisioningRequestReference", title="Provisioningrequestreference"
        ),
    ]
    status: ProvisioningStatus
    provisioned_resource_set: Annotated[
        ProvisionedResourceSet, Field(alias="provisionedResourceSet")
    ]
    extensions: Annotated[dict[str, Any] | None, Field(title="Extensions")] = None


Resource.model_rebuild()
