"""Resolving a webhook's host and checking every address it resolves to."""

import ipaddress
import socket
from collections.abc import Callable, Iterable

from app.domain.webhook_urls import Address, Network, RefusedUrl, Target, check_addresses, target


def resolve(host: str, port: int) -> list[Address]:
    """Every address ``host`` resolves to (an IP literal resolves to itself)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise RefusedUrl(f"{host} cannot be resolved ({error})") from None
    seen: dict[str, Address] = {}
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
        seen.setdefault(str(address), address)
    return list(seen.values())


Resolver = Callable[[str, int], list[Address]]


def literal_addresses_only(host: str, port: int) -> list[Address]:
    """A resolver for tests that must not query DNS: IP literals resolve, names do not."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        raise RefusedUrl(f"{host} cannot be resolved (names are not looked up here)") from None


def checked_target(
    url: str, allowed: Iterable[Network], resolver: Resolver = resolve
) -> tuple[Target, list[Address]]:
    """The URL's target and its addresses, all allowed, or RefusedUrl."""
    where = target(url)
    addresses = resolver(where.host, where.port)
    check_addresses(where.host, addresses, allowed)
    return where, addresses
