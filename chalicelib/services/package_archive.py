"""Chart archives: safety checks on the bytes (docs/architecture.md §7), then Chart.yaml read by the real `helm` binary.

The archive is never extracted. Its members are walked as a stream, so a gzip bomb is abandoned as soon as the
declared sizes pass the limit, and `helm show chart` reads the `.tgz` written to a private temporary directory.
Checks: gzip + tar readable; at most `max_members` members and `max_uncompressed` bytes; only regular files,
directories and links whose target stays inside the chart; no absolute paths or `..`; exactly one top-level
directory, named as a chart may be, holding Chart.yaml.

Memory stays bounded by the limits, not by what the archive declares (docs/security.md, "Confinement"): tarfile
reads a pax or GNU long-name header's whole data into memory before any member is seen, so the decompressed stream
reaches tarfile only through a reader that counts every byte, headers included, and stops at `max_uncompressed`;
and each header block is checked as tarfile parses it, before the data it announces is read.
"""

from __future__ import annotations

import gzip
import io
import os
import posixpath
import subprocess
import tarfile
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar, Self

from chalicelib.adapters.helm_binary import helm_binary
from chalicelib.domain.errors import BackendUnavailable
from chalicelib.domain.packages import ChartMetadata, PackageRejected, PackageTooLarge, chart_name_problem

MiB = 1024 * 1024
HELM_TIMEOUT_SECONDS = 20.0


@dataclass(frozen=True)
class ArchiveLimits:
    # 10 MiB is above any real chart; API Gateway + Lambda cap a direct upload lower still (~6 MB payload).
    max_compressed: int = 10 * MiB
    max_uncompressed: int = 50 * MiB
    max_members: int = 2000
    # Longest member or link name; a pax header carries at most two of them and a few small records. Real charts
    # stay far below both: they exist so no header can make tarfile allocate more than a few KiB.
    max_name_length: int = 1024
    max_extended_header: int = 8 * 1024
    # pax and GNU long-name headers that precede one member: tar writes at most three (pax, long name, long link);
    # a longer chain would only make tarfile recurse.
    max_header_chain: int = 4


_READ_CHUNK = 64 * 1024
_EXTENDED_TYPES = (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE)
_LONG_NAME_TYPES = (tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK)


def check_archive(data: bytes, limits: ArchiveLimits = ArchiveLimits()) -> str:
    """Validate a chart archive; return its top-level directory (the chart's directory name)."""
    if len(data) > limits.max_compressed:
        raise PackageTooLarge(f"chart archive: {len(data)} bytes; the limit is {limits.max_compressed}")
    if data[:2] != b"\x1f\x8b":
        raise PackageRejected("chart archive: is not gzip-compressed (expected a .tgz from `helm package`)")
    try:
        members = _walk(data, limits)
    except (tarfile.TarError, zlib.error, EOFError, OSError) as error:
        raise PackageRejected(f"chart archive: is not a readable gzip-compressed tar ({error})") from None
    return _chart_directory(members)


def _walk(data: bytes, limits: ArchiveLimits) -> list[tarfile.TarInfo]:
    members: list[tarfile.TarInfo] = []
    total = 0
    # Stream mode ('r|'): members are read in order, never seeking, so decompression stops where we stop. gzip is
    # unwrapped by the gzip module, not tarfile's 'r|gz': that one misreads the FEXTRA header `helm package` writes.
    with gzip.GzipFile(fileobj=io.BytesIO(data)) as unzipped, tarfile.open(
        fileobj=_CappedReader(unzipped, limits.max_uncompressed), mode="r|", tarinfo=_bounded_tarinfo(limits)
    ) as archive:
        for member in archive:
            members.append(member)
            if len(members) > limits.max_members:
                raise PackageRejected(f"chart archive: more than {limits.max_members} members")
            total += max(member.size, 0)
            if total > limits.max_uncompressed:
                raise PackageTooLarge(f"chart archive: unpacks to more than {limits.max_uncompressed} bytes")
            _check_member(member, limits)
            # tarfile gives every member its own copy of the pax records (the global ones included) and keeps every
            # member: dropped here, what stays per member is its names, not up to a header's worth of records.
            member.pax_headers = {}
    if not members:
        raise PackageRejected("chart archive: is empty")
    return members


