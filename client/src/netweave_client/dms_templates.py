"""`client.dms.templates`: O2dms deployment templates (`/o2dms/v1/deploymentTemplates`), each call described once
(`_Calls`) and sent blocking (`DeploymentTemplates`) or awaited (`AsyncDeploymentTemplates`). Deploying from a
template is `client.dms.deploy_template`; upgrading to one, `client.dms.upgrade(..., template_id=...)`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Unpack
from urllib.parse import quote

from netweave_client import _core as c
from netweave_client._core import Call
from netweave_client._engine import AsyncEngine, AsyncPager, Pager, SyncEngine
from netweave_client._queries import ItemQuery, ListQuery, params
from netweave_client.template_models import DeploymentTemplate, DeploymentTemplateData

ROOT = "/o2dms/v1/deploymentTemplates"
TemplateBody = DeploymentTemplateData | Mapping[str, Any]


def _item(template_id: str) -> str:
    return f"{ROOT}/{quote(template_id, safe='')}"


def template_data(template: TemplateBody) -> DeploymentTemplateData:
    """A template as given: the model, or its wire form (a parsed template.yaml)."""
    if isinstance(template, DeploymentTemplateData):
        return template
    return DeploymentTemplateData.model_validate(dict(template))


class _Calls:
    @staticmethod
    def templates(q: ListQuery) -> Call[list[DeploymentTemplate]]:
        return Call("GET", ROOT, c.model_list(DeploymentTemplate), params(q))

    @staticmethod
    def template(template_id: str, q: ItemQuery) -> Call[DeploymentTemplate]:
        return Call("GET", _item(template_id), c.model(DeploymentTemplate), params(q))

    @staticmethod
    def create(template: TemplateBody) -> Call[DeploymentTemplate]:
        return Call("POST", ROOT, c.model(DeploymentTemplate), json=c.body(template_data(template)))

    @staticmethod
    def replace(template_id: str, template: TemplateBody) -> Call[DeploymentTemplate]:
        return Call("PUT", _item(template_id), c.model(DeploymentTemplate), json=c.body(template_data(template)))

    @staticmethod
    def delete(template_id: str) -> Call[None]:
        return Call("DELETE", _item(template_id), c.nothing)


class DeploymentTemplates:
    """`client.dms.templates`: blocking."""

    def __init__(self, engine: SyncEngine) -> None:
        self._e = engine

    def get(self, template_id: str, **q: Unpack[ItemQuery]) -> DeploymentTemplate:
        return self._e.run(_Calls.template(template_id, q))

    def create(self, template: TemplateBody) -> DeploymentTemplate:
        """The stored template (201). A schema or package reference the gateway refuses raises BadRequest."""
        return self._e.run(_Calls.create(template))

    def replace(self, template_id: str, template: TemplateBody) -> DeploymentTemplate:
        return self._e.run(_Calls.replace(template_id, template))

    def delete(self, template_id: str) -> None:
        self._e.run(_Calls.delete(template_id))

    def list(self, **q: Unpack[ListQuery]) -> Pager[DeploymentTemplate]:
        return Pager(self._e, _Calls.templates(q))


class AsyncDeploymentTemplates:
    """`client.dms.templates` of AsyncClient."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._e = engine

    async def get(self, template_id: str, **q: Unpack[ItemQuery]) -> DeploymentTemplate:
        return await self._e.run(_Calls.template(template_id, q))

    async def create(self, template: TemplateBody) -> DeploymentTemplate:
        return await self._e.run(_Calls.create(template))

    async def replace(self, template_id: str, template: TemplateBody) -> DeploymentTemplate:
        return await self._e.run(_Calls.replace(template_id, template))

    async def delete(self, template_id: str) -> None:
        await self._e.run(_Calls.delete(template_id))

    def list(self, **q: Unpack[ListQuery]) -> AsyncPager[DeploymentTemplate]:
        return AsyncPager(self._e, _Calls.templates(q))
