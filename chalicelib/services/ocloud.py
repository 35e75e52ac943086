"""The O-Cloud's own description: what `GET /o2ims-infrastructureInventory/v1` answers."""

from __future__ import annotations

from typing import Any

from chalicelib.domain.models import CloudInfo
from chalicelib.domain.selectors import Selection, SelectorSchema, apply_selection
from chalicelib.settings import OCloudConfig

CLOUD_INFO_SCHEMA = SelectorSchema(
    attributes=frozenset(
        {"oCloudId", "globalCloudId", "globalcloudId", "name", "description", "serviceUri", "extensions"}
    ),
    identifiers=frozenset({"oCloudId", "globalCloudId", "globalcloudId"}),
)


def describe_ocloud(o_cloud: OCloudConfig, api_root: str, selection: Selection) -> dict[str, Any]:
    info = CloudInfo(
        o_cloud_id=o_cloud.resolved_o_cloud_id(),
        global_cloud_id=o_cloud.resolved_global_cloud_id(),
        name=o_cloud.name,
        description=o_cloud.description,
        service_uri=api_root,
        extensions=o_cloud.extensions,
    )
    return apply_selection(info.to_wire(), selection, CLOUD_INFO_SCHEMA)
