"""Keep the Helm repository index of the stored chart archives current (`domain/chart_index.py`), for GitOps backends
configured with `chartRepositoryUrl`.

Written after every archive upload or delete, from the whole package table rather than patched: concurrent writers
would otherwise lose each other's entries. A writer re-reads the table after writing and writes again if it changed
meanwhile, so the last index written always matches the table as some writer last saw it. Publishing is best effort
in the API (the package exists either way); the worker makes sure a package is listed before a GitOps backend is
asked to fetch it.
"""

from __future__ import annotations

from typing import Protocol

from chalicelib.domain.chart_index import chart_index, listed
from chalicelib.domain.events import utc_now_iso
from chalicelib.domain.packages import DeploymentPackage
from chalicelib.observability import logger

ATTEMPTS = 5


class ChartIndexStore(Protocol):
    def all_packages(self) -> list[DeploymentPackage]: ...

    def put_index(self, text: str) -> None: ...

    def read_index(self) -> str | None: ...


def publish_chart_index(store: ChartIndexStore) -> bool:
    """Write the index of every archive package; False if the table kept changing under it (a later write fixes
    that)."""
    packages = store.all_packages()
    for _ in range(ATTEMPTS):
        store.put_index(chart_index(packages, utc_now_iso()))
        again = store.all_packages()
        if _archives(again) == _archives(packages):
            return True
        packages = again
    return False


def publish_quietly(store: ChartIndexStore) -> None:
    try:
        publish_chart_index(store)
    except Exception:  # the package is stored; the next publish (or the worker) brings the index up to date
        logger.exception("publishing the chart index failed")


def ensure_published(store: ChartIndexStore, package: DeploymentPackage) -> None:
    """Before a GitOps backend fetches `package` from the repository: publish unless the index lists it."""
    if package.version not in listed(store.read_index()).get(package.name, set()):
        publish_chart_index(store)


def _archives(packages: list[DeploymentPackage]) -> list[str]:
    return sorted(p.package_id for p in packages if p.package_type.has_archive)
