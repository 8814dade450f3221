"""The one rule for URLs rectrack stores, shows or calls: http(s), checked and normalised.

Pure. :func:`http_url` holds the rules every URL the service stores or calls follows
(http or https, no user name or password, no control, invisible or markup characters,
a host name in one script per label) and normalises it (scheme and host in lower case,
an internationalised host in its ASCII form, the rest percent-encoded), or raises
:class:`UnsafeUrl` saying why not. :func:`public_http_url`, for evidence links and
report sources, adds that the host is public; app.domain.webhook_urls adds what a
webhook's address needs (the networks it may resolve to).
"""

import ipaddress
import unicodedata
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

MAX_LENGTH = 2000
# Characters that change how text around them is displayed, or hide: never in a link.
_INVISIBLE = frozenset(
    "\u061c\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\u2066\u2067\u2068\u2069\ufeff"
)
# Raw characters that mean markup in a page: a link holding them is an injection attempt.
_MARKUP = frozenset('<>"`')
# Left as they are in a path, query or fragment; anything else is percent-encoded.
_SAFE = "/?#[]@!$&'()*+,;=:%-._~"
_LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".home.arpa", ".localdomain")


class UnsafeUrl(ValueError):
    """The URL is refused; ``reason`` says why, for the person who sent it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class HttpUrl:
    """An http(s) URL that passed the common rules, normalised."""

    url: str  # the whole URL, normalised
    scheme: str  # "http" or "https"
    host: str  # ASCII, lower case, without IPv6 brackets; an address in its compressed form
    port: int  # the port it is called on (80 and 443 when the URL gives none)
    address: ipaddress.IPv4Address | ipaddress.IPv6Address | None  # when the host is one


def http_url(raw: str) -> HttpUrl:
    """``raw`` as a normalised absolute http(s) URL, or raise :class:`UnsafeUrl`: the rules
    every URL rectrack stores or calls follows (whether its host may be called, or shown
    to people, is for the layer above to say)."""
    if len(raw) > MAX_LENGTH:
        raise UnsafeUrl(f"must be at most {MAX_LENGTH} characters")
    _check_characters(raw)
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl(f"is not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UnsafeUrl("must be an absolute http or https URL")
    if "@" in parts.netloc:
        raise UnsafeUrl("must not carry a user name or password")
    if not parts.hostname:
        raise UnsafeUrl("must name a host")
    address = _address(parts.hostname)
    host = address.compressed if address is not None else _ascii_host(parts.hostname)
    netloc = f"[{host}]" if ":" in host else host
    default_port = {"http": 80, "https": 443}[scheme]
    if port is not None and port != default_port:
        netloc = f"{netloc}:{port}"
    path = quote(parts.path, safe=_SAFE) or "/"
    query, fragment = quote(parts.query, safe=_SAFE), quote(parts.fragment, safe=_SAFE)
    url = urlunsplit((scheme, netloc, path, query, fragment))
    return HttpUrl(url=url, scheme=scheme, host=host, port=port or default_port, address=address)


def public_http_url(raw: str) -> str:
    """``raw`` as a normalised http(s) URL to a public host, or raise :class:`UnsafeUrl`."""
    parsed = http_url(raw)
    if parsed.address is not None:
        if not parsed.address.is_global or parsed.address.is_multicast:
            raise UnsafeUrl(
                f"must not point at a private, loopback or link-local address ({parsed.address})"
            )
        return parsed.url
    labels = parsed.host.split(".")
    if len(labels) < 2:
        raise UnsafeUrl("must name a public host (such as example.org)")
    if all(label.isdigit() or label.startswith("0x") for label in labels):
        raise UnsafeUrl("must not point at an address written as numbers")
    if parsed.host == "localhost" or parsed.host.endswith(_LOCAL_SUFFIXES):
        raise UnsafeUrl("must name a public host, not a local one")
    if labels[-1].isdigit():
        raise UnsafeUrl("must name a public host (such as example.org)")
    return parsed.url


def _check_characters(raw: str) -> None:
    for char in raw:
        if char.isspace():
            raise UnsafeUrl("must not contain spaces")
        if unicodedata.category(char) in ("Cc", "Cf") or char in _INVISIBLE:
            raise UnsafeUrl(f"must not contain control or invisible characters (U+{ord(char):04X})")
        if char in _MARKUP:
            raise UnsafeUrl(f"must not contain {char!r}: percent-encode it")


def _address(hostname: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(hostname)
    except ValueError:
        return None


def _ascii_host(hostname: str) -> str:
    """A host name in ASCII lower case (IDNA), each label in one script."""
    host = hostname.rstrip(".").lower()
    labels = host.split(".")
    if not all(labels):
        raise UnsafeUrl("has a host name that is not valid")
    for label in labels:
        _check_single_script(label)
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        raise UnsafeUrl("has a host name that is not valid") from None


def _check_single_script(label: str) -> None:
    """A host label in two scripts ("аpple": Cyrillic а, Latin pple) imitates another: refused."""
    if label.isascii():
        return
    scripts = {unicodedata.name(char, "UNKNOWN").split()[0] for char in label if char.isalpha()}
    if len(scripts) > 1:
        raise UnsafeUrl(f"has a host that mixes scripts ({', '.join(sorted(scripts)).lower()}): a look-alike")
