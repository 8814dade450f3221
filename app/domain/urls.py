"""Which links rectrack shows people: http(s) URLs to a public host, normalised.

Pure: used for evidence links and report sources, and meant for any other URL the
service stores or calls (a webhook's address wants the same check).
:func:`public_http_url` returns the URL normalised (scheme and host in lower case,
an internationalised host in its ASCII form, the rest percent-encoded) or raises
:class:`UnsafeUrl` saying why not.
"""

import ipaddress
import unicodedata
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


def public_http_url(raw: str) -> str:
    """``raw`` as a normalised http(s) URL to a public host, or raise :class:`UnsafeUrl`."""
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
    host = _public_host(parts.hostname)
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != {"http": 80, "https": 443}[scheme]:
        netloc = f"{netloc}:{port}"
    path = quote(parts.path, safe=_SAFE) or "/"
    return urlunsplit(
        (scheme, netloc, path, quote(parts.query, safe=_SAFE), quote(parts.fragment, safe=_SAFE))
    )


def _check_characters(raw: str) -> None:
    for char in raw:
        if char.isspace():
            raise UnsafeUrl("must not contain spaces")
        if unicodedata.category(char) in ("Cc", "Cf") or char in _INVISIBLE:
            raise UnsafeUrl(f"must not contain control or invisible characters (U+{ord(char):04X})")
        if char in _MARKUP:
            raise UnsafeUrl(f"must not contain {char!r}: percent-encode it")


def _public_host(hostname: str) -> str:
    """The host in ASCII lower case; refused when it is an address or name that is not public."""
    try:
        address = ipaddress.ip_address(hostname)
    except ValueError:
        address = None
    if address is not None:
        if not address.is_global or address.is_multicast:
            raise UnsafeUrl(f"must not point at a private, loopback or link-local address ({address})")
        return address.compressed
    host = hostname.rstrip(".").lower()
    labels = host.split(".")
    if len(labels) < 2 or not all(labels):
        raise UnsafeUrl("must name a public host (such as example.org)")
    if all(label.isascii() and (label.isdigit() or label.startswith("0x")) for label in labels):
        raise UnsafeUrl("must not point at an address written as numbers")
    if host == "localhost" or host.endswith(_LOCAL_SUFFIXES):
        raise UnsafeUrl("must name a public host, not a local one")
    for label in labels:
        _check_single_script(label)
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise UnsafeUrl("has a host name that is not valid") from None
    if labels[-1].isdigit():
        raise UnsafeUrl("must name a public host (such as example.org)")
    return ascii_host


def _check_single_script(label: str) -> None:
    """A host label in two scripts ("аpple": Cyrillic а, Latin pple) imitates another: refused."""
    if label.isascii():
        return
    scripts = {unicodedata.name(char, "UNKNOWN").split()[0] for char in label if char.isalpha()}
    if len(scripts) > 1:
        raise UnsafeUrl(f"has a host that mixes scripts ({', '.join(sorted(scripts)).lower()}): a look-alike")
