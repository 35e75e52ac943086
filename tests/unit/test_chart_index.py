"""The published Helm repository index of uploaded archives: what it lists, and that concurrent uploads and deletes
cannot leave it behind the package table."""

from __future__ import annotations

import json
from collections.abc import Callable

from chalicelib.domain.chart_index import chart_index, listed
from chalicelib.domain.packages import DeploymentPackage, PackageType
from chalicelib.services.chart_index import ensure_published, publish_chart_index


def archive(name: str, version: str, uploaded: str = "2026-11-26T10:00:00Z") -> DeploymentPackage:
    digest = f"{abs(hash((name, version))):064x}"[-64:]
    return DeploymentPackage(package_id=f"{name}-{version}", name=name, version=version, app_version="2.1.0",
                             description=f"{name} chart", checksum=f"sha256:{digest}", size=10, uploaded_at=uploaded,
                             source="upload")


def reference(name: str, version: str) -> DeploymentPackage:
    return DeploymentPackage(package_id=f"ref-{name}", name=name, version=version, uploaded_at="2026-11-26T10:00:00Z",
                             source="https://charts.example.net", package_type=PackageType.HELM_REPO,
                             repository_url="https://charts.example.net", chart=name)


def test_the_index_lists_every_archive_with_a_url_relative_to_the_repository() -> None:
    v1, v2 = archive("vdu", "1.0.0", "2026-11-26T10:00:00Z"), archive("vdu", "1.1.0", "2026-11-26T11:00:00Z")
    text = chart_index([v1, archive("cu", "3.0.0"), v2, reference("du", "9.0.0")], "2026-11-26T12:00:00Z")

    index = json.loads(text)
    assert index["apiVersion"] == "v1" and index["generated"] == "2026-11-26T12:00:00Z"
    assert list(index["entries"]) == ["cu", "vdu"]  # references are fetched from their own repository
    newest, oldest = index["entries"]["vdu"]
    assert (newest["version"], oldest["version"]) == ("1.1.0", "1.0.0")
    assert newest["urls"] == [f"sha256/{v2.digest}.tgz"] and newest["digest"] == v2.digest
    assert (newest["appVersion"], newest["description"], newest["created"]) == ("2.1.0", "vdu chart", v2.uploaded_at)
    assert listed(text) == {"vdu": {"1.0.0", "1.1.0"}, "cu": {"3.0.0"}}
    assert listed(None) == {} and listed("not json") == {}


class Store:
    """Package table + index object; `meanwhile` runs once, right after the next index write (a racing writer)."""

    def __init__(self, packages: list[DeploymentPackage]) -> None:
        self.packages = list(packages)
        self.index: str | None = None
        self.writes = 0
        self.meanwhile: Callable[[], None] | None = None

    def all_packages(self) -> list[DeploymentPackage]:
        return list(self.packages)

    def put_index(self, text: str) -> None:
        self.index, self.writes = text, self.writes + 1
        if self.meanwhile is not None:
            meanwhile, self.meanwhile = self.meanwhile, None
            meanwhile()

    def read_index(self) -> str | None:
        return self.index


def test_a_package_added_while_the_index_was_written_is_published_too() -> None:
    store = Store([archive("vdu", "1.0.0")])
    store.meanwhile = lambda: store.packages.append(archive("vdu", "1.1.0"))  # another upload lands meanwhile

    assert publish_chart_index(store) is True

    assert listed(store.index) == {"vdu": {"1.0.0", "1.1.0"}} and store.writes == 2


def test_a_quiet_table_is_written_once_and_a_listed_package_not_again() -> None:
    package = archive("cu", "3.0.0")
    store = Store([package])
    publish_chart_index(store)
    assert store.writes == 1

    ensure_published(store, package)
    assert store.writes == 1

    store.packages.append(late := archive("cu", "3.1.0"))  # its API publish failed: the worker repairs it
    ensure_published(store, late)
    assert store.writes == 2 and listed(store.index) == {"cu": {"3.0.0", "3.1.0"}}
