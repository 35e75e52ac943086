"""Settings: the pydantic models of netweave's configuration, read from the environment and `config/gateway.yaml`.

The one place either is read. Imports nothing from adapters or services (docs/architecture.md §8): the composition
root (`chalicelib/bootstrap.py`) turns settings into clients, stores and adapters.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from chalicelib import resources
from chalicelib.domain.errors import ConfigurationError
from chalicelib.domain.namespace_policy import NamespacePolicy, protected_for
from chalicelib.domain.sites import ConfiguredLocation, ConfiguredSite

if TYPE_CHECKING:
    from chalicelib.domain.callback_policy import CallbackPolicy
    from chalicelib.domain.repository_policy import RepositoryPolicy

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


class NamespaceRules(_ConfigModel):
    """`namespaces` of a DMS adapter: where it may deploy (chalicelib/domain/namespace_policy.py)."""

    allow: list[str] = Field(default_factory=lambda: ["*"])
    deny: list[str] = Field(default_factory=list)
    allow_protected: list[str] = Field(default_factory=list, alias="allowProtected")


class AdapterConfig(_ConfigModel):
    id: str = Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9-]*$")
    type: str = Field(min_length=1)
    default: bool = False
    options: dict[str, Any] = Field(default_factory=dict)
    namespaces: NamespaceRules = Field(default_factory=NamespaceRules)  # DMS adapters only


# the options of the GitOps backends that name their controllers' namespaces (argocd: `namespace`, flux:
# `sourceNamespace`); a helm backend's options never name one
_CONTROLLER_NAMESPACE_OPTIONS = ("namespace", "sourceNamespace")


class RoutingRule(_ConfigModel):
    adapter: str
    namespace: str | None = None
    namespace_prefix: str | None = Field(default=None, alias="namespacePrefix")
    labels: dict[str, str] = Field(default_factory=dict)
    deployment_type: str | None = Field(default=None, alias="deploymentType")
    package_type: Literal["helm", "helm-repo", "git"] | None = Field(default=None, alias="packageType")


class PoolRoutingRule(_ConfigModel):
    """A `routing.ims` rule: which IMS backend creates a resource pool (docs/architecture.md §3, "IMS routing").
    Every condition given must hold: `location` equal, `locationPrefix` a prefix of the request's location, each
    `extensions` key equal to the request's value."""

    adapter: str
    location: str | None = None
    location_prefix: str | None = Field(default=None, alias="locationPrefix")
    extensions: dict[str, Any] = Field(default_factory=dict)


class ProvisioningTemplateConfig(_ConfigModel):
    """An operator's infrastructure template (`provisioningTemplates`, docs/provisioning.md "Templates"); checked
    with the shipped ones when the template registry is built (chalicelib/domain/infrastructure_templates.py)."""

    name: str = Field(min_length=1, max_length=63, pattern=r"^[a-z0-9][a-z0-9-]*$")
    version: str = Field(min_length=1, max_length=32, pattern=r"^[0-9A-Za-z][0-9A-Za-z.+-]*$")
    description: str = ""
    kind: Literal["eks-nodegroup", "dtias-resource-group"]
    backend: str | None = None  # an IMS adapter id; default: the first backend of the kind's type
    parameter_schema: dict[str, Any] = Field(alias="parameterSchema")
    defaults: dict[str, Any] = Field(default_factory=dict)
    characteristics: dict[str, Any] = Field(default_factory=dict)
    extensions: dict[str, Any] = Field(default_factory=dict)


