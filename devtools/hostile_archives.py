"""Hostile chart archives, built as streams: the tests and `bench/archive_memory.py` make archives that decompress
to hundreds of MB without ever holding more than one chunk of that in memory themselves.

Each builder yields the uncompressed tar stream in pieces; `gzipped` compresses it piece by piece.
"""

from __future__ import annotations

import gzip
import io
import tarfile
from collections.abc import Iterable, Iterator

BLOCK = tarfile.BLOCKSIZE
CHUNK = 1024 * 1024
CHART_YAML = b"apiVersion: v2\nname: demo\nversion: 0.1.0\n"


def gzipped(pieces: Iterable[bytes], level: int = 9) -> bytes:
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=level, mtime=0) as stream:
        for piece in pieces:
            stream.write(piece)
    return out.getvalue()


def header(name: str, kind: bytes, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.type, info.size = kind, size
    return info.tobuf(tarfile.USTAR_FORMAT)


def filler(size: int, byte: bytes = b"a") -> Iterator[bytes]:
    """`size` bytes of one value, in chunks."""
    piece = byte * CHUNK
    for _ in range(size // CHUNK):
        yield piece
    yield byte * (size % CHUNK)


def member(name: str, content: bytes) -> Iterator[bytes]:
    yield header(name, tarfile.REGTYPE, len(content))
    yield content
    yield bytes(-len(content) % BLOCK)


def end() -> Iterator[bytes]:
    yield bytes(2 * BLOCK)


def chart() -> Iterator[bytes]:
    yield from member("demo/Chart.yaml", CHART_YAML)


def pax_record_header(keyword: str, value_size: int) -> tuple[bytes, int]:
    """The start of one pax record `"<length> <keyword>=<value>\\n"` whose value is `value_size` bytes, and the
    record's total length (what the pax header's size must be)."""
    rest = len(keyword) + 2 + value_size + 1  # ' ' + keyword + '=' + value + '\n'
    length = rest + len(str(rest))
    length = rest + len(str(length))  # the length counts its own digits
    return f"{length} {keyword}=".encode(), length


def huge_pax_header(value_size: int) -> Iterator[bytes]:
    """A pax header whose `path` is `value_size` bytes, in front of a proper Chart.yaml."""
    start, length = pax_record_header("path", value_size)
    yield header("././@PaxHeader", tarfile.XHDTYPE, length)
    yield start
    yield from filler(value_size)
    yield b"\n" + bytes(-length % BLOCK)
    yield from chart()
    yield from end()


def huge_long_name(size: int) -> Iterator[bytes]:
    """A GNU long-name header of `size` bytes in front of a proper Chart.yaml."""
    yield header("././@LongLink", tarfile.GNUTYPE_LONGNAME, size)
    yield from filler(size - 1)
    yield b"\0" + bytes(-size % BLOCK)
    yield from chart()
    yield from end()


def many_members(count: int) -> Iterator[bytes]:
    yield from chart()
    for index in range(count):
        yield from member(f"demo/templates/f{index}.yaml", b"")
    yield from end()


def pax(records: dict[str, str], kind: bytes = tarfile.XHDTYPE) -> Iterator[bytes]:
    """A pax header (extended, or global with XGLTYPE) holding `records`, padded to whole blocks."""
    body = b""
    for keyword, value in records.items():
        start, _ = pax_record_header(keyword, len(value.encode()))
        body += start + value.encode() + b"\n"
    yield header("././@PaxHeader", kind, len(body))
    yield body + bytes(-len(body) % BLOCK)


def tiny_records(size: int) -> dict[str, str]:
    """As many pax records as fit in about `size` bytes: the most objects tarfile makes per header byte."""
    return {f"k{index}": "" for index in range(size // 10)}


def global_pax_records(count: int) -> Iterator[bytes]:
    """A global pax header of tiny records (tarfile copies it into every member), then `count` members."""
    yield from pax(tiny_records(8000), tarfile.XGLTYPE)
    yield from chart()
    for index in range(count - 1):
        yield from member(f"demo/f{index}", b"")
    yield from end()


def pax_per_member(count: int) -> Iterator[bytes]:
    """`count` members, each behind its own pax header of tiny records."""
    yield from chart()
    for index in range(count - 1):
        yield from pax(tiny_records(8000))
        yield from member(f"demo/f{index}", b"")
    yield from end()
