"""Hostile chart archives whose headers, not their members, are the weapon (docs/security.md, "Confinement").

tarfile reads a pax or GNU long-name header's data whole before any member is seen; these archives are built as
streams (devtools/hostile_archives.py) so the test holds only their compressed bytes, and memory is asserted with
tracemalloc, which counts what Python allocates whatever the machine's speed."""

from __future__ import annotations

import gc
import tarfile
import tracemalloc
from collections.abc import Callable, Iterator

import pytest

from chalicelib.domain.packages import PackageRejected, PackageTooLarge, chart_name_problem
from chalicelib.services.package_archive import ArchiveLimits, check_archive
from devtools import hostile_archives as hostile

MiB = 1024 * 1024


def _peak_while_checking(data: bytes) -> tuple[Exception, int]:
    tracemalloc.start()
    try:
        check_archive(data)
    except (PackageRejected, PackageTooLarge) as error:
        refused: Exception = error
    else:
        raise AssertionError("the archive was accepted")
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return refused, peak


def test_a_pax_header_of_hundreds_of_mb_is_refused_from_its_header_alone() -> None:
    data = hostile.gzipped(hostile.huge_pax_header(200 * MiB))
    assert len(data) < 512 * 1024  # a small upload...
    refused, peak = _peak_while_checking(data)
    assert "extended (pax) header of" in str(refused)
    assert peak < 2 * MiB  # ...that no longer costs its decompressed size


def test_a_huge_gnu_long_name_is_refused_before_it_is_read() -> None:
    data = hostile.gzipped(hostile.huge_long_name(100 * MiB))
    refused, peak = _peak_while_checking(data)
    assert "member name is longer than 1024 bytes" in str(refused)
    assert peak < 2 * MiB


@pytest.mark.parametrize("pieces", [
    pytest.param(lambda: hostile.huge_long_name(1026), id="GNU long name"),
    pytest.param(lambda: hostile.huge_pax_header(1025), id="pax path"),
])
def test_member_names_are_bounded(pieces: Callable[[], Iterator[bytes]]) -> None:
    data = hostile.gzipped(pieces())
    with pytest.raises(PackageRejected, match="longer than 1024 bytes"):
        check_archive(data)


def test_names_up_to_the_limit_pass() -> None:
    long_name = "demo/" + "a" * 1000
    data = hostile.gzipped([*hostile.pax({"path": long_name}), *hostile.member("ignored", b"x"), *hostile.chart(),
                            *hostile.end()])
    assert check_archive(data) == "demo"


def test_header_bytes_count_against_the_unpacked_limit() -> None:
    # Every member is empty, so declared sizes sum to 0: only counting the stream itself sees 100 headers of 4 KiB.
    def pieces() -> Iterator[bytes]:
        yield from hostile.chart()
        for index in range(100):
            yield from hostile.pax({"comment": "c" * 4000})
            yield from hostile.member(f"demo/f{index}", b"")
        yield from hostile.end()

    with pytest.raises(PackageTooLarge, match="unpacks to more than 262144 bytes"):
        check_archive(hostile.gzipped(pieces()), ArchiveLimits(max_uncompressed=256 * 1024))


def test_a_chain_of_extended_headers_is_refused() -> None:
    chain = [piece for _ in range(10) for piece in hostile.pax({"comment": "x"})]
    data = hostile.gzipped([*chain, *hostile.chart(), *hostile.end()])
    with pytest.raises(PackageRejected, match="more than 4 extended headers"):
        check_archive(data)


def test_many_members_are_refused_at_the_default_limit() -> None:
    data = hostile.gzipped(hostile.many_members(5000))
    refused, peak = _peak_while_checking(data)
    assert "more than 2000 members" in str(refused)
    assert peak < 8 * MiB


def test_sparse_files_are_refused() -> None:
    old_gnu = hostile.header("demo/sparse", tarfile.GNUTYPE_SPARSE, 0)
    with pytest.raises(PackageRejected, match="sparse file"):
        check_archive(hostile.gzipped([*hostile.chart(), old_gnu, *hostile.end()]))
    # GNU sparse 1.0: the map sits in the member's data, and tarfile would read as many numbers as it announces.
    pax = hostile.pax({"GNU.sparse.major": "1", "GNU.sparse.minor": "0", "GNU.sparse.name": "demo/s",
                "GNU.sparse.realsize": "1"})
    sparse_map = b"100000000\n" + b"1\n" * 200_000
    data = hostile.gzipped([*hostile.chart(), *pax, *hostile.member("demo/GNUSparseFile.0/s", sparse_map),
                            *hostile.end()])
    with pytest.raises(PackageRejected, match="sparse file"):
        check_archive(data)


@pytest.mark.parametrize("directory", ["..x", "Demo", "de_mo", "demo.chart", "9demo", "demo-", "a" * 64])
def test_the_chart_directory_must_be_a_chart_name(directory: str) -> None:
    data = hostile.gzipped([*hostile.member(f"{directory}/Chart.yaml", hostile.CHART_YAML), *hostile.end()])
    with pytest.raises(PackageRejected, match=r"top-level directory .* is not a chart name"):
        check_archive(data)


@pytest.mark.parametrize(("name", "valid"), [
    ("vdu", True), ("o-du-7", True), ("a" * 63, True), ("a" * 64, False), ("", False), ("..", False),
    ("../../x", False), ("/abs", False), ("a/b", False), ("Vdu", False), ("v_du", False), ("v.du", False),
    ("1vdu", False), ("vdu-", False), ("vdu\n", False), (None, False), (7, False),
])
def test_chart_names(name: object, valid: bool) -> None:
    assert (chart_name_problem(name) is None) is valid


def test_pax_records_are_not_kept_per_member() -> None:
    # One global header of tiny records, which tarfile copies into each of the 1999 members that follow.
    data = hostile.gzipped(hostile.global_pax_records(1999))
    gc.collect()  # garbage of earlier tests in this worker, freed inside the window, would not count, but its
    tracemalloc.start()  # finalizers' allocations would
    try:
        assert check_archive(data) == "demo"
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # ~1 MiB alone; 5 MiB seen once after other tests in the same worker (tracemalloc counts every thread of the
    # process): the bound stays an order of magnitude below the 50 MB tarfile's copies took
    assert peak < 8 * MiB


def test_global_pax_headers_are_bounded_in_total() -> None:
    def pieces() -> Iterator[bytes]:
        yield from hostile.chart()
        for index in range(3):
            yield from hostile.pax({f"g{index}": "x" * 4000}, tarfile.XGLTYPE)
            yield from hostile.member(f"demo/f{index}", b"")
        yield from hostile.end()

    with pytest.raises(PackageRejected, match="global pax headers of more than 8192 bytes"):
        check_archive(hostile.gzipped(pieces()))
