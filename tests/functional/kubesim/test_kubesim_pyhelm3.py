"""pyhelm3 (driving the same helm binary) against kubesim: install_or_upgrade_release and history."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pyhelm3

from tests.functional.kubesim.kubesim_helpers import Run


def test_install_upgrade_and_history(helm_bin: Path, kubeconfig: Path, chart: Path, namespace: str,
                                     tool_env: dict[str, str], helm: Run) -> None:
    async def scenario() -> list[int]:
        helm_client = pyhelm3.Client(executable=str(helm_bin), kubeconfig=kubeconfig)
        loaded = await helm_client.get_chart(chart)
        first = await helm_client.install_or_upgrade_release("py", loaded, {"replicaCount": 1},
                                                             namespace=namespace, wait=True, timeout="30s")
        assert first.revision == 1 and first.status.value == "deployed"
        second = await helm_client.install_or_upgrade_release("py", loaded, {"replicaCount": 2},
                                                              namespace=namespace, wait=True, timeout="30s")
        assert second.revision == 2
        return [r.revision for r in await second.release.history()]

    assert asyncio.run(scenario()) == [1, 2]
    assert "replicaCount: 2" in helm("get", "values", "py", "-n", namespace).stdout
