"""Which callbacks netweave will call: the SSRF guard at creation and at delivery (docs/architecture.md §7)."""

import ipaddress

import pytest

from chalicelib.domain.callback_policy import (
    CallbackPolicy,
    CallbackRefused,
    all_public,
    check_addresses,
    parse_callback,
    parse_networks,
)

STRICT = CallbackPolicy()
LOCAL = CallbackPolicy(allow_http=True, allowed_networks=parse_networks("127.0.0.0/8"),
                       http_networks=parse_networks("127.0.0.0/8"))


def check(url: str, *addresses: str, policy: CallbackPolicy = STRICT) -> None:
    check_addresses(parse_callback(url, policy), [ipaddress.ip_address(a) for a in addresses], policy)


def test_a_public_https_callback_is_accepted() -> None:
    check("https://smo.operator.example/notify", "93.184.216.34")
    assert parse_callback("https://smo.example:8443/a?b=c", STRICT).port == 8443


@pytest.mark.parametrize(
    ("url", "message"),
    [("http://smo.example/cb", "scheme must be https"), ("ftp://smo.example/cb", "scheme"), ("/relative", "scheme"),
     ("https://user:pw@smo.example/cb", "credentials"), ("https:///nohost", "no host"),
     ("https://smo.example/cb#frag", "fragment"), ("https://smo.example/a b", "without spaces"),
     ("https://smo.example:99999/", "not a valid URL"), ("", "absolute URL")],
)
def test_malformed_callbacks_are_refused_naming_the_problem(url: str, message: str) -> None:
    with pytest.raises(CallbackRefused, match=message):
        parse_callback(url, STRICT)


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.10.1", "100.64.0.1", "224.0.0.1", "0.0.0.0",
     "::1", "fe80::1", "fc00::1", "::ffff:10.0.0.1"],
)
def test_internal_addresses_are_refused(address: str) -> None:
    with pytest.raises(CallbackRefused, match="internal address"):
        check("https://smo.example/cb", address)


@pytest.mark.parametrize("address", ["169.254.169.254", "fd00:ec2::254", "::ffff:169.254.169.254"])
def test_metadata_addresses_are_refused_even_inside_an_allowed_network(address: str) -> None:
    policy = CallbackPolicy(allowed_networks=parse_networks("169.254.0.0/16,fd00::/8"))
    with pytest.raises(CallbackRefused, match="metadata"):
        check("https://smo.example/cb", address, policy=policy)


def test_one_bad_address_among_several_is_enough_to_refuse() -> None:
    with pytest.raises(CallbackRefused):
        check("https://smo.example/cb", "93.184.216.34", "10.0.0.5")


def test_an_unresolvable_host_is_refused() -> None:
    with pytest.raises(CallbackRefused, match="does not resolve"):
        check("https://nowhere.invalid/cb")


def test_operators_can_admit_a_private_smo_network_or_host() -> None:
    private = CallbackPolicy(allowed_networks=parse_networks("10.20.0.0/16"))
    check("https://smo.internal/cb", "10.20.0.7", policy=private)
    check("https://smo.internal/cb", "10.99.0.7", policy=CallbackPolicy(allowed_hosts=frozenset({"smo.internal"})))


def test_the_local_stack_allows_plain_http_to_loopback_and_only_there() -> None:
    check("http://127.0.0.1:9000/cb", "127.0.0.1", policy=LOCAL)
    with pytest.raises(CallbackRefused, match="plain http is allowed only"):
        check("http://smo.example/cb", "93.184.216.34", policy=LOCAL)
    with pytest.raises(CallbackRefused, match="internal address"):
        check("https://smo.example/cb", "10.0.0.1", policy=LOCAL)


@pytest.mark.parametrize(
    "address",
    ["2002:a00:1::1",  # 6to4 of 10.0.0.1
     "2002:7f00:1::",  # 6to4 of 127.0.0.1
     "fec0::1",  # site-local
     "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
     "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
     "64:ff9b:1::a00:1",  # local-use NAT64 prefix
     "::ffff:192.168.0.1"],
)
def test_ipv6_forms_of_internal_addresses_are_refused(address: str) -> None:
    with pytest.raises(CallbackRefused, match="internal address"):
        check("https://smo.example/cb", address)


@pytest.mark.parametrize("address", ["2002:a9fe:a9fe::1", "64:ff9b::a9fe:a9fe"])
def test_ipv6_forms_of_the_metadata_address_are_refused_even_when_allowed(address: str) -> None:
    policy = CallbackPolicy(allowed_networks=parse_networks("169.254.0.0/16,2002::/16,64:ff9b::/96"))
    with pytest.raises(CallbackRefused, match="metadata"):
        check("https://smo.example/cb", address, policy=policy)


@pytest.mark.parametrize("address", ["2002:5db8:d822::1", "64:ff9b::5db8:d822"])
def test_ipv6_forms_of_a_public_address_are_accepted(address: str) -> None:
    check("https://smo.example/cb", address)  # 93.184.216.34 behind 6to4 and NAT64


def test_only_hosts_whose_every_address_is_public_count_as_public() -> None:
    """What decides whether a packageUrl failure may name its HTTP status."""
    def addresses(*texts: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
        return [ipaddress.ip_address(t) for t in texts]

    assert all_public(addresses("93.184.216.34", "2606:2800:220:1::1"))
    assert not all_public(addresses("93.184.216.34", "10.0.0.1"))
    assert not all_public(addresses("2002:a9fe:a9fe::1")) and not all_public(addresses("64:ff9b::7f00:1"))
    assert not all_public([])


def test_an_egress_allow_list_refuses_every_address_outside_it() -> None:
    policy = CallbackPolicy(allow_http=True, allowed_networks=parse_networks("127.0.0.0/8"),
                            egress_networks=parse_networks("127.0.0.0/8"))
    check_addresses(parse_callback("http://127.0.0.1:9000/smo", policy), [ipaddress.ip_address("127.0.0.1")], policy)
    public = parse_callback("https://93.184.215.14/smo", policy)
    with pytest.raises(CallbackRefused, match="outside the networks this gateway may reach"):
        check_addresses(public, [ipaddress.ip_address("93.184.215.14")], policy)
