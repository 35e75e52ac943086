"""The `aws` backend's options (gateway.yaml) and its AWS clients: shared by aws.py and aws_provisioning.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

REFRESH_BEFORE = timedelta(minutes=5)  # rebuild assumed-role clients this long before the credentials expire


class AwsOptions(BaseModel):
    """`options` of an `aws` IMS adapter in gateway.yaml (docs/aws-backend.md)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    region: str | None = None
    endpoint_url: str | None = Field(default=None, alias="endpointUrl")  # EKS/EC2/STS endpoint: moto, locally
    role_arn: str | None = Field(default=None, alias="roleArn")
    clusters: list[str] | None = None
    location: str | None = None
    global_location_id: str | None = Field(default=None, alias="globalLocationId")
    node_role_arn: str | None = Field(default=None, alias="nodeRoleArn")
    subnets: list[str] | dict[str, list[str]] | None = None
    default_instance_type: str | None = Field(default=None, alias="defaultInstanceType")
    # cluster name -> kubeconfig of that cluster: the backend then lists the nodes of the node groups it creates
    # (and counts their Ready ones) from the cluster itself (docs/aws-backend.md, "Nodes of node groups")
    kubeconfigs: dict[str, str] = Field(default_factory=dict)
    connect_timeout: float = Field(default=3.0, gt=0, alias="connectTimeout")
    read_timeout: float = Field(default=10.0, gt=0, alias="readTimeout")
    max_attempts: int = Field(default=3, ge=1, alias="maxAttempts")


@dataclass(frozen=True)
class Clients:
    eks: Any
    ec2: Any
    expires: datetime | None = None  # of assumed-role credentials; None for the ambient ones

    def stale(self) -> bool:
        return self.expires is not None and self.expires - datetime.now(UTC) < REFRESH_BEFORE
