"""The one rule for links people are shown (and, later, addresses the service calls)."""

import pytest

from app.domain.urls import UnsafeUrl, public_http_url


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("https://example.org/e", "https://example.org/e"),
        ("HTTPS://Example.ORG/Audit.pdf", "https://example.org/Audit.pdf"),
        ("http://example.org", "http://example.org/"),
        ("https://example.org:443/x", "https://example.org/x"),
        ("https://example.org:8443/x", "https://example.org:8443/x"),
        ("https://example.org/caf\u00e9?q=\u00e9#\u00e9", "https://example.org/caf%C3%A9?q=%C3%A9#%C3%A9"),
        ("https://example.org/a%20b", "https://example.org/a%20b"),
        ("https://b\u00fccher.example/", "https://xn--bcher-kva.example/"),
        ("https://8.8.8.8/x", "https://8.8.8.8/x"),
    ],
)
def test_public_links_are_accepted_normalised(raw, normalised):
    assert public_http_url(raw) == normalised


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("ftp://example.org/x", "http or https"),
        ("javascript:alert(1)", "http or https"),
        ("https://user:x@evil.example/", "user name or password"),
        ("https://user@evil.example/", "user name or password"),
        ("http://127.0.0.1/admin", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://10.0.0.5/", "private"),
        ("http://192.168.1.1/", "private"),
        ("http://[::1]/", "loopback"),
        ("http://[fe80::1]/", "link-local"),
        ("http://0.0.0.0/", "private"),
        ("http://2130706433/", "public host"),
        ("http://0x7f.0x0.0x0.0x1/", "numbers"),
        ("http://localhost:8000/", "public host"),
        ("http://intranet.local/", "local"),
        ("http://intranet/", "public host"),
        ("https://example.org/<script>alert(1)</script>", "'<'"),
        ('https://example.org/"onmouseover=x', "'\"'"),
        ("https://example.org/\u202egnp.exe", "U+202E"),
        ("https://exa\u200bmple.org/", "U+200B"),
        ("https://example.org/a\x1b[31m", "U+001B"),
        ("https://example.org/a b", "spaces"),
        ("https://\u0430pple.com/", "mixes scripts"),  # Cyrillic a, then Latin
        ("https://example.org:99999/", "valid URL"),
        ("https:///path", "host"),
        ("https://" + "a" * 2000 + ".org/", "2000"),
    ],
)
def test_unsafe_links_are_refused_with_the_reason(raw, reason):
    with pytest.raises(UnsafeUrl) as refused:
        public_http_url(raw)
    assert reason in refused.value.reason
