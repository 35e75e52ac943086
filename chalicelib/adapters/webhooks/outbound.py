"""Every request netweave makes on an SMO's behalf or towards one (docs/architecture.md §7, docs/security.md
"Outbound requests"): subscription callbacks, `packageUrl` downloads and the SMO's OAuth2 token endpoint.

One mechanism for all of them:
- the URL is parsed and its host resolved once, here, and every address checked against the outbound policy
  (`chalicelib/domain/callback_policy.py`);
- the connection goes to the address that passed the check: the URL is rewritten to that address and the host name
  travels in `Host` and as the TLS server name, so certificates are still verified for the host, and a DNS answer
  that changes between the check and the connection (DNS rebinding) cannot redirect the request;
- redirects are never followed, environment proxies are ignored (`trust_env=False`: a proxy connects wherever it
  likes);
- the whole exchange runs under one overall deadline: httpx's timeouts are per phase and per read, so a peer that
  trickles a byte every few seconds would otherwise hold the caller indefinitely. The deadline is enforced below
  httpx, in the network stream every read, write and connect goes through.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from chalicelib.adapters.webhooks.resolver import resolve
from chalicelib.domain.callback_policy import Callback, CallbackPolicy, IPAddress, check_addresses, parse_callback

Resolver = Callable[[Callback], list[IPAddress]]
_MAX_CLIENTS = 64  # one connection pool per target host (see `_client_for`), the least recently used closed

_deadline: ContextVar[float | None] = ContextVar("outbound_deadline", default=None)


@contextmanager
def overall_deadline(seconds: float) -> Iterator[None]:
    """Every outbound read, write and connect in this context ends by `seconds` from now (an enclosing, earlier
    deadline still wins)."""
    ends = time.monotonic() + seconds
    outer = _deadline.get()
    token = _deadline.set(ends if outer is None else min(outer, ends))
    try:
        yield
    finally:
        _deadline.reset(token)


def _bounded(timeout: float | None, error: type[Exception]) -> float | None:
    ends = _deadline.get()
    if ends is None:
        return timeout
    remaining = ends - time.monotonic()
    if remaining <= 0:
        raise error("overall deadline exceeded")
    return remaining if timeout is None else min(timeout, remaining)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname,
                                                      _bounded(timeout, httpcore.ConnectTimeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._backend = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        stream = self._backend.connect_tcp(host, port, _bounded(timeout, httpcore.ConnectTimeout), local_address,
                                           socket_options)
        return _DeadlineStream(stream)

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not outbound targets")

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class _DeadlineTransport(httpx.HTTPTransport):
    """httpx's transport over a connection pool whose streams obey `overall_deadline` (httpx has no public way to
    choose the network backend, so the pool it would build is replaced by one that uses ours)."""

    def __init__(self, tls: ssl.SSLContext | None) -> None:
        context = tls or httpx.create_ssl_context(trust_env=False)
        super().__init__(verify=context, trust_env=False)
        self._pool.close()
        self._pool = httpcore.ConnectionPool(ssl_context=context, max_connections=10, max_keepalive_connections=10,
                                             keepalive_expiry=5.0, network_backend=_DeadlineBackend())


@dataclass(frozen=True)
class Target:
    """A URL whose host was resolved and whose every address passed the policy."""

    url: Callback
    addresses: tuple[IPAddress, ...]


class Outbound:
    """Checked, pinned, deadline-bound HTTP towards the hosts one policy admits."""

    def __init__(self, policy: CallbackPolicy, timeout_seconds: float = 10.0, resolver: Resolver = resolve,
                 tls: ssl.SSLContext | None = None) -> None:
        self.policy = policy
        self.timeout = timeout_seconds
        self.resolver = resolver
        self.tls = tls  # trust store override (tests, private CAs); default: certifi
        self._clients: OrderedDict[str, httpx.Client] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, url: str) -> Target:
        """Parse, resolve once and check; raises CallbackRefused (its message speaks of a "callback")."""
        parsed = parse_callback(url, self.policy)
        addresses = self.resolver(parsed)
        check_addresses(parsed, addresses, self.policy)
        return Target(parsed, tuple(addresses))

    @contextmanager
    def open(self, method: str, target: Target, headers: Mapping[str, str], content: bytes | None = None,
             deadline_seconds: float | None = None) -> Iterator[httpx.Response]:
        """The response, streamed (its body unread) and closed on leaving. Raises httpx.HTTPError: a timeout when
        the overall deadline (default: the timeout) passes, ConnectError when no checked address answers.

        Addresses are tried in resolver order; the next only when one cannot be connected to at all (an IPv6
        answer without IPv6 egress), never after a timeout, which would multiply the wait."""
        with overall_deadline(self.timeout if deadline_seconds is None else deadline_seconds):
            client = self._client_for(target.url)
            all_headers = {"host": host_header(target.url), **headers}
            failure: httpx.ConnectError | None = None
            for address in target.addresses:
                pinned = httpx.URL(target.url.url).copy_with(host=str(address))
                request = client.build_request(method, pinned, headers=all_headers, content=content,
                                               extensions={"sni_hostname": target.url.host})
                try:
                    response = client.send(request, stream=True)
                except httpx.ConnectError as error:
                    failure = error
                    continue
                try:
                    yield response
                finally:
                    response.close()
                return
            raise failure or httpx.ConnectError("no address")

    def _client_for(self, url: Callback) -> httpx.Client:
        """A pool per target host: pooled connections are keyed by address, and a TLS connection verified for one
        host must not carry another host's request just because both share an address."""
        key = f"{url.scheme}://{url.host}:{url.port}"
        with self._lock:
            client = self._clients.pop(key, None)
            if client is None:
                client = httpx.Client(timeout=self.timeout, follow_redirects=False, trust_env=False,
                                      transport=_DeadlineTransport(self.tls))
            self._clients[key] = client
            while len(self._clients) > _MAX_CLIENTS:
                self._clients.popitem(last=False)[1].close()
            return client

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()


def host_header(url: Callback) -> str:
    default_port = 443 if url.scheme == "https" else 80
    host = f"[{url.host}]" if ":" in url.host else url.host
    return host + ("" if url.port == default_port else f":{url.port}")


def describe(error: httpx.HTTPError) -> str:
    """Short, and free of URLs (a URL's query string may carry credentials)."""
    if isinstance(error, httpx.TimeoutException):
        return f"timeout ({type(error).__name__})"
    reason = str(error.__cause__ or error).split("\n")[0][:120]
    return f"{type(error).__name__}: {reason}" if reason else type(error).__name__
