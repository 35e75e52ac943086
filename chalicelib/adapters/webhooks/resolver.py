"""Resolving a callback's host to the addresses it would be called on, for the callback policy."""

from __future__ import annotations

import ipaddress
import socket

from chalicelib.domain.callback_policy import Callback, IPAddress


def resolve(callback: Callback) -> list[IPAddress]:
    try:
        literal = ipaddress.ip_address(callback.host.strip("[]"))
    except ValueError:
        pass
    else:
        return [literal]
    try:
        infos = socket.getaddrinfo(callback.host, callback.port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        return []
    return list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos))