class _CappedReader:
    """The decompressed stream as tarfile reads it, counted: headers and padding count as much as member data, and
    no single read returns more than a chunk, so tarfile never holds more than the limit."""

    def __init__(self, source: gzip.GzipFile, limit: int) -> None:
        self._source, self._limit, self._count = source, limit, 0

    def read(self, size: int = -1, /) -> bytes:
        chunk = self._source.read(_READ_CHUNK if size < 0 else min(size, _READ_CHUNK))
        self._count += len(chunk)
        if self._count > self._limit:
            raise PackageTooLarge(f"chart archive: unpacks to more than {self._limit} bytes")
        return chunk

    def tell(self) -> int:
        return self._count

    def write(self, data: bytes, /) -> int:
        raise OSError("chart archives are read, never written")

    def seek(self, position: int, /) -> int:
        raise OSError("chart archives are read as a stream")  # 'r|' never seeks; a seek would be a bug

    def close(self) -> None:
        """The gzip stream belongs to the caller."""


def _bounded_tarinfo(limits: ArchiveLimits) -> type[tarfile.TarInfo]:
    """A TarInfo class whose header parsing refuses, before tarfile reads the announced data, an extended header
    larger than the limits, a chain of them, and sparse files (whose maps tarfile reads without any bound)."""

    class BoundedTarInfo(tarfile.TarInfo):
        # For this inspection only: extended headers since the last ordinary one, and bytes of global pax headers
        # so far (their records accumulate in one dict that tarfile copies into every later member).
        chain: ClassVar[int] = 0
        global_bytes: ClassVar[int] = 0

        @classmethod
        def frombuf(cls, buf: bytes | bytearray, encoding: str, errors: str) -> Self:
            info = super().frombuf(buf, encoding, errors)
            _check_header(info, limits, cls.chain)
            cls.chain = cls.chain + 1 if info.type in (*_EXTENDED_TYPES, *_LONG_NAME_TYPES) else 0
            if info.type == tarfile.XGLTYPE:
                cls.global_bytes += info.size
                if cls.global_bytes > limits.max_extended_header:
                    raise PackageRejected(
                        f"chart archive: global pax headers of more than {limits.max_extended_header} bytes")
            return info

        # tarfile calls these for pax headers describing a GNU sparse file; format 1.0 reads a map of any length
        # from the stream into a list. A chart has no sparse files, so all three refuse.
        def _proc_gnusparse_00(self, *_: object) -> None:
            raise PackageRejected("chart archive: holds a sparse file")

        _proc_gnusparse_01 = _proc_gnusparse_10 = _proc_gnusparse_00

    return BoundedTarInfo


def _check_header(info: tarfile.TarInfo, limits: ArchiveLimits, chain: int) -> None:
    if info.type in _LONG_NAME_TYPES and info.size > limits.max_name_length + 1:  # + the terminating NUL
        raise PackageRejected(f"chart archive: a member name is longer than {limits.max_name_length} bytes")
    if info.type in _EXTENDED_TYPES and info.size > limits.max_extended_header:
        raise PackageRejected(
            f"chart archive: an extended (pax) header of {info.size} bytes; the limit is {limits.max_extended_header}"
        )
    if info.type in (*_EXTENDED_TYPES, *_LONG_NAME_TYPES) and chain >= limits.max_header_chain:
        raise PackageRejected(f"chart archive: more than {limits.max_header_chain} extended headers for one member")
    if info.type == tarfile.GNUTYPE_SPARSE:
        raise PackageRejected("chart archive: holds a sparse file")


def _check_member(member: tarfile.TarInfo, limits: ArchiveLimits) -> None:
    name = member.name
    if max(len(name.encode(errors="surrogateescape")), len(member.linkname.encode(errors="surrogateescape"))) \
            > limits.max_name_length:
        raise PackageRejected(f"chart archive: a member name is longer than {limits.max_name_length} bytes")
    if not _safe_path(name):
        raise PackageRejected(f"chart archive: unsafe member path '{name}' (absolute or with '..')")
    if member.issym() or member.islnk():
        _check_link(member)
    elif not (member.isfile() or member.isdir()):
        raise PackageRejected(f"chart archive: '{name}' is a device, fifo or other special file")


