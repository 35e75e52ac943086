"""Just enough of the Kubernetes protobuf encoding to accept what helm sends, and to answer ``/openapi/v2``.

client-go's typed clients may send core objects as ``application/vnd.kubernetes.protobuf``: the bytes ``k8s\\0``
followed by a ``runtime.Unknown`` envelope whose ``raw`` field holds the object message. Helm stores releases as
Secrets this way. We decode the wire format by hand (no protobuf dependency) for the kinds that arrive like this
and turn them into the JSON shape the rest of kubesim works with. Field numbers follow k8s.io/api generated.proto.
"""

from __future__ import annotations

import base64
import datetime
from collections.abc import Callable, Iterator
from typing import Any

from devtools.kubesim.errors import bad_request, unsupported_media

Obj = dict[str, Any]
Field = tuple[int, int, Any]  # (field number, wire type, int or bytes)
MAGIC = b"k8s\x00"


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result, shift = 0, 0
    while True:
        if pos >= len(buf):
            raise bad_request("truncated protobuf varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def fields(buf: bytes) -> Iterator[Field]:
    """Walk the top-level fields of one message."""
    pos = 0
    while pos < len(buf):
        tag, pos = _varint(buf, pos)
        number, wire = tag >> 3, tag & 7
        value: Any
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 2:
            length, pos = _varint(buf, pos)
            value, pos = buf[pos:pos + length], pos + length
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise bad_request(f"unsupported protobuf wire type {wire}")
        yield number, wire, value


def _text(value: bytes) -> str:
    return value.decode("utf-8")


def _map_entry(value: bytes) -> tuple[str, bytes]:
    key, val = "", b""
    for number, _, item in fields(value):
        if number == 1:
            key = _text(item)
        elif number == 2:
            val = item
    return key, val


def _time(value: bytes) -> str:
    seconds = next((item for number, _, item in fields(value) if number == 1), 0)
    moment = datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _owner_reference(value: bytes) -> Obj:
    names = {1: "kind", 3: "name", 4: "uid", 5: "apiVersion"}
    flags = {6: "controller", 7: "blockOwnerDeletion"}
    ref: Obj = {}
    for number, _, item in fields(value):
        if number in names:
            ref[names[number]] = _text(item)
        elif number in flags:
            ref[flags[number]] = bool(item)
    return ref


_META_STRINGS = {1: "name", 2: "generateName", 3: "namespace", 4: "selfLink", 5: "uid", 6: "resourceVersion"}


def object_meta(buf: bytes) -> Obj:
    meta: Obj = {}
    for number, _, value in fields(buf):
        if number in _META_STRINGS:
            meta[_META_STRINGS[number]] = _text(value)
        elif number == 7:
            meta["generation"] = value
        elif number in (8, 9):
            meta["creationTimestamp" if number == 8 else "deletionTimestamp"] = _time(value)
        elif number in (11, 12):
            key, val = _map_entry(value)
            meta.setdefault("labels" if number == 11 else "annotations", {})[key] = _text(val)
        elif number == 13:
            meta.setdefault("ownerReferences", []).append(_owner_reference(value))
        elif number == 14:
            meta.setdefault("finalizers", []).append(_text(value))
    return meta


def _secret(buf: bytes) -> Obj:
    obj: Obj = {"metadata": {}}
    for number, wire, value in fields(buf):
        if number == 1:
            obj["metadata"] = object_meta(value)
        elif number == 2:
            key, val = _map_entry(value)
            obj.setdefault("data", {})[key] = base64.b64encode(val).decode("ascii")
        elif number == 3:
            obj["type"] = _text(value)
        elif number == 4:
            key, val = _map_entry(value)
            obj.setdefault("stringData", {})[key] = _text(val)
        elif number == 5 and wire == 0:
            obj["immutable"] = bool(value)
    return obj


def _config_map(buf: bytes) -> Obj:
    obj: Obj = {"metadata": {}}
    for number, wire, value in fields(buf):
        if number == 1:
            obj["metadata"] = object_meta(value)
        elif number == 2:
            key, val = _map_entry(value)
            obj.setdefault("data", {})[key] = _text(val)
        elif number == 3:
            key, val = _map_entry(value)
            obj.setdefault("binaryData", {})[key] = base64.b64encode(val).decode("ascii")
        elif number == 4 and wire == 0:
            obj["immutable"] = bool(value)
    return obj


def _metadata_only(buf: bytes) -> Obj:
    # Namespaces and ServiceAccounts: the metadata is what matters; spec/status are defaulted by the server.
    return {"metadata": next((object_meta(v) for n, _, v in fields(buf) if n == 1), {})}


def _delete_options(buf: bytes) -> Obj:
    options: Obj = {}
    for number, _, value in fields(buf):
        if number == 1:
            options["gracePeriodSeconds"] = value
        elif number == 2:
            pre = {("uid" if n == 1 else "resourceVersion"): _text(v) for n, _, v in fields(value) if n in (1, 2)}
            options["preconditions"] = pre
        elif number == 3:
            options["orphanDependents"] = bool(value)
        elif number == 4:
            options["propagationPolicy"] = _text(value)
        elif number == 5:
            options.setdefault("dryRun", []).append(_text(value))
    return options


DECODERS: dict[str, Callable[[bytes], Obj]] = {
    "DeleteOptions": _delete_options,
    "Secret": _secret,
    "ConfigMap": _config_map,
    "Namespace": _metadata_only,
    "ServiceAccount": _metadata_only,
}


def decode_object(body: bytes, content_type: str) -> Obj:
    """Decode a ``k8s\\0`` + ``runtime.Unknown`` body into a JSON-shaped object."""
    if not body.startswith(MAGIC):
        raise bad_request("protobuf body lacks the k8s magic prefix")
    api_version, kind, raw = "", "", b""
    for number, _, value in fields(body[len(MAGIC):]):
        if number == 1:
            for sub, _, item in fields(value):
                if sub == 1:
                    api_version = _text(item)
                elif sub == 2:
                    kind = _text(item)
        elif number == 2:
            raw = value
    decoder = DECODERS.get(kind)
    if decoder is None:
        raise unsupported_media(f"{content_type} (kind {kind or 'unknown'})")
    obj = decoder(raw)
    return {"apiVersion": api_version, "kind": kind, **obj}


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _encode_bytes(number: int, value: bytes) -> bytes:
    return _encode_varint(number << 3 | 2) + _encode_varint(len(value)) + value


def openapi_v2_document(title: str, version: str) -> bytes:
    """An ``openapi_v2.Document`` with swagger/info only: client-side validation then finds no schema and skips."""
    info = _encode_bytes(1, title.encode()) + _encode_bytes(2, version.encode())
    return _encode_bytes(1, b"2.0") + _encode_bytes(2, info)
