"""Which webhook URLs and addresses may be called: http(s), and only globally routable
addresses unless the operator allows a private network. Pure: resolving is the caller's."""

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL_LENGTH = 2000


class RefusedUrl(ValueError):
    """A URL rectrack will not call."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as written, lower-cased, without IPv6 brackets
    port: int


def parse_networks(text: str) -> tuple[Network, ...]:
    """``"127.0.0.0/8, 10.0.0.0/8"`` -> networks; empty for ``""``."""
    return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in text.split(",") if p.strip())


def target(url: str) -> Target:
    """The scheme, host and port of a webhook URL, or RefusedUrl."""
    if len(url) > MAX_URL_LENGTH:
        raise RefusedUrl(f"the URL is longer than {MAX_URL_LENGTH} characters")
    if any(c.isspace() or ord(c) < 32 for c in url):
        raise RefusedUrl("the URL contains whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise RefusedUrl(f"the URL cannot be parsed ({error})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise RefusedUrl("only http and https URLs can receive webhooks")
    if parts.username is not None or parts.password is not None:
        raise RefusedUrl("the URL must not carry a user name or password")
    host = (parts.hostname or "").lower()
    if not host:
        raise RefusedUrl("the URL has no host")
    return Target(scheme, host, port or (443 if scheme == "https" else 80))


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
