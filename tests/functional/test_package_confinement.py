"""Uploads that try to escape confinement (docs/security.md, "Confinement"): chart names that are not chart names,
and archives whose headers would make the inspection hold hundreds of MB. Through the API with moto and the real
helm binary; nothing may be stored."""

from __future__ import annotations

import io
import tarfile

import pytest

from chalicelib import resources
from chalicelib.bootstrap import Components
from devtools import hostile_archives as hostile
from tests.functional.conftest import Api, assert_problem

COLLECTION = "/o2dms/v1/deploymentPackages"


def _chart(name_in_chart_yaml: str, directory: str = "demo") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path, content in ((f"{directory}/Chart.yaml",
                               f"apiVersion: v2\nname: '{name_in_chart_yaml}'\nversion: 0.1.0\n".encode()),
                              (f"{directory}/templates/cm.yaml", b"kind: ConfigMap\n")):
            info = tarfile.TarInfo(path)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def _stored(components: Components) -> tuple[int, int]:
    settings = components.settings
    objects = components.clients.s3.list_objects_v2(Bucket=settings.bucket_name(resources.PACKAGES_BUCKET))
    items = components.clients.dynamodb.scan(TableName=settings.table_name(resources.PACKAGES), Select="COUNT")
    return int(objects.get("KeyCount", 0)), int(items["Count"])


def _upload(api: Api, data: bytes) -> tuple[int, str]:
    reply = api.request("POST", COLLECTION, body=data, headers={"Content-Type": "application/gzip"})
    body = assert_problem(reply, reply.status)
    return reply.status, str(body["detail"])


@pytest.mark.parametrize("name", ["..", "../../x", "a/b", "/abs", "Demo_Chart", "demo.chart"])
def test_a_chart_yaml_name_that_is_no_chart_name_is_refused(components: Components, api: Api, name: str) -> None:
    before = _stored(components)
    status, detail = _upload(api, _chart(name))
    assert status == 422, detail
    # Names helm itself refuses (with a '/') may be refused by helm first; the others by netweave, naming the field.
    assert "Chart.yaml name" in detail or "helm cannot load it" in detail, detail
    if "/" not in name:
        assert "Chart.yaml name" in detail and "is not a chart name" in detail, detail
    assert _stored(components) == before


@pytest.mark.parametrize("directory", ["Demo", "de.mo", "de_mo"])
def test_a_chart_directory_that_is_no_chart_name_is_refused(components: Components, api: Api,
                                                              directory: str) -> None:
    before = _stored(components)
    status, detail = _upload(api, _chart("demo", directory))
    assert status == 422 and "top-level directory" in detail, detail
    assert _stored(components) == before


def test_a_pax_header_bomb_is_refused(components: Components, api: Api) -> None:
    before = _stored(components)
    status, detail = _upload(api, hostile.gzipped(hostile.huge_pax_header(64 * 1024 * 1024)))
    assert status == 422 and "extended (pax) header" in detail, detail
    assert _stored(components) == before
