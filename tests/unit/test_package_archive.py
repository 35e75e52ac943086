"""Chart archive safety checks (docs/architecture.md §7) on archives built here with tarfile; no helm, no AWS."""

from __future__ import annotations

import gzip
import io
import tarfile

import pytest

from chalicelib.domain.packages import PackageRejected, PackageTooLarge, parse_checksum
from chalicelib.services.package_archive import ArchiveLimits, _metadata, check_archive

CHART_YAML = b"apiVersion: v2\nname: demo\nversion: 0.1.0\n"


def _archive(*members: tarfile.TarInfo | tuple[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                archive.addfile(member)
            else:
                name, content = member
                info = tarfile.TarInfo(name)
                info.size = len(content)
                archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def _link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


def test_a_good_chart_names_its_directory() -> None:
    data = _archive(("demo/Chart.yaml", CHART_YAML), ("demo/values.yaml", b"replicaCount: 1\n"))
    assert check_archive(data) == "demo"


def test_a_link_inside_the_chart_is_accepted() -> None:
    data = _archive(("demo/Chart.yaml", CHART_YAML), _link("demo/templates/alias.yaml", "../values.yaml"))
    assert check_archive(data) == "demo"


@pytest.mark.parametrize(
    ("member", "words"),
    [
        (("../x", b"evil"), "unsafe member path"),
        (("demo/../../x", b"evil"), "unsafe member path"),
        (("/etc/passwd", b"evil"), "unsafe member path"),
        (_link("demo/out", "../../etc/passwd"), "points outside"),
        (_link("demo/abs", "/etc/passwd"), "points outside"),
        (_link("demo/hard", "etc/passwd", tarfile.LNKTYPE), "points outside"),
    ],
)
def test_unsafe_members_are_rejected(member: tarfile.TarInfo | tuple[str, bytes], words: str) -> None:
    data = _archive(("demo/Chart.yaml", CHART_YAML), member)
    with pytest.raises(PackageRejected, match=words):
        check_archive(data)


def test_special_files_are_rejected() -> None:
    fifo = tarfile.TarInfo("demo/pipe")
    fifo.type = tarfile.FIFOTYPE
    with pytest.raises(PackageRejected, match="special file"):
        check_archive(_archive(("demo/Chart.yaml", CHART_YAML), fifo))


def test_too_many_members() -> None:
    files = [(f"demo/templates/f{i}.yaml", b"x") for i in range(6)]
    with pytest.raises(PackageRejected, match="more than 5 members"):
        check_archive(_archive(("demo/Chart.yaml", CHART_YAML), *files), ArchiveLimits(max_members=5))


def test_oversize_compressed() -> None:
    data = _archive(("demo/Chart.yaml", CHART_YAML))
    with pytest.raises(PackageTooLarge):
        check_archive(data, ArchiveLimits(max_compressed=len(data) - 1))


def test_oversize_uncompressed_is_abandoned_while_streaming() -> None:
    # 2 MiB of zeros compresses to a few KiB: the declared size, not the compressed one, must trip the limit.
    data = _archive(("demo/Chart.yaml", CHART_YAML), ("demo/big.bin", bytes(2 * 1024 * 1024)))
    assert len(data) < 64 * 1024
    with pytest.raises(PackageTooLarge, match="unpacks to more than"):
        check_archive(data, ArchiveLimits(max_uncompressed=1024 * 1024))


def test_not_gzip() -> None:
    with pytest.raises(PackageRejected, match="not gzip"):
        check_archive(b"PK\x03\x04 a zip file")


def test_gzip_but_not_tar() -> None:
    with pytest.raises(PackageRejected, match="not a readable"):
        check_archive(gzip.compress(b"just some text, not a tar archive" * 20))


def test_truncated_archive() -> None:
    data = _archive(("demo/Chart.yaml", CHART_YAML), ("demo/values.yaml", bytes(range(256)) * 64))
    with pytest.raises(PackageRejected):
        check_archive(data[: len(data) // 2])


def test_no_chart_yaml() -> None:
    with pytest.raises(PackageRejected, match=r"has no demo/Chart\.yaml"):
        check_archive(_archive(("demo/values.yaml", b"a: 1\n")))


def test_two_top_level_directories() -> None:
    with pytest.raises(PackageRejected, match="exactly one top-level"):
        check_archive(_archive(("demo/Chart.yaml", CHART_YAML), ("other/Chart.yaml", CHART_YAML)))


def test_empty_archive() -> None:
    with pytest.raises(PackageRejected):
        check_archive(_archive())


def test_metadata_from_helm_output() -> None:
    chart = _metadata("apiVersion: v2\nname: demo\nversion: 0.1.0\nappVersion: 1.16.0\ndescription: A demo\n")
    assert (chart.name, chart.version, chart.app_version, chart.description) == ("demo", "0.1.0", "1.16.0", "A demo")
    with pytest.raises(PackageRejected, match="name the chart"):
        _metadata("apiVersion: v2\ndescription: nameless\n")


def test_checksum_syntax() -> None:
    assert parse_checksum("SHA256:" + "AB" * 32) == "ab" * 32
    with pytest.raises(Exception, match="64 hex digits"):
        parse_checksum("md5:abc")
