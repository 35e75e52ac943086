"""Which callback URLs netweave will POST to (docs/architecture.md §7, issue 4 item 2). Pure: addresses are resolved
elsewhere.

Checked at subscription creation and again before every delivery, because DNS can change: a callback that
resolved to a public address yesterday may point at the cloud metadata service today.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from chalicelib.domain.errors import BadRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Cloud metadata endpoints (AWS/GCP/Azure/OpenStack, AWS IPv6, Alibaba, Oracle): never a callback, even if allowed.
METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254", "fd00:ec2::254", "100.100.100.200", "192.0.0.192",
))
_SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT: internal, though not "private"
_SITE_LOCAL = ipaddress.ip_network("fec0::/10")  # deprecated (RFC 3879) but still routed inside some networks
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # well-known NAT64 prefix (RFC 6052): the last 32 bits are IPv4


class CallbackRefused(BadRequest):
    """A callback netweave must not call. At creation: 400; at delivery: the notification goes to the DLQ."""

    slug = "callback-refused"


@dataclass(frozen=True)
class CallbackPolicy:
    allow_http: bool = False  # plain http only where the operator allows it (the local stack does, for loopback)
    allowed_networks: tuple[IPNetwork, ...] = ()  # private SMO networks an operator admits explicitly
    allowed_hosts: frozenset[str] = field(default_factory=frozenset)
    http_networks: tuple[IPNetwork, ...] = ()  # if set, plain http only to these (the local stack: loopback)
    # If set, an egress allow-list: every outbound request goes to these networks only (the test stacks: loopback,
    # so no generated input ever makes the gateway dial the internet).
    egress_networks: tuple[IPNetwork, ...] = ()


@dataclass(frozen=True)
class Callback:
    url: str
    scheme: str
    host: str
    port: int


def parse_callback(url: str, policy: CallbackPolicy) -> Callback:
    """Syntax and scheme: an absolute https (or allowed http) URL with a host, no credentials, no fragment."""
    if not isinstance(url, str) or not url or len(url) > 2048 or any(c.isspace() for c in url):
        raise CallbackRefused("callback: must be an absolute URL of at most 2048 characters without spaces")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise CallbackRefused("callback: is not a valid URL") from None
    schemes = {"https", "http"} if policy.allow_http else {"https"}
    if parts.scheme not in schemes:
        raise CallbackRefused(f"callback: scheme must be {' or '.join(sorted(schemes))} (got '{parts.scheme}')")
    if not parts.hostname:
        raise CallbackRefused("callback: has no host")
    if parts.username or parts.password:
        raise CallbackRefused("callback: must not carry credentials; configure OAuth2 towards the SMO instead")
    if parts.fragment:
        raise CallbackRefused("callback: must not have a fragment")
    default_port = 443 if parts.scheme == "https" else 80
    return Callback(url, parts.scheme, parts.hostname.lower(), port or default_port)


def check_addresses(callback: Callback, addresses: Iterable[IPAddress], policy: CallbackPolicy) -> None:
    """Refuse loopback, link-local, private, multicast, reserved and metadata addresses unless the policy admits
    them (a host on the allow-list, or an address in an allowed network; metadata addresses never)."""
    resolved = list(addresses)
    if not resolved:
        raise CallbackRefused(f"callback: host '{callback.host}' does not resolve")
    for address in (embedded_ipv4(a) for a in resolved):
        if callback.scheme == "http" and policy.http_networks and not any(address in n for n in policy.http_networks):
            raise CallbackRefused(f"callback: plain http is allowed only to {_names(policy.http_networks)}; use https")
        if address in METADATA_ADDRESSES:
            raise CallbackRefused(f"callback: '{callback.host}' resolves to a cloud metadata address")
        if policy.egress_networks and not any(address in n for n in policy.egress_networks):
            raise CallbackRefused(f"callback: '{callback.host}' is outside the networks this gateway may reach "
                                  f"({_names(policy.egress_networks)})")
        if _internal(address) and not _admitted(callback.host, address, policy):
            raise CallbackRefused(
                f"callback: '{callback.host}' resolves to {address}, an internal address; an operator can admit "
                "private SMO networks with NETWEAVE_CALLBACK_ALLOWED_NETWORKS"
            )


def embedded_ipv4(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 address leads to, where it embeds one: IPv4-mapped (::ffff:0:0/96), NAT64
    (64:ff9b::/96) and 6to4 (2002::/16) reach the embedded IPv4 host, so that host is what the policy must judge
    (2002:a9fe:a9fe:: is the metadata service, 64:ff9b::a00:1 is 10.0.0.1)."""
    if not isinstance(address, ipaddress.IPv6Address):
        return address
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    return address


def is_internal(address: IPAddress) -> bool:
    """Loopback, link-local, private, multicast, reserved, shared or site-local, also behind an IPv6 embedding."""
    return _internal(embedded_ipv4(address))


def all_public(addresses: Iterable[IPAddress]) -> bool:
    """Whether every address is a public one (what may be told about a host to whoever named it)."""
    resolved = list(addresses)
    return bool(resolved) and not any(_internal(embedded_ipv4(a)) or embedded_ipv4(a) in METADATA_ADDRESSES
                                      for a in resolved)


def _internal(address: IPAddress) -> bool:
    return (address.is_loopback or address.is_link_local or address.is_private or address.is_multicast
            or address.is_reserved or address.is_unspecified
            or (isinstance(address, ipaddress.IPv4Address) and address in _SHARED_ADDRESS_SPACE)
            or (isinstance(address, ipaddress.IPv6Address) and address in _SITE_LOCAL))


def _admitted(host: str, address: IPAddress, policy: CallbackPolicy) -> bool:
    return host in policy.allowed_hosts or any(address in network for network in policy.allowed_networks)


def _names(networks: tuple[IPNetwork, ...]) -> str:
    return ", ".join(str(n) for n in networks)


def parse_networks(text: str) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in text.split(",") if item.strip())
