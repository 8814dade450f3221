"""Which webhook URLs and addresses may be called: a URL that passes the common rules
(app.domain.urls.http_url), whose host resolves only to globally routable addresses unless
the operator allows a private network. Pure: resolving is the caller's."""

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from app.domain.urls import UnsafeUrl, http_url

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class RefusedUrl(ValueError):
    """A URL rectrack will not call."""


@dataclass(frozen=True)
class Target:
    url: str  # normalised: what is stored and called
    scheme: str
    host: str  # ASCII, lower-cased, without IPv6 brackets
    port: int


def parse_networks(text: str) -> tuple[Network, ...]:
    """``"127.0.0.0/8, 10.0.0.0/8"`` -> networks; empty for ``""``."""
    return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in text.split(",") if p.strip())


def target(url: str) -> Target:
    """The normalised URL, scheme, host and port of a webhook URL, or RefusedUrl."""
    try:
        parsed = http_url(url)
    except UnsafeUrl as unsafe:
        raise RefusedUrl(f"the URL {unsafe.reason}") from None
    return Target(parsed.url, parsed.scheme, parsed.host, parsed.port)


def address_allowed(address: Address, allowed: Iterable[Network]) -> bool:
    """Globally routable, or inside a network the operator allowed."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in network for network in allowed if network.version == address.version):
        return True
    return address.is_global and not address.is_multicast


def check_addresses(host: str, addresses: Iterable[Address], allowed: Iterable[Network]) -> None:
    """RefusedUrl unless there is at least one address and every one is allowed."""
    addresses = list(addresses)
    allowed = tuple(allowed)
    if not addresses:
        raise RefusedUrl(f"{host} does not resolve to any address")
    for address in addresses:
        if not address_allowed(address, allowed):
            raise RefusedUrl(
                f"{host} resolves to {address}, which is not a public address "
                "(an operator may allow private networks with RECTRACK_WEBHOOK_ALLOWED_NETWORKS)"
            )
