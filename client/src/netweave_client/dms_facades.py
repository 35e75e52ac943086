"""`client.dms`: the O2dms operations of `dms`, sent blocking (`Dms`) or awaited (`AsyncDms`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Unpack

from netweave_client import dms as calls
from netweave_client._engine import AsyncEngine, AsyncPager, Pager, SyncEngine
from netweave_client._queries import ItemQuery, ListQuery
from netweave_client.dms_templates import AsyncDeploymentTemplates, DeploymentTemplates
from netweave_client.live_models import DeploymentLiveStatus, PodLog, Revision
from netweave_client.models import (
    Deployment,
    DeploymentEventType,
    DeploymentPackage,
    DeploymentSubscriptionInfo,
    DeploymentSubscriptionRequest,
    Operation,
    PackageEventType,
    PackageUrlRequest,
    RollbackRequest,
    ScaleRequest,
    SourcePackageRequest,
    UpdateDeploymentRequest,
)
from netweave_client.template_models import TemplateDeploymentRequest
from netweave_client.waiting import Progress, WaitPlan, operation_done, wait_async, wait_sync

EventTypes = list[DeploymentEventType | PackageEventType] | None


def _subscription(callback: str, filter: str | None, event_types: EventTypes,
                  consumer_subscription_id: str | None) -> DeploymentSubscriptionRequest:
    return DeploymentSubscriptionRequest(callback=callback, filter=filter, event_types=event_types,
                                         consumer_subscription_id=consumer_subscription_id)


class Dms:
    """`client.dms`: blocking. Every change answers at once; `wait()` follows its operation to the end."""

    def __init__(self, engine: SyncEngine) -> None:
        self._e = engine
        self.templates = DeploymentTemplates(engine)

    def upload_package(self, archive: Path | bytes, *, checksum: str | None = None) -> DeploymentPackage:
        return self._e.run(calls.upload(archive, checksum))

    def register_package(self, request: PackageUrlRequest | SourcePackageRequest) -> DeploymentPackage:
        return self._e.run(calls.register(request))

    def packages(self, **q: Unpack[ListQuery]) -> Pager[DeploymentPackage]:
        return Pager(self._e, calls.packages(q))

    def package(self, package_id: str) -> DeploymentPackage:
        return self._e.run(calls.package(package_id))

    def delete_package(self, package_id: str) -> None:
        self._e.run(calls.delete_package(package_id))

    def create_deployment(self, name: str, namespace: str, package_id: str, *, values: dict[str, Any] | None = None,
                          resource_pool_id: str | None = None, timeout_seconds: int | None = None,
                          dms_adapter: str | None = None, deployment_type: str | None = None,
                          labels: dict[str, str] | None = None) -> Deployment:
        """The new deployment (`status: pending`); `wait(deployment)` follows its creation."""
        request = calls.create_request(name, namespace, package_id, values, resource_pool_id, timeout_seconds,
                                       dms_adapter, deployment_type, labels)
        return self._e.run(calls.create(request))

    def deploy_template(self, template_id: str, parameters: dict[str, Any] | None = None) -> Deployment:
        """A deployment made from a template (name, namespace, package and values come from it); parameters its
        schema refuses raise BadRequest, each named in `invalid_params`."""
        request = TemplateDeploymentRequest(deployment_template_id=template_id, parameters=parameters or {})
        return self._e.run(calls.create(request))

    def deployments(self, **q: Unpack[ListQuery]) -> Pager[Deployment]:
        return Pager(self._e, calls.deployments(q))

    def deployment(self, deployment_id: str, **q: Unpack[ItemQuery]) -> Deployment:
        return self._e.run(calls.deployment(deployment_id, q))

    def update_deployment(self, deployment_id: str, *, values: dict[str, Any] | None = None,
                          package_id: str | None = None, timeout_seconds: int | None = None) -> Operation:
        request = UpdateDeploymentRequest(values=values, package_id=package_id, timeout_seconds=timeout_seconds)
        return self._e.run(calls.update(deployment_id, request))

    def scale(self, deployment_id: str, replicas: int, *, timeout_seconds: int | None = None) -> Operation:
        return self._e.run(calls.scale(deployment_id, ScaleRequest(replicas=replicas, timeout_seconds=timeout_seconds)))

    def upgrade(self, deployment_id: str, package_id: str | None = None, *, values: dict[str, Any] | None = None,
                timeout_seconds: int | None = None, template_id: str | None = None,
                parameters: dict[str, Any] | None = None) -> Operation:
        """To another package (and values), or to a template (`template_id`, and `parameters`; without them the
        deployment's own are checked against it)."""
        request = calls.upgrade_request(package_id, values, timeout_seconds, template_id, parameters)
        return self._e.run(calls.upgrade(deployment_id, request))

    def rollback(self, deployment_id: str, revision: int | None = None, *, timeout_seconds: int | None = None
                 ) -> Operation:
        request = RollbackRequest(revision=revision, timeout_seconds=timeout_seconds)
        return self._e.run(calls.rollback(deployment_id, request))

    def delete_deployment(self, deployment_id: str) -> Operation:
        return self._e.run(calls.delete(deployment_id))

    def status(self, deployment_id: str) -> DeploymentLiveStatus:
        return self._e.run(calls.status(deployment_id))

    def logs(self, deployment_id: str, *, container: str | None = None, tail_lines: int | None = None,
             since_seconds: int | None = None) -> list[PodLog]:
        return self._e.run(calls.logs(deployment_id, container, tail_lines, since_seconds))

    def history(self, deployment_id: str) -> list[Revision]:
        return self._e.run(calls.history(deployment_id))

    def operation(self, operation_id: str) -> Operation:
        return self._e.run(calls.operation(operation_id))

    def wait(self, target: Operation | Deployment | str, *, timeout: float = 600, interval: float = 2,
             progress: Progress[Operation] | None = None) -> Operation:
        """Until the operation succeeded (returned) or failed (OperationFailed, carrying its error); WaitTimeout.
        `progress` gets the operation after every poll (its `progress` messages grow)."""
        operation_id = calls.operation_id_of(target)
        return wait_sync(lambda: self.operation(operation_id), operation_done, f"operation {operation_id}",
                         WaitPlan(timeout, interval), progress, self._e.sleep)

    def subscriptions(self, **q: Unpack[ListQuery]) -> Pager[DeploymentSubscriptionInfo]:
        return Pager(self._e, calls.subscriptions(q))

    def subscription(self, subscription_id: str) -> DeploymentSubscriptionInfo:
        return self._e.run(calls.subscription(subscription_id))

    def subscribe(self, callback: str, *, filter: str | None = None, event_types: EventTypes = None,
                  consumer_subscription_id: str | None = None) -> DeploymentSubscriptionInfo:
        request = _subscription(callback, filter, event_types, consumer_subscription_id)
        return self._e.run(calls.subscribe(request))

    def unsubscribe(self, subscription_id: str) -> None:
        self._e.run(calls.unsubscribe(subscription_id))


class AsyncDms:
    """`client.dms` of AsyncClient."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._e = engine
        self.templates = AsyncDeploymentTemplates(engine)

    async def upload_package(self, archive: Path | bytes, *, checksum: str | None = None) -> DeploymentPackage:
        return await self._e.run(calls.upload(archive, checksum))

    async def register_package(self, request: PackageUrlRequest | SourcePackageRequest) -> DeploymentPackage:
        return await self._e.run(calls.register(request))

    def packages(self, **q: Unpack[ListQuery]) -> AsyncPager[DeploymentPackage]:
        return AsyncPager(self._e, calls.packages(q))

    async def package(self, package_id: str) -> DeploymentPackage:
        return await self._e.run(calls.package(package_id))

    async def delete_package(self, package_id: str) -> None:
        await self._e.run(calls.delete_package(package_id))

    async def create_deployment(self, name: str, namespace: str, package_id: str, *,
                                values: dict[str, Any] | None = None, resource_pool_id: str | None = None,
                                timeout_seconds: int | None = None, dms_adapter: str | None = None,
                                deployment_type: str | None = None, labels: dict[str, str] | None = None
                                ) -> Deployment:
        request = calls.create_request(name, namespace, package_id, values, resource_pool_id, timeout_seconds,
                                       dms_adapter, deployment_type, labels)
        return await self._e.run(calls.create(request))

    async def deploy_template(self, template_id: str, parameters: dict[str, Any] | None = None) -> Deployment:
        request = TemplateDeploymentRequest(deployment_template_id=template_id, parameters=parameters or {})
        return await self._e.run(calls.create(request))

    def deployments(self, **q: Unpack[ListQuery]) -> AsyncPager[Deployment]:
        return AsyncPager(self._e, calls.deployments(q))

    async def deployment(self, deployment_id: str, **q: Unpack[ItemQuery]) -> Deployment:
        return await self._e.run(calls.deployment(deployment_id, q))

    async def update_deployment(self, deployment_id: str, *, values: dict[str, Any] | None = None,
                                package_id: str | None = None, timeout_seconds: int | None = None) -> Operation:
        request = UpdateDeploymentRequest(values=values, package_id=package_id, timeout_seconds=timeout_seconds)
        return await self._e.run(calls.update(deployment_id, request))

    async def scale(self, deployment_id: str, replicas: int, *, timeout_seconds: int | None = None) -> Operation:
        request = ScaleRequest(replicas=replicas, timeout_seconds=timeout_seconds)
        return await self._e.run(calls.scale(deployment_id, request))

    async def upgrade(self, deployment_id: str, package_id: str | None = None, *,
                      values: dict[str, Any] | None = None, timeout_seconds: int | None = None,
                      template_id: str | None = None, parameters: dict[str, Any] | None = None) -> Operation:
        request = calls.upgrade_request(package_id, values, timeout_seconds, template_id, parameters)
        return await self._e.run(calls.upgrade(deployment_id, request))

    async def rollback(self, deployment_id: str, revision: int | None = None, *,
                       timeout_seconds: int | None = None) -> Operation:
        request = RollbackRequest(revision=revision, timeout_seconds=timeout_seconds)
        return await self._e.run(calls.rollback(deployment_id, request))

    async def delete_deployment(self, deployment_id: str) -> Operation:
        return await self._e.run(calls.delete(deployment_id))

    async def status(self, deployment_id: str) -> DeploymentLiveStatus:
        return await self._e.run(calls.status(deployment_id))

    async def logs(self, deployment_id: str, *, container: str | None = None, tail_lines: int | None = None,
                   since_seconds: int | None = None) -> list[PodLog]:
        return await self._e.run(calls.logs(deployment_id, container, tail_lines, since_seconds))

    async def history(self, deployment_id: str) -> list[Revision]:
        return await self._e.run(calls.history(deployment_id))

    async def operation(self, operation_id: str) -> Operation:
        return await self._e.run(calls.operation(operation_id))

    async def wait(self, target: Operation | Deployment | str, *, timeout: float = 600, interval: float = 2,
                   progress: Progress[Operation] | None = None) -> Operation:
        operation_id = calls.operation_id_of(target)
        return await wait_async(lambda: self.operation(operation_id), operation_done, f"operation {operation_id}",
                                WaitPlan(timeout, interval), progress, self._e.sleep)

    def subscriptions(self, **q: Unpack[ListQuery]) -> AsyncPager[DeploymentSubscriptionInfo]:
        return AsyncPager(self._e, calls.subscriptions(q))

    async def subscription(self, subscription_id: str) -> DeploymentSubscriptionInfo:
        return await self._e.run(calls.subscription(subscription_id))

    async def subscribe(self, callback: str, *, filter: str | None = None, event_types: EventTypes = None,
                        consumer_subscription_id: str | None = None) -> DeploymentSubscriptionInfo:
        request = _subscription(callback, filter, event_types, consumer_subscription_id)
        return await self._e.run(calls.subscribe(request))

    async def unsubscribe(self, subscription_id: str) -> None:
        await self._e.run(calls.unsubscribe(subscription_id))
