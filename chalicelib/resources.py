"""The one definition of every table, queue and bucket netweave uses.

The local stack creates them from here, `infra/` templates are checked against here, and the code finds physical
names only through here, so the three never drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

KeyType = Literal["S", "N", "B"]


@dataclass(frozen=True)
class Index:
    name: str
    partition_key: str
    sort_key: str | None = None
    # None projects every attribute; a tuple projects only those (plus keys), for indexes read for bookkeeping.
    projected: tuple[str, ...] | None = None

    def projection(self) -> dict[str, object]:
        if self.projected is None:
            return {"ProjectionType": "ALL"}
        return {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(self.projected)}


@dataclass(frozen=True)
class Table:
    logical_name: str
    partition_key: str
    sort_key: str | None = None
    indexes: tuple[Index, ...] = ()
    ttl_attribute: str | None = None
    attribute_types: dict[str, KeyType] = field(default_factory=dict)

    def key_attributes(self) -> list[str]:
        names = [self.partition_key] + ([self.sort_key] if self.sort_key else [])
        for index in self.indexes:
            names.append(index.partition_key)
            if index.sort_key:
                names.append(index.sort_key)
        return list(dict.fromkeys(names))

    def attribute_type(self, name: str) -> KeyType:
        return self.attribute_types.get(name, "S")


@dataclass(frozen=True)
class Queue:
    logical_name: str
    fifo: bool
    visibility_timeout_seconds: int
    max_receive_count: int
    retention_seconds: int = 14 * 24 * 3600

    @property
    def dlq_logical_name(self) -> str:
        return f"{self.logical_name}-dlq"


@dataclass(frozen=True)
class Bucket:
    logical_name: str


# pk = object type (ResourceInfo, ...) or "Manifest"; sk = object id (or backend id for manifests).
# byParent pages a pool's resources; byBackend lists one backend's objects with their hashes for the poll's diff.
INVENTORY = Table(
    "inventory",
    partition_key="pk",
    sort_key="sk",
    indexes=(
        Index("byParent", "parentKey", "sk"),
        Index("byBackend", "backend", "sk", projected=("hash", "observedAt")),
    ),
)
SUBSCRIPTIONS = Table(
    "subscriptions",
    partition_key="subscriptionId",
    indexes=(Index("byKind", "kind", "subscriptionId"),),
)
PACKAGES = Table("packages", partition_key="packageId", indexes=(Index("byName", "name", "version"),))
DEPLOYMENTS = Table("deployments", partition_key="pk", sort_key="sk", indexes=(Index("byStatus", "status", "sk"),))
# byOpenScope is sparse: only open (not cleared) alarms carry `openScope` (the backend or "deployments" they belong
# to), so an evaluation reads exactly the alarms it may change or clear with one query.
ALARMS = Table(
    "alarms",
    partition_key="alarmEventRecordId",
    indexes=(Index("byResource", "resourceID", "alarmRaisedTime"), Index("byOpenScope", "openScope",
                                                                         "alarmEventRecordId")),
    ttl_attribute="expiresAt",
)
DELIVERY_LOG = Table("delivery-log", partition_key="subscriptionId", sort_key="attemptKey", ttl_attribute="expiresAt")

# O2ims provisioning requests (docs/provisioning.md); besides the requests (SMO-chosen UUIDs), the "#open" item
# names each backend's open requests (read with the poll's first BatchGetItem) and "#owner#<hash>" items count each
# tenant's requests for its quota.
PROVISIONING = Table("provisioning", partition_key="provisioningRequestId")

# O2dms deployment templates (docs/dms.md, "Deployment templates"); "#name#<name>#<version>" items keep name+version
# unique under concurrency, "#owner#<hash>" items count each tenant's templates for its quota.
DEPLOYMENT_TEMPLATES = Table("deployment-templates", partition_key="deploymentTemplateId")

TABLES: tuple[Table, ...] = (INVENTORY, SUBSCRIPTIONS, PACKAGES, DEPLOYMENTS, ALARMS, DELIVERY_LOG, PROVISIONING,
                             DEPLOYMENT_TEMPLATES)

# Visibility timeouts are six times the consuming function's timeout (AWS's advice for SQS event sources: a batch
# retried by Lambda's poller must not reappear while its first invocation may still run); receive counts bound retries
# before redrive. Handlers that want a retry sooner shorten the visibility of that message themselves (`deliveries`
# per its backoff, `dms-operations` per attempt). FUNCTION_TIMEOUTS is what .chalice/config.json must configure.
FUNCTION_TIMEOUTS = {"fan_out": 60, "deliver": 120, "run_dms_operation": 900}
EVENTS = Queue("events", fifo=True, visibility_timeout_seconds=6 * 60, max_receive_count=10)
DELIVERIES = Queue("deliveries", fifo=True, visibility_timeout_seconds=6 * 120, max_receive_count=1000)
DMS_OPERATIONS = Queue("dms-operations", fifo=True, visibility_timeout_seconds=6 * 900, max_receive_count=3)

QUEUES: tuple[Queue, ...] = (EVENTS, DELIVERIES, DMS_OPERATIONS)

PACKAGES_BUCKET = Bucket("packages")
BUCKETS: tuple[Bucket, ...] = (PACKAGES_BUCKET,)


def physical_name(stage: str, logical_name: str, fifo: bool = False) -> str:
    """The deployed name of a table, queue or bucket: prefixed by stage, `.fifo` where SQS requires it."""
    name = f"netweave-{stage}-{logical_name}"
    return f"{name}.fifo" if fifo else name


def queue_name(stage: str, queue: Queue, dead_letter: bool = False) -> str:
    logical = queue.dlq_logical_name if dead_letter else queue.logical_name
    return physical_name(stage, logical, fifo=queue.fifo)


# The EventBridge rule that turns "some cluster changed" into an immediate inventory poll: our own source (cluster-side
# watchers or operators; a netweave event may name its backend in `detail.adapterId`), EC2 state changes and EKS calls.
CLUSTER_EVENT_PATTERN: dict[str, list[str]] = {"source": ["netweave", "aws.ec2", "aws.eks"]}
