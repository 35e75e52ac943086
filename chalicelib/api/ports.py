"""The ports the API views use, installed by app.py from the composition root (`chalicelib/bootstrap.py`).

Views never import the composition root: they call `ports()` and get what app.py installed, so a test can hand
the API components of its own (its stage's tables, its kubesim cluster) without touching the environment.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from chalicelib import resources
    from chalicelib.adapters.aws_clients import AwsClients
    from chalicelib.adapters.dms.port import DeploymentAdapter
    from chalicelib.adapters.ims.port import InventoryAdapter, InventoryContext
    from chalicelib.adapters.poll_trigger import EventBridgePollTrigger
    from chalicelib.adapters.queue.events_queue import SqsEventPublisher
    from chalicelib.adapters.registry import AdapterRegistry
    from chalicelib.adapters.store.alarm_store import AlarmStore
    from chalicelib.adapters.store.delivery_log import DeliveryLog
    from chalicelib.adapters.store.deployment_store import DeploymentStore
    from chalicelib.adapters.store.deployment_template_store import DeploymentTemplateStore
    from chalicelib.adapters.store.inventory_store import InventoryStore
    from chalicelib.adapters.store.package_store import PackageStore
    from chalicelib.adapters.store.provisioning_store import ProvisioningStore
    from chalicelib.adapters.store.subscription_store import SubscriptionStore
    from chalicelib.domain.infrastructure_templates import TemplateRegistry
    from chalicelib.services.alarm_evaluation import AlarmPorts
    from chalicelib.services.deployment_templates import DeploymentTemplatePorts
    from chalicelib.services.deployments import DeploymentPorts
    from chalicelib.services.packages import FetchPorts, PackagePorts
    from chalicelib.services.provisioning import ProvisioningPorts
    from chalicelib.services.readiness import CachedReadiness
    from chalicelib.services.subscriptions import CallbackPorts
    from chalicelib.settings import OCloudConfig, Settings


class ApiPorts(Protocol):
    settings: Settings
    clients: AwsClients

    @property
    def o_cloud(self) -> OCloudConfig: ...
    @property
    def inventory_context(self) -> InventoryContext: ...
    @property
    def inventory_store(self) -> InventoryStore: ...
    @property
    def subscription_store(self) -> SubscriptionStore: ...
    @property
    def delivery_log(self) -> DeliveryLog: ...
    @property
    def package_store(self) -> PackageStore: ...
    @property
    def deployment_store(self) -> DeploymentStore: ...
    @property
    def alarm_store(self) -> AlarmStore: ...
    @property
    def provisioning_store(self) -> ProvisioningStore: ...
    @property
    def deployment_template_store(self) -> DeploymentTemplateStore: ...
    @property
    def events_publisher(self) -> SqsEventPublisher: ...
    @property
    def poll_trigger(self) -> EventBridgePollTrigger: ...
    @property
    def ims_registry(self) -> AdapterRegistry[InventoryAdapter]: ...
    @property
    def dms_registry(self) -> AdapterRegistry[DeploymentAdapter]: ...
    @property
    def readiness_cache(self) -> CachedReadiness: ...
    @property
    def infrastructure_templates(self) -> TemplateRegistry: ...

    def queue_url(self, queue: resources.Queue, dead_letter: bool = False) -> str: ...
    def secret(self, ssm_parameter: str) -> str: ...
    def alarm_ports(self) -> AlarmPorts: ...
    def deployment_ports(self) -> DeploymentPorts: ...
    def package_ports(self) -> PackagePorts: ...
    def deployment_template_ports(self) -> DeploymentTemplatePorts: ...
    def provisioning_ports(self) -> ProvisioningPorts: ...
    def fetch_ports(self) -> FetchPorts: ...
    def callback_ports(self) -> CallbackPorts: ...


_provider: Callable[[], ApiPorts] | None = None


def install(provider: Callable[[], ApiPorts]) -> Callable[[], ApiPorts]:
    """Make `provider` the source of every view's ports (app.py: the composition root's); returns the one it
    replaces, so a test can put it back."""
    global _provider
    previous, _provider = _provider, provider
    return previous or _not_installed


def ports() -> ApiPorts:
    return (_provider or _not_installed)()


def _not_installed() -> ApiPorts:
    raise RuntimeError("no API ports installed: app.py installs the composition root's")