def _safe_path(name: str) -> bool:
    if not name or name.startswith(("/", "\\")) or "\\" in name or "\x00" in name:
        return False
    parts = PurePosixPath(name).parts
    return ".." not in parts and not (parts and parts[0].endswith(":"))  # also refuse Windows drive letters


def _check_link(member: tarfile.TarInfo) -> None:
    """A link may only point at another path of the same chart."""
    target = member.linkname
    if member.issym():  # relative to the link's directory; hard links are relative to the archive root
        target = posixpath.join(posixpath.dirname(member.name), target) if not target.startswith("/") else target
    resolved = posixpath.normpath(target)
    top = PurePosixPath(member.name).parts[0]
    if target.startswith("/") or resolved.startswith("..") or PurePosixPath(resolved).parts[:1] != (top,):
        raise PackageRejected(f"chart archive: link '{member.name}' points outside the chart ('{member.linkname}')")


def _chart_directory(members: list[tarfile.TarInfo]) -> str:
    tops = {PurePosixPath(m.name).parts[0] for m in members}
    if len(tops) != 1:
        raise PackageRejected(f"chart archive: must hold exactly one top-level chart directory (found {len(tops)})")
    top = tops.pop()
    problem = chart_name_problem(top)
    if problem is not None:
        raise PackageRejected(f"chart archive: the top-level directory {top[:100]!r} is not a chart name: {problem}")
    chart_yaml = f"{top}/Chart.yaml"
    if not any(posixpath.normpath(m.name) == chart_yaml and m.isfile() for m in members):
        raise PackageRejected(f"chart archive: has no {chart_yaml}")
    return top


def read_chart(data: bytes, timeout: float = HELM_TIMEOUT_SECONDS) -> ChartMetadata:
    """Chart.yaml as `helm show chart` sees it: if helm cannot load the archive, nor can a deployment."""
    with tempfile.TemporaryDirectory(prefix="netweave-chart-") as work:
        archive = Path(work) / "chart.tgz"
        archive.write_bytes(data)
        output = _run_helm(["show", "chart", str(archive)], Path(work), timeout)
    return _metadata(output)


def _run_helm(args: list[str], work: Path, timeout: float) -> str:
    # helm writes caches and reads config under HOME/XDG paths: point them at the scratch dir (Lambda's / is
    # read-only) and keep the caller's repositories and plugins out of it.
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(work),
        "HELM_CACHE_HOME": str(work / "cache"),
        "HELM_CONFIG_HOME": str(work / "config"),
        "HELM_DATA_HOME": str(work / "data"),
    }
    try:
        done = subprocess.run([helm_binary(), *args], capture_output=True, timeout=timeout, env=env, check=False)
    except FileNotFoundError:
        raise BackendUnavailable("the helm binary is not available (set NETWEAVE_HELM_BINARY)") from None
    except subprocess.TimeoutExpired:
        raise BackendUnavailable(f"helm did not read the chart within {timeout:g} s") from None
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        reason = message[-1][:300] if message else f"exit status {done.returncode}"
        raise PackageRejected(f"chart archive: helm cannot load it: {reason}")
    return done.stdout.decode(errors="replace")


def _metadata(chart_yaml: str) -> ChartMetadata:
    import yaml  # only uploads read charts: the API's cold start should not pay for the YAML parser

    try:
        document: Any = yaml.safe_load(chart_yaml)
    except yaml.YAMLError:
        raise PackageRejected("chart archive: Chart.yaml is not valid YAML") from None
    if not isinstance(document, dict):
        raise PackageRejected("chart archive: Chart.yaml is not a mapping")
    name, version = document.get("name"), document.get("version")
    if not isinstance(name, str) or not name or not isinstance(version, str) or not version:
        raise PackageRejected("chart archive: Chart.yaml must name the chart and its version")
    return ChartMetadata(
        name[:253], version[:128], _text(document.get("appVersion"), 128), _text(document.get("description"), 1024)
    )


def _text(value: Any, limit: int) -> str | None:
    return str(value)[:limit] if value is not None and str(value) else None
