"""The composition root: the one place that knows the concrete stores, queues, clients and backends.

`Components` turns `Settings` into what each entry point needs: the API views (through `chalicelib/api/ports.py`,
which app.py fills from here), the inventory poll, fan-out, delivery, the DMS worker and the deployment poll (the
modules of `chalicelib/handlers/`). Only entry points import this module (docs/architecture.md §8).

Everything is built on first use and kept for the life of the Lambda container; nothing is imported or connected
before a request needs it, so a route pays only for what it uses (cold start, docs/architecture.md §6).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any

from chalicelib import resources
from chalicelib.adapters.aws_clients import AwsClients
from chalicelib.settings import AdapterConfig, OCloudConfig, Settings, settings_from_environment

if TYPE_CHECKING:
    from chalicelib.adapters.aws_probes import Probe
    from chalicelib.adapters.dms.port import DeploymentAdapter
    from chalicelib.adapters.ims.port import InventoryAdapter, InventoryContext
    from chalicelib.adapters.poll_trigger import EventBridgePollTrigger
    from chalicelib.adapters.queue.events_queue import SqsDeliveryQueue, SqsEventPublisher, SqsOperationQueue
    from chalicelib.adapters.registry import AdapterRegistry, Factory
    from chalicelib.adapters.store.alarm_store import AlarmStore
    from chalicelib.adapters.store.asset_index import AssetIndex
    from chalicelib.adapters.store.delivery_log import DeliveryLog
    from chalicelib.adapters.store.deployment_store import DeploymentStore
    from chalicelib.adapters.store.deployment_template_store import DeploymentTemplateStore
    from chalicelib.adapters.store.inventory_store import InventoryStore
    from chalicelib.adapters.store.package_store import PackageStore
    from chalicelib.adapters.store.poll_state import PollState
    from chalicelib.adapters.store.provisioning_store import ProvisioningStore
    from chalicelib.adapters.store.subscription_store import SubscriptionStore
    from chalicelib.adapters.webhooks.outbound import Resolver
    from chalicelib.domain.infrastructure_templates import TemplateRegistry
    from chalicelib.services.alarm_evaluation import AlarmPorts
    from chalicelib.services.delivery import DeliveryPorts
    from chalicelib.services.deployment_poll import PollPorts
    from chalicelib.services.deployment_templates import DeploymentTemplatePorts
    from chalicelib.services.deployments import DeploymentPorts
    from chalicelib.services.dms_results import OperationPorts
    from chalicelib.services.packages import FetchPorts, PackagePorts
    from chalicelib.services.provisioning import ProvisioningPorts
    from chalicelib.services.readiness import CachedReadiness
    from chalicelib.services.server_identity import ServerLinker
    from chalicelib.services.subscriptions import CallbackPorts

# Backend type -> "module:callable", imported when an adapter of that type is first needed. A type appears here
# once its adapter exists; configuring any other type is a configuration error naming the known ones.
IMS_ADAPTER_TYPES: dict[str, str] = {
    "aws": "chalicelib.adapters.ims.aws:AwsInventoryAdapter",
    "dtias": "chalicelib.adapters.ims.dtias:DtiasInventoryAdapter",
    "kubernetes": "chalicelib.adapters.ims.kubernetes:KubernetesInventoryAdapter",
    "redfish": "chalicelib.adapters.ims.redfish:RedfishInventoryAdapter",
}
# The IMS backend types that can create resource pools (Capability.POOL_MANAGEMENT), known without building one, so
# `routing.ims` rules are checked when the registry is built (tests/unit/test_pool_routing.py keeps this true).
IMS_POOL_TYPES = frozenset({"aws", "dtias"})
DMS_ADAPTER_TYPES: dict[str, str] = {
    "helm": "chalicelib.adapters.dms.helm:HelmDeploymentAdapter",
    "argocd": "chalicelib.adapters.dms.argocd:ArgoCDDeploymentAdapter",
    "flux": "chalicelib.adapters.dms.flux:FluxDeploymentAdapter",
}


class Components:
    """The gateway's parts for one settings object. Tests build one per test (moto, kubesim) instead of patching."""

    def __init__(self, settings: Settings, clients: AwsClients | None = None,
                 resolver: Resolver | None = None) -> None:
        self.settings = settings
        self.clients = clients or AwsClients(settings.region, settings.queue_url_prefix)
        self._resolver = resolver  # how outbound hosts are resolved; default: the system resolver (tests: DNS games)

    @property
    def resolver(self) -> Resolver:
        from chalicelib.adapters.webhooks.resolver import resolve

        return self._resolver or resolve

    # --- settings the entry points read ---------------------------------------------------------------------------

    @property
    def o_cloud(self) -> OCloudConfig:
        return self.settings.gateway.o_cloud

    @property
    def o_cloud_id(self) -> str:
        return self.o_cloud.resolved_o_cloud_id()

    @property
    def inventory_context(self) -> InventoryContext:
        from chalicelib.adapters.ims.port import InventoryContext

        return InventoryContext(o_cloud_id=self.o_cloud_id)

    def queue_url(self, queue: resources.Queue, dead_letter: bool = False) -> str:
        return self.clients.queue_url(self.settings.queue_name(queue, dead_letter))

    def secret(self, ssm_parameter: str) -> str:
        return self.clients.ssm_parameter(ssm_parameter)

    # --- stores ------------------------------------------------------------------------------------------------------

    @cached_property
    def inventory_store(self) -> InventoryStore:
        from chalicelib.adapters.store.inventory_store import InventoryStore

        return InventoryStore(self.clients.dynamodb, self.settings.table_name(resources.INVENTORY))

    def poll_state(self, manifest_ids: list[str], backends: list[str]) -> PollState:
        """These manifests and these backends' alarm evaluation stamps, in one read (adapters/store/poll_state.py)."""
        from chalicelib.adapters.store.poll_state import read_poll_state

        return read_poll_state(self.clients.dynamodb, self.settings.table_name(resources.INVENTORY),
                               self.settings.table_name(resources.ALARMS), manifest_ids, backends,
                               self.settings.table_name(resources.PROVISIONING))

    @cached_property
    def asset_index(self) -> AssetIndex:
        """One per container: it keeps the index it last read, for as long as the index's generation says so."""
        from chalicelib.adapters.store.asset_index import AssetIndex

        return AssetIndex(self.clients.dynamodb, self.settings.table_name(resources.INVENTORY))

    def server_linker(self, generation: int | None = None) -> ServerLinker:
        """A new one per poll run: it carries the asset index it read between a backend's link and record.
        `generation`: the index's, as the run began."""
        from chalicelib.services.server_identity import ServerLinker, precedence

        gateway = self.settings.gateway
        ranks = precedence([(a.id, a.type) for a in gateway.ims_adapters], gateway.identity_precedence)
        return ServerLinker(self.asset_index, ranks, generation)

    @cached_property
    def subscription_store(self) -> SubscriptionStore:
        from chalicelib.adapters.store.subscription_store import SubscriptionStore

        return SubscriptionStore(self.clients.dynamodb, self.settings.table_name(resources.SUBSCRIPTIONS))

    @cached_property
    def delivery_log(self) -> DeliveryLog:
        from chalicelib.adapters.store.delivery_log import DeliveryLog

        return DeliveryLog(self.clients.dynamodb, self.settings.table_name(resources.DELIVERY_LOG))

    @cached_property
    def package_store(self) -> PackageStore:
        from chalicelib.adapters.store.package_store import PackageStore

        return PackageStore(self.clients.dynamodb, self.clients.s3, self.settings.table_name(resources.PACKAGES),
                            self.settings.bucket_name(resources.PACKAGES_BUCKET))

    @cached_property
    def deployment_store(self) -> DeploymentStore:
        from chalicelib.adapters.store.deployment_store import DeploymentStore

        return DeploymentStore(self.clients.dynamodb, self.settings.table_name(resources.DEPLOYMENTS))

    @cached_property
    def alarm_store(self) -> AlarmStore:
        from chalicelib.adapters.store.alarm_store import AlarmStore

        return AlarmStore(self.clients.dynamodb, self.settings.table_name(resources.ALARMS))

    @cached_property
    def deployment_template_store(self) -> DeploymentTemplateStore:
        from chalicelib.adapters.store.deployment_template_store import DeploymentTemplateStore

        return DeploymentTemplateStore(self.clients.dynamodb, self.settings.table_name(resources.DEPLOYMENT_TEMPLATES))

    @cached_property
    def provisioning_store(self) -> ProvisioningStore:
        from chalicelib.adapters.store.provisioning_store import ProvisioningStore

        return ProvisioningStore(self.clients.dynamodb, self.settings.table_name(resources.PROVISIONING))

    # --- queues and triggers -----------------------------------------------------------------------------------------

    @cached_property
    def events_publisher(self) -> SqsEventPublisher:
        from chalicelib.adapters.queue.events_queue import SqsEventPublisher

        return SqsEventPublisher(self.clients.sqs, self.queue_url(resources.EVENTS))

    @cached_property
    def delivery_queue(self) -> SqsDeliveryQueue:
        from chalicelib.adapters.queue.events_queue import SqsDeliveryQueue

        return SqsDeliveryQueue(self.clients.sqs, self.queue_url(resources.DELIVERIES))

    @cached_property
    def operation_queue(self) -> SqsOperationQueue:
        from chalicelib.adapters.queue.events_queue import SqsOperationQueue

        return SqsOperationQueue(self.clients.sqs, self.queue_url(resources.DMS_OPERATIONS))

    @cached_property
    def poll_trigger(self) -> EventBridgePollTrigger:
        from chalicelib.adapters.poll_trigger import EventBridgePollTrigger

        return EventBridgePollTrigger(self.clients.events)

    # --- backends ----------------------------------------------------------------------------------------------------

    @cached_property
    def ims_registry(self) -> AdapterRegistry[InventoryAdapter]:
        from chalicelib.adapters.registry import AdapterRegistry

        gateway = self.settings.gateway
        return AdapterRegistry("ims", gateway.ims_adapters, self._ims_factories(), pool_routing=gateway.ims_routing,
                               pool_types=IMS_POOL_TYPES)

    @cached_property
    def infrastructure_templates(self) -> TemplateRegistry:
        """The shipped templates and `provisioningTemplates`, each bound to a pool-managing IMS backend."""
        from chalicelib.domain.infrastructure_templates import template_registry

        gateway = self.settings.gateway
        return template_registry([t.model_dump(by_alias=True) for t in gateway.provisioning_templates],
                                 [(a.id, a.type) for a in gateway.ims_adapters if a.type in IMS_POOL_TYPES])

    def _ims_factories(self) -> dict[str, Factory[InventoryAdapter]]:
        """The bare-metal backends get their ports here: the stored snapshot (a cold container's last known servers,
        redfish) and backend passwords from SSM or Secrets Manager (AwsClients, the one place clients are made)."""

        def redfish(config: AdapterConfig) -> InventoryAdapter:
            from chalicelib.adapters.ims.redfish import RedfishInventoryAdapter

            return RedfishInventoryAdapter(config, snapshot=self.inventory_store, secret=self.clients.backend_password)

        def dtias(config: AdapterConfig) -> InventoryAdapter:
            from chalicelib.adapters.ims.dtias import DtiasInventoryAdapter

            return DtiasInventoryAdapter(config, secret=self.clients.backend_password)

        return {**IMS_ADAPTER_TYPES, "redfish": redfish, "dtias": dtias}

    @cached_property
    def dms_registry(self) -> AdapterRegistry[DeploymentAdapter]:
        from chalicelib.adapters.registry import AdapterRegistry

        gateway = self.settings.gateway
        return AdapterRegistry("dms", gateway.dms_adapters, DMS_ADAPTER_TYPES, gateway.routing)

    # --- each use case's ports ---------------------------------------------------------------------------------------

    def alarm_ports(self) -> AlarmPorts:
        from chalicelib.services.alarm_evaluation import AlarmPorts

        return AlarmPorts(self.alarm_store, self.events_publisher, self.o_cloud_id)

    def stored_pool_ids(self, backend: str) -> list[str]:
        """The resource pools a backend's stored snapshot holds (an unreachable bare-metal backend's alarm carriers)."""
        from chalicelib.domain.inventory import ObjectType

        return sorted(key[1] for key in self.inventory_store.stored_entries(backend)
                      if key[0] == ObjectType.RESOURCE_POOL.value)

    def deployment_ports(self) -> DeploymentPorts:
        from chalicelib.domain.inventory import ObjectType
        from chalicelib.services.deployments import DeploymentPorts

        def resource_pool(pool_id: str) -> dict[str, Any] | None:
            stored = self.inventory_store.get(ObjectType.RESOURCE_POOL.value, pool_id)
            return stored.document if stored is not None else None

        def resource_pools() -> Iterator[dict[str, Any]]:  # a template's pool filter is matched against them all
            start: dict[str, Any] | None = None
            while True:
                page, start = self.inventory_store.page(ObjectType.RESOURCE_POOL.value, 100, start)
                yield from (stored.document for stored in page)
                if not start:
                    return

        return DeploymentPorts(self.deployment_store, self.package_store, self.dms_registry, self.operation_queue,
                               resource_pool, self.settings.gateway.namespace_policies(),
                               templates=self.deployment_template_store, resource_pools=resource_pools)

    def provisioning_ports(self) -> ProvisioningPorts:
        from chalicelib.services.provisioning import ProvisioningPorts
        from chalicelib.services.resource_pools import PoolLimits

        limits = self.settings.limits
        return ProvisioningPorts(self.provisioning_store, self.infrastructure_templates, self.ims_registry,
                                 self.inventory_context, self.inventory_store, self.poll_trigger,
                                 PoolLimits(limits.pool_max_replicas, frozenset(limits.pool_instance_types)),
                                 limits.max_provisioning_requests_per_client)

    def package_ports(self) -> PackagePorts:
        from chalicelib.services.deployments import DeploymentUsage
        from chalicelib.services.packages import PackagePorts

        return PackagePorts(self.package_store, DeploymentUsage(self.deployment_store),
                            publish_index=self.settings.gateway.publishes_chart_index,
                            repository_policy=self.settings.callbacks.repository_policy(), resolve=self.resolver,
                            publisher=self.events_publisher,
                            shared_catalogue=not self.settings.tenancy.packages_per_tenant)

    def deployment_template_ports(self) -> DeploymentTemplatePorts:
        from chalicelib.services.deployment_templates import DeploymentTemplatePorts

        return DeploymentTemplatePorts(self.deployment_template_store, self.deployment_store, self.package_store,
                                       frozenset(self.dms_registry.ids), publisher=self.events_publisher,
                                       shared_catalogue=not self.settings.tenancy.packages_per_tenant,
                                       max_per_tenant=self.settings.limits.max_deployment_templates_per_client)

    def fetch_ports(self) -> FetchPorts:
        from chalicelib.adapters.webhooks.archive_fetch import ArchiveFetcher
        from chalicelib.adapters.webhooks.outbound import Outbound
        from chalicelib.services.packages import FetchPorts

        # Package URLs obey the same address policy and outbound mechanism as callbacks: one operator setting
        # admits private networks; the connection goes to the checked address.
        callbacks = self.settings.callbacks
        return FetchPorts(ArchiveFetcher(Outbound(callbacks.policy(), callbacks.fetch_timeout_seconds,
                                                  self.resolver)))

    def callback_ports(self) -> CallbackPorts:
        from chalicelib.services import subscriptions

        callbacks = self.settings.callbacks
        probe = None
        if callbacks.probe:
            from chalicelib.adapters.webhooks.outbound import Outbound
            from chalicelib.adapters.webhooks.probe import PROBE_TIMEOUT_SECONDS, CallbackProbe

            probe = CallbackProbe(Outbound(callbacks.policy(), PROBE_TIMEOUT_SECONDS, self.resolver))
        return subscriptions.CallbackPorts(callbacks.policy(), self.resolver, probe)

    def operation_ports(self) -> OperationPorts:
        from chalicelib.services.dms_results import OperationPorts

        return OperationPorts(self.deployment_store, self.package_store, self.dms_registry, self.events_publisher)

    def deployment_poll_ports(self) -> PollPorts:
        from chalicelib.services.deployment_poll import PollPorts

        return PollPorts(self.deployment_store, self.dms_registry, self.events_publisher, self.operation_queue)

    @cached_property
    def delivery_ports(self) -> DeliveryPorts:
        """Built once per container, so the OAuth2 token and the HTTP connections are reused across batches."""
        from chalicelib.adapters.webhooks.oauth import ClientCredentialsTokens
        from chalicelib.adapters.webhooks.sender import WebhookSender
        from chalicelib.services.delivery import DeliveryPorts, RetryPolicy

        delivery = self.settings.delivery
        tokens = None
        if delivery.smo_token_url and delivery.smo_client_id:
            tokens = ClientCredentialsTokens(delivery.smo_token_url, delivery.smo_client_id, self._smo_client_secret,
                                             delivery.smo_scope, self.settings.callbacks.policy(),
                                             timeout_seconds=delivery.timeout_seconds, resolver=self.resolver)
            if not delivery.token_hosts():
                from chalicelib.observability import logger

                logger.warning("NETWEAVE_SMO_TOKEN_URL is set but NETWEAVE_SMO_TOKEN_HOSTS is empty: the SMO bearer "
                               "token is sent to no callback; list the SMO's callback host names there")
        return DeliveryPorts(
            store=self.subscription_store,
            sender=WebhookSender(self.settings.callbacks.policy(), delivery.timeout_seconds, tokens, self.resolver,
                                 token_hosts=delivery.token_hosts()),
            sqs=self.clients.sqs,
            queue_url=self.queue_url(resources.DELIVERIES),
            dead_letter_url=self.queue_url(resources.DELIVERIES, dead_letter=True),
            log=self.delivery_log,
            policy=RetryPolicy(first_delay_seconds=delivery.first_retry_delay_seconds,
                               horizon_seconds=float(delivery.retry_horizon_seconds)),
            min_remaining_ms=int((2 * delivery.timeout_seconds + 5) * 1000),
        )

    def _smo_client_secret(self) -> str:
        delivery = self.settings.delivery
        if delivery.smo_client_secret_ssm_parameter:
            return self.secret(delivery.smo_client_secret_ssm_parameter)
        return delivery.smo_client_secret or ""

    def readiness_probes(self) -> list[Probe]:
        from chalicelib.adapters.aws_probes import aws_probes
        from chalicelib.services.readiness import inventory_snapshot_probe

        backends = [adapter.id for adapter in self.settings.gateway.ims_adapters]
        return [*aws_probes(self.clients, self.settings), inventory_snapshot_probe(self.inventory_store, backends)]

    @cached_property
    def readiness_cache(self) -> CachedReadiness:
        """One per container, so probes within `limits.ready_cache_seconds` share one round of AWS calls."""
        from chalicelib.services.readiness import CachedReadiness

        return CachedReadiness(self.readiness_probes, self.settings.limits.ready_cache_seconds)


@lru_cache(maxsize=1)
def components() -> Components:
    """This container's components, from its environment (Lambda sets it once per function)."""
    return Components(settings_from_environment())