class GatewayConfig(_ConfigModel):
    o_cloud: OCloudConfig = Field(default_factory=OCloudConfig, alias="oCloud")
    ims_adapters: list[AdapterConfig] = Field(default_factory=list, alias="imsAdapters")
    dms_adapters: list[AdapterConfig] = Field(default_factory=list, alias="dmsAdapters")
    routing: list[RoutingRule] = Field(default_factory=list)  # the DMS rules
    ims_routing: list[PoolRoutingRule] = Field(default_factory=list, alias="imsRouting")  # from `routing.ims`
    # What no backend knows: the operator's names, addresses and coordinates (docs/o2-conventions.md "Locations").
    locations: list[ConfiguredLocation] = Field(default_factory=list)
    sites: list[ConfiguredSite] = Field(default_factory=list)
    # Which backend's view of a server seen by several is listed (docs/o2-conventions.md §10): these ids first, then
    # the others by type (kubernetes, aws, dtias, redfish).
    identity_precedence: list[str] = Field(default_factory=list, alias="identityPrecedence")
    provisioning_templates: list[ProvisioningTemplateConfig] = Field(default_factory=list,
                                                                     alias="provisioningTemplates")

    @model_validator(mode="before")
    @classmethod
    def _split_routing(cls, value: Any) -> Any:
        """`routing: {dms: [rules], ims: [rules]}` (docs/architecture.md §3), or a bare list of DMS rules."""
        if not isinstance(value, dict) or not isinstance(value.get("routing"), dict):
            return value
        routing = value["routing"]
        unknown = set(routing) - {"dms", "ims"}
        if unknown:
            raise ValueError(f"routing: only 'dms' and 'ims' rules exist, not {', '.join(sorted(unknown))}")
        return {**value, "routing": routing.get("dms") or [], "imsRouting": routing.get("ims") or []}

    @field_validator("ims_adapters")
    @classmethod
    def _no_namespace_rules(cls, value: list[AdapterConfig]) -> list[AdapterConfig]:
        for adapter in value:
            if "namespaces" in adapter.model_fields_set:
                raise ValueError(f"imsAdapters '{adapter.id}': namespaces apply to DMS backends only")
        return value

    @field_validator("locations")
    @classmethod
    def _one_entry_per_location(cls, value: list[ConfiguredLocation]) -> list[ConfiguredLocation]:
        ids = [location.global_location_id for location in value]
        if len(ids) != len(set(ids)):
            raise ValueError("locations: each globalLocationId may be described once")
        return value

    def namespace_policies(self) -> dict[str, NamespacePolicy]:
        """Each DMS backend's namespace policy; every backend protects every GitOps controller's namespace."""
        controllers = [str(adapter.options[key]) for adapter in self.dms_adapters
                       for key in _CONTROLLER_NAMESPACE_OPTIONS if adapter.options.get(key)]
        protected = protected_for(controllers)
        return {adapter.id: NamespacePolicy(adapter.id, tuple(adapter.namespaces.allow),
                                            tuple(adapter.namespaces.deny), protected,
                                            frozenset(adapter.namespaces.allow_protected))
                for adapter in self.dms_adapters}

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
    tenant_claim: str = Field(default="sub", min_length=1)  # the token claim naming the caller's tenant


class TenancySettings(_ConfigModel):
    """Who owns what (docs/o2-conventions.md §6, "Tenancy")."""

    default_tenant: str | None = None  # owner of records stored before tenancy; None: no one (admins only)
    packages_per_tenant: bool = False  # False: packages are a catalogue shared by every tenant


class CallbackSettings(_ConfigModel):
    allow_http: bool = False
    allowed_networks: str = ""  # comma-separated CIDRs of private SMO networks
    allowed_hosts: str = ""  # comma-separated host names
    http_networks: str = ""  # comma-separated CIDRs: if set, plain http only to these
    egress_networks: str = ""  # comma-separated CIDRs: if set, the only networks any outbound request may reach
    probe: bool = False  # GET the callback at creation, expecting 2xx
    fetch_timeout_seconds: float = 30.0  # overall deadline of one packageUrl download
    repository_allowed_hosts: str = ""  # comma-separated in-cluster repository hosts ("*.svc.cluster.local" too)
    repository_allowed_networks: str = ""  # comma-separated CIDRs of internal repository addresses

    def policy(self) -> CallbackPolicy:
        from chalicelib.domain.callback_policy import CallbackPolicy, parse_networks

        hosts = frozenset(h.strip().lower() for h in self.allowed_hosts.split(",") if h.strip())
        return CallbackPolicy(self.allow_http, parse_networks(self.allowed_networks), hosts,
                              parse_networks(self.http_networks), parse_networks(self.egress_networks))

    def repository_policy(self) -> RepositoryPolicy:
        from chalicelib.domain.callback_policy import parse_networks
        from chalicelib.domain.repository_policy import RepositoryPolicy

        hosts = frozenset(h.strip().lower() for h in self.repository_allowed_hosts.split(",") if h.strip())
        return RepositoryPolicy(hosts, parse_networks(self.repository_allowed_networks))


