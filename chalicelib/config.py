"""The one place settings are read (environment + `config/gateway.yaml`) and AWS clients are built, lazily.

Nothing here touches the network or builds a client at import time: Lambda cold starts pay for every import, and
a route that needs no AWS call should not wait for boto3.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from chalicelib import resources
from chalicelib.domain.errors import ConfigurationError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import DynamoDBServiceResource, Table
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_sqs.client import SQSClient

    from chalicelib.adapters.ims.port import InventoryContext
    from chalicelib.adapters.poll_trigger import EventBridgePollTrigger
    from chalicelib.adapters.queue.events_queue import SqsDeliveryQueue, SqsEventPublisher, SqsOperationQueue
    from chalicelib.adapters.registry import AdapterRegistry
    from chalicelib.adapters.store.alarm_store import AlarmStore
    from chalicelib.adapters.store.delivery_log import DeliveryLog
    from chalicelib.adapters.store.deployment_store import DeploymentStore
    from chalicelib.adapters.store.inventory_store import InventoryStore
    from chalicelib.adapters.store.package_store import PackageStore
    from chalicelib.adapters.store.subscription_store import SubscriptionStore
    from chalicelib.domain.callback_policy import CallbackPolicy

PROJECT_ROOT = Path(__file__).resolve().parent.parent
_DEFAULT_GATEWAY_PATHS = (PROJECT_ROOT / "config" / "gateway.yaml", Path(__file__).parent / "gateway.yaml")
_ENV_REFERENCE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")
_NAMESPACE = uuid.UUID("6f0c5a9e-3b7d-5c1e-9a52-2f5b8e1d4c30")


class _ConfigModel(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, defer_build=True)


class OCloudConfig(_ConfigModel):
    name: str = "netweave"
    description: str = "O-Cloud served by the netweave O2 gateway"
    o_cloud_id: uuid.UUID | None = Field(default=None, alias="oCloudId")
    global_cloud_id: str | None = Field(default=None, alias="globalCloudId")
    extensions: dict[str, Any] = Field(default_factory=dict)

    def resolved_o_cloud_id(self) -> str:
        """A configured id, else one derived from the name so it is stable across restarts."""
        return str(self.o_cloud_id or uuid.uuid5(_NAMESPACE, f"ocloud:{self.name}"))

    def resolved_global_cloud_id(self) -> str:
        return self.global_cloud_id or self.resolved_o_cloud_id()


class AdapterConfig(_ConfigModel):
    id: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9-]*$")
    type: str = Field(min_length=1)
    default: bool = False
    options: dict[str, Any] = Field(default_factory=dict)


class RoutingRule(_ConfigModel):
    adapter: str
    namespace: str | None = None
    namespace_prefix: str | None = Field(default=None, alias="namespacePrefix")
    labels: dict[str, str] = Field(default_factory=dict)
    deployment_type: str | None = Field(default=None, alias="deploymentType")
    package_type: Literal["helm", "helm-repo", "git"] | None = Field(default=None, alias="packageType")


class GatewayConfig(_ConfigModel):
    o_cloud: OCloudConfig = Field(default_factory=OCloudConfig, alias="oCloud")
    ims_adapters: list[AdapterConfig] = Field(default_factory=list, alias="imsAdapters")
    dms_adapters: list[AdapterConfig] = Field(default_factory=list, alias="dmsAdapters")
    routing: list[RoutingRule] = Field(default_factory=list)

    @field_validator("routing", mode="before")
    @classmethod
    def _dms_routing(cls, value: Any) -> Any:
        """`routing: {dms: [rules]}` (docs/architecture.md §3) or a bare list of DMS rules."""
        if isinstance(value, dict):
            unknown = set(value) - {"dms"}
            if unknown:
                raise ValueError(f"routing: only 'dms' rules exist, not {', '.join(sorted(unknown))}")
            return value.get("dms") or []
        return value

    @property
    def publishes_chart_index(self) -> bool:
        """A GitOps backend reads uploaded archives from the chart repository netweave publishes."""
        return any(adapter.options.get("chartRepositoryUrl") for adapter in self.dms_adapters)


class AuthSettings(_ConfigModel):
    issuer: str = "netweave-local"
    audience: str = "netweave"
    jwks_url: str | None = None
    shared_secret: str | None = None
    shared_secret_ssm_parameter: str | None = None
    algorithms: tuple[str, ...] = ("RS256",)
    leeway_seconds: int = 30


class CallbackSettings(_ConfigModel):
    allow_http: bool = False
    allowed_networks: str = ""  # comma-separated CIDRs of private SMO networks
    allowed_hosts: str = ""  # comma-separated host names
    http_networks: str = ""  # comma-separated CIDRs: if set, plain http only to these
    probe: bool = False  # GET the callback at creation, expecting 2xx

    def policy(self) -> CallbackPolicy:
        from chalicelib.domain.callback_policy import CallbackPolicy, parse_networks

        hosts = frozenset(h.strip().lower() for h in self.allowed_hosts.split(",") if h.strip())
        return CallbackPolicy(self.allow_http, parse_networks(self.allowed_networks), hosts,
                              parse_networks(self.http_networks))


class DeliverySettings(_ConfigModel):
    retry_horizon_seconds: int = 24 * 3600
    first_retry_delay_seconds: float = 5.0  # backoff doubles from here (with full jitter) up to 15 minutes
    timeout_seconds: float = 10.0
    smo_token_url: str | None = None  # OAuth2 client-credentials towards the SMO
    smo_client_id: str | None = None
    smo_client_secret_ssm_parameter: str | None = None
    smo_client_secret: str | None = None  # local use only; production reads it from SSM
    smo_scope: str | None = None
    registration_url: str | None = None  # where the O-Cloud announces itself (docs/o2-conventions.md §4)
    public_url: str | None = None  # this gateway's {apiRoot} as SMOs reach it (announced as IMS_EP)


class Settings(_ConfigModel):
    stage: str = "dev"
    region: str = "us-east-1"
    gateway: GatewayConfig
    auth: AuthSettings
    packages_bucket: str | None = None
    callbacks: CallbackSettings = Field(default_factory=CallbackSettings)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)

    def table_name(self, table: resources.Table) -> str:
        return resources.physical_name(self.stage, table.logical_name)

    def queue_name(self, queue: resources.Queue, dead_letter: bool = False) -> str:
        return resources.queue_name(self.stage, queue, dead_letter)

    def bucket_name(self, bucket: resources.Bucket) -> str:
        if bucket is resources.PACKAGES_BUCKET and self.packages_bucket:
            return self.packages_bucket
        return resources.physical_name(self.stage, bucket.logical_name)


def _interpolate(value: Any, env: Mapping[str, str]) -> Any:
    """Expand `${VAR}` and `${VAR:-default}` in string values, so one gateway.yaml serves every machine."""
    if isinstance(value, str):
        return _ENV_REFERENCE.sub(lambda m: env.get(m["name"]) or m["default"] or "", value)
    if isinstance(value, list):
        return [_interpolate(item, env) for item in value]
    if isinstance(value, dict):
        return {key: _interpolate(item, env) for key, item in value.items()}
    return value


def load_gateway_config(path: Path | None = None, env: Mapping[str, str] | None = None) -> GatewayConfig:
    import yaml  # read once per container, on the first request that needs settings: not worth an import-time cost

    candidates = [path] if path else [p for p in _DEFAULT_GATEWAY_PATHS if p.exists()]
    if not candidates:
        return GatewayConfig()
    try:
        raw = yaml.safe_load(candidates[0].read_text()) or {}
        return GatewayConfig.model_validate(_interpolate(raw, os.environ if env is None else env))
    except (OSError, yaml.YAMLError, ValidationError) as error:
        raise ConfigurationError(f"gateway configuration {candidates[0]}: {error}") from error


def _auth_settings(env: dict[str, str]) -> AuthSettings:
    secret = env.get("NETWEAVE_AUTH_SECRET") or None
    ssm_parameter = env.get("NETWEAVE_AUTH_SECRET_SSM_PARAMETER") or None
    jwks_url = env.get("NETWEAVE_AUTH_JWKS_URL") or None
    symmetric = not jwks_url and bool(secret or ssm_parameter)
    algorithms = env.get("NETWEAVE_AUTH_ALGORITHMS", "HS256" if symmetric else "RS256")
    return AuthSettings(
        issuer=env.get("NETWEAVE_AUTH_ISSUER", "netweave-local"),
        audience=env.get("NETWEAVE_AUTH_AUDIENCE", "netweave"),
        jwks_url=jwks_url,
        shared_secret=secret,
        shared_secret_ssm_parameter=ssm_parameter,
        algorithms=tuple(a.strip() for a in algorithms.split(",") if a.strip()),
        leeway_seconds=int(env.get("NETWEAVE_AUTH_LEEWAY_SECONDS", "30")),
    )


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def _callback_settings(env: dict[str, str]) -> CallbackSettings:
    return CallbackSettings(
        allow_http=_flag(env.get("NETWEAVE_CALLBACK_ALLOW_HTTP")),
        allowed_networks=env.get("NETWEAVE_CALLBACK_ALLOWED_NETWORKS", ""),
        allowed_hosts=env.get("NETWEAVE_CALLBACK_ALLOWED_HOSTS", ""),
        http_networks=env.get("NETWEAVE_CALLBACK_HTTP_NETWORKS", ""),
        probe=_flag(env.get("NETWEAVE_CALLBACK_PROBE")),
    )


def _delivery_settings(env: dict[str, str]) -> DeliverySettings:
    return DeliverySettings(
        retry_horizon_seconds=int(env.get("NETWEAVE_DELIVERY_RETRY_HORIZON_SECONDS", str(24 * 3600))),
        first_retry_delay_seconds=float(env.get("NETWEAVE_DELIVERY_FIRST_RETRY_SECONDS", "5")),
        timeout_seconds=float(env.get("NETWEAVE_DELIVERY_TIMEOUT_SECONDS", "10")),
        smo_token_url=env.get("NETWEAVE_SMO_TOKEN_URL") or None,
        smo_client_id=env.get("NETWEAVE_SMO_CLIENT_ID") or None,
        smo_client_secret_ssm_parameter=env.get("NETWEAVE_SMO_CLIENT_SECRET_SSM_PARAMETER") or None,
        smo_client_secret=env.get("NETWEAVE_SMO_CLIENT_SECRET") or None,
        smo_scope=env.get("NETWEAVE_SMO_SCOPE") or None,
        registration_url=env.get("NETWEAVE_SMO_REGISTRATION_URL") or None,
        public_url=env.get("NETWEAVE_PUBLIC_URL") or None,
    )


def settings_from_environment(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    gateway_path = env.get("NETWEAVE_GATEWAY_CONFIG")
    return Settings(
        stage=env.get("NETWEAVE_STAGE", "dev"),
        region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
        gateway=load_gateway_config(Path(gateway_path) if gateway_path else None, env),
        auth=_auth_settings(env),
        packages_bucket=env.get("NETWEAVE_PACKAGES_BUCKET") or None,
        callbacks=_callback_settings(env),
        delivery=_delivery_settings(env),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return settings_from_environment()


def reset() -> None:
    """Forget cached settings and clients (tests that change the environment call this)."""
    get_settings.cache_clear()
    _boto3_session.cache_clear()
    dynamodb.cache_clear()
    sqs.cache_clear()
    s3.cache_clear()
    ssm_parameter.cache_clear()
    queue_url.cache_clear()
    dynamodb_client.cache_clear()
    inventory_store.cache_clear()
    events_publisher.cache_clear()
    ims_registry.cache_clear()
    poll_trigger.cache_clear()
    subscription_store.cache_clear()
    delivery_queue.cache_clear()
    delivery_log.cache_clear()
    package_store.cache_clear()
    deployment_store.cache_clear()
    operation_queue.cache_clear()
    dms_registry.cache_clear()
    alarm_store.cache_clear()


@lru_cache(maxsize=1)
def _boto3_session() -> Any:
    import boto3  # imported on first use: routes that need no AWS call never pay for it

    return boto3.session.Session(region_name=get_settings().region)


@lru_cache(maxsize=1)
def dynamodb() -> DynamoDBServiceResource:
    resource: DynamoDBServiceResource = _boto3_session().resource("dynamodb")
    return resource


@lru_cache(maxsize=1)
def sqs() -> SQSClient:
    client: SQSClient = _boto3_session().client("sqs")
    return client


@lru_cache(maxsize=1)
def s3() -> S3Client:
    client: S3Client = _boto3_session().client("s3")
    return client


def table(spec: resources.Table) -> Table:
    return dynamodb().Table(get_settings().table_name(spec))


@lru_cache(maxsize=32)
def queue_url(logical_name: str, dead_letter: bool = False) -> str:
    spec = next(q for q in resources.QUEUES if q.logical_name == logical_name)
    name = get_settings().queue_name(spec, dead_letter)
    return sqs().get_queue_url(QueueName=name)["QueueUrl"]


@lru_cache(maxsize=16)
def ssm_parameter(name: str) -> str:
    """A SecureString from SSM, decrypted; cached for the life of the Lambda container."""
    value: str = _boto3_session().client("ssm").get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
    return value


@lru_cache(maxsize=1)
def dynamodb_client() -> Any:
    """A plain low-level client (wire-format attribute values, no Decimal conversion), for the hot paths.

    Not `dynamodb().meta.client`: boto3 hooks the resource's client to serialise Python values, which would wrap
    wire-format values a second time."""
    return _boto3_session().client("dynamodb")


@lru_cache(maxsize=1)
def inventory_store() -> InventoryStore:
    from chalicelib.adapters.store.inventory_store import InventoryStore

    return InventoryStore(dynamodb_client(), get_settings().table_name(resources.INVENTORY))


@lru_cache(maxsize=1)
def events_publisher() -> SqsEventPublisher:
    from chalicelib.adapters.queue.events_queue import SqsEventPublisher

    return SqsEventPublisher(sqs(), queue_url(resources.EVENTS.logical_name))


@lru_cache(maxsize=1)
def ims_registry() -> AdapterRegistry:
    from chalicelib.adapters.registry import build_registry

    return build_registry("ims", get_settings().gateway)


def inventory_context() -> InventoryContext:
    from chalicelib.adapters.ims.port import InventoryContext

    return InventoryContext(o_cloud_id=get_settings().gateway.o_cloud.resolved_o_cloud_id())


@lru_cache(maxsize=1)
def delivery_queue() -> SqsDeliveryQueue:
    from chalicelib.adapters.queue.events_queue import SqsDeliveryQueue

    return SqsDeliveryQueue(sqs(), queue_url(resources.DELIVERIES.logical_name))


def queue_name_at_import(queue: resources.Queue) -> str:
    """A queue's name for an event-source decorator in app.py, evaluated when app.py is imported (or packaged:
    `chalice package` must run with the target NETWEAVE_STAGE in its environment)."""
    return resources.queue_name(os.environ.get("NETWEAVE_STAGE", "dev"), queue)


# EventBridge sources that mean "some cluster changed": our own (from cluster-side watchers or operators), EC2 state
# changes and EKS API calls. A netweave event may name the backend in `detail.adapterId`; others poll every backend.
CLUSTER_EVENT_PATTERN: dict[str, Any] = {"source": ["netweave", "aws.ec2", "aws.eks"]}


def poll_rate_minutes() -> int:
    """How often `poll_inventory` runs in AWS (read when app.py is imported, for its schedule)."""
    return max(1, int(os.environ.get("NETWEAVE_POLL_RATE_MINUTES", "1")))


@lru_cache(maxsize=1)
def poll_trigger() -> EventBridgePollTrigger:
    from chalicelib.adapters.poll_trigger import EventBridgePollTrigger

    return EventBridgePollTrigger(_boto3_session().client("events"))


@lru_cache(maxsize=1)
def subscription_store() -> SubscriptionStore:
    from chalicelib.adapters.store.subscription_store import SubscriptionStore

    return SubscriptionStore(dynamodb_client(), get_settings().table_name(resources.SUBSCRIPTIONS))


@lru_cache(maxsize=1)
def delivery_log() -> DeliveryLog:
    from chalicelib.adapters.store.delivery_log import DeliveryLog

    return DeliveryLog(dynamodb_client(), get_settings().table_name(resources.DELIVERY_LOG))


@lru_cache(maxsize=1)
def package_store() -> PackageStore:
    from chalicelib.adapters.store.package_store import package_store_from_config

    return package_store_from_config()


@lru_cache(maxsize=1)
def deployment_store() -> DeploymentStore:
    from chalicelib.adapters.store.deployment_store import deployment_store_from_config

    return deployment_store_from_config()


@lru_cache(maxsize=1)
def operation_queue() -> SqsOperationQueue:
    from chalicelib.adapters.queue.events_queue import SqsOperationQueue

    return SqsOperationQueue(sqs(), queue_url(resources.DMS_OPERATIONS.logical_name))


@lru_cache(maxsize=1)
def dms_registry() -> AdapterRegistry:
    from chalicelib.adapters.registry import build_registry

    return build_registry("dms", get_settings().gateway)


@lru_cache(maxsize=1)
def alarm_store() -> AlarmStore:
    from chalicelib.adapters.store.alarm_store import alarm_store_from_config

    return alarm_store_from_config()