class DeliverySettings(_ConfigModel):
    retry_horizon_seconds: int = 24 * 3600
    first_retry_delay_seconds: float = 5.0  # backoff doubles from here (with full jitter) up to 15 minutes
    timeout_seconds: float = 10.0
    smo_token_url: str | None = None  # OAuth2 client-credentials towards the SMO
    smo_client_id: str | None = None
    smo_client_secret_ssm_parameter: str | None = None
    smo_client_secret: str | None = None  # local use only; production reads it from SSM
    smo_scope: str | None = None
    smo_token_hosts: str = ""  # comma-separated callback host names that get the SMO bearer token; empty: none

    def token_hosts(self) -> frozenset[str]:
        return frozenset(h.strip().lower().strip("[]") for h in self.smo_token_hosts.split(",") if h.strip())

    registration_url: str | None = None  # where the O-Cloud announces itself (docs/o2-conventions.md §4)
    public_url: str | None = None  # this gateway's {apiRoot} as SMOs reach it (announced as IMS_EP)


class LimitSettings(_ConfigModel):
    """Bounds on what one client can make the gateway hold or spend (docs/security.md, "Limits and disclosure")."""

    ready_cache_seconds: float = Field(default=5.0, ge=0)  # a container answers /ready from one probe this long
    max_subscriptions_per_client: int = Field(default=100, ge=1)  # per tenant, all kinds together
    pool_max_replicas: int = Field(default=50, ge=1)  # nodes a created or resized pool may ask for
    pool_instance_types: tuple[str, ...] = ()  # instance types a created pool may use; empty: any the backend knows
    max_provisioning_requests_per_client: int = Field(default=20, ge=1)  # per tenant, until deleted
    max_deployment_templates_per_client: int = Field(default=50, ge=1)  # per tenant, until deleted


class Settings(_ConfigModel):
    stage: str = "dev"
    region: str = "us-east-1"
    gateway: GatewayConfig
    auth: AuthSettings
    packages_bucket: str | None = None
    callbacks: CallbackSettings = Field(default_factory=CallbackSettings)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    tenancy: TenancySettings = Field(default_factory=TenancySettings)
    marker_secret: str | None = Field(default=None, repr=False)  # NETWEAVE_MARKER_SECRET
    marker_secret_ssm_parameter: str | None = None  # NETWEAVE_MARKER_SECRET_SSM_PARAMETER (the infra stack's)
    queue_url_prefix: str | None = None  # NETWEAVE_QUEUE_URL_PREFIX (infra/stack_outputs.py): no GetQueueUrl needed

    def marker_key(self, read_secret: Callable[[str], str]) -> bytes:
        """The HMAC key of paging markers (docs/o2-conventions.md §3): NETWEAVE_MARKER_SECRET, else the value of its
        SSM parameter (the infra stack's generated secret, read with `read_secret`), else derived from the auth
        shared secret (its value, or its SSM parameter's), else from the stage and O-Cloud id. Those last are not
        secret, so that fallback only makes forging a marker harder: a deployed stage has the stack's secret."""
        if self.marker_secret:
            return self.marker_secret.encode()
        if self.marker_secret_ssm_parameter:
            return read_secret(self.marker_secret_ssm_parameter).encode()
        # Derived, never the auth secret itself: one key, one purpose.
        if self.auth.shared_secret:
            basis = f"auth\n{self.auth.shared_secret}"
        elif self.auth.shared_secret_ssm_parameter:
            basis = f"auth\n{read_secret(self.auth.shared_secret_ssm_parameter)}"
        else:
            basis = f"identity\n{self.stage}\n{self.gateway.o_cloud.resolved_o_cloud_id()}"
        return hashlib.sha256(f"netweave paging markers\n{basis}".encode()).digest()

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
    candidates = [path] if path else [p for p in _DEFAULT_GATEWAY_PATHS if p.exists()]
    if not candidates:
        return GatewayConfig()
    # Read once per container, on the first request that needs settings, and only if there is a file: a function
    # configured by its environment alone (no chalicelib/gateway.yaml in its package) pays no yaml import.
    import yaml

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
        tenant_claim=env.get("NETWEAVE_TENANT_CLAIM") or "sub",
    )


def _tenancy_settings(env: dict[str, str]) -> TenancySettings:
    return TenancySettings(default_tenant=env.get("NETWEAVE_DEFAULT_TENANT") or None,
                           packages_per_tenant=_flag(env.get("NETWEAVE_PACKAGES_PER_TENANT")))


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def _callback_settings(env: dict[str, str]) -> CallbackSettings:
    return CallbackSettings(
        allow_http=_flag(env.get("NETWEAVE_CALLBACK_ALLOW_HTTP")),
        allowed_networks=env.get("NETWEAVE_CALLBACK_ALLOWED_NETWORKS", ""),
        allowed_hosts=env.get("NETWEAVE_CALLBACK_ALLOWED_HOSTS", ""),
        http_networks=env.get("NETWEAVE_CALLBACK_HTTP_NETWORKS", ""),
        egress_networks=env.get("NETWEAVE_EGRESS_NETWORKS", ""),
        probe=_flag(env.get("NETWEAVE_CALLBACK_PROBE")),
        fetch_timeout_seconds=float(env.get("NETWEAVE_PACKAGE_FETCH_TIMEOUT_SECONDS", "30")),
        repository_allowed_hosts=env.get("NETWEAVE_REPOSITORY_ALLOWED_HOSTS", ""),
        repository_allowed_networks=env.get("NETWEAVE_REPOSITORY_ALLOWED_NETWORKS", ""),
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
        smo_token_hosts=env.get("NETWEAVE_SMO_TOKEN_HOSTS", ""),
        registration_url=env.get("NETWEAVE_SMO_REGISTRATION_URL") or None,
        public_url=env.get("NETWEAVE_PUBLIC_URL") or None,
    )


def _limit_settings(env: dict[str, str]) -> LimitSettings:
    return LimitSettings(
        ready_cache_seconds=float(env.get("NETWEAVE_READY_CACHE_SECONDS", "5")),
        max_subscriptions_per_client=int(env.get("NETWEAVE_MAX_SUBSCRIPTIONS_PER_CLIENT", "100")),
        pool_max_replicas=int(env.get("NETWEAVE_POOL_MAX_REPLICAS", "50")),
        max_provisioning_requests_per_client=int(env.get("NETWEAVE_MAX_PROVISIONING_REQUESTS_PER_CLIENT", "20")),
        max_deployment_templates_per_client=int(env.get("NETWEAVE_MAX_DEPLOYMENT_TEMPLATES_PER_CLIENT", "50")),
        pool_instance_types=tuple(t.strip() for t in env.get("NETWEAVE_POOL_INSTANCE_TYPES", "").split(",")
                                  if t.strip()),
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
        limits=_limit_settings(env),
        tenancy=_tenancy_settings(env),
        marker_secret=env.get("NETWEAVE_MARKER_SECRET") or None,
        marker_secret_ssm_parameter=env.get("NETWEAVE_MARKER_SECRET_SSM_PARAMETER") or None,
        queue_url_prefix=env.get("NETWEAVE_QUEUE_URL_PREFIX") or None,
    )


def poll_rate_minutes(env: Mapping[str, str] | None = None) -> int:
    """How often the inventory and deployment polls run in AWS (read when app.py is imported, for its schedules)."""
    return max(1, int((os.environ if env is None else env).get("NETWEAVE_POLL_RATE_MINUTES", "1")))


def queue_name_at_import(queue: resources.Queue) -> str:
    """A queue's name for an event-source decorator in app.py, evaluated when app.py is imported (or packaged:
    `chalice package` must run with the target NETWEAVE_STAGE in its environment)."""
    return resources.queue_name(os.environ.get("NETWEAVE_STAGE", "dev"), queue)
