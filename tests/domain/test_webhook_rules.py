"""Webhook rules: which events a change makes, retry timing, and which addresses may be called."""

import ipaddress
import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.urls import UnsafeUrl, http_url
from app.domain.webhook_delivery import DEFAULT_RETRY_SCHEDULE, JITTER, outcome, parse_schedule, retry_after
from app.domain.webhook_events import EVENT_TYPES, events_for_change
from app.domain.webhook_urls import RefusedUrl, address_allowed, check_addresses, parse_networks, target

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("entity", "action", "before", "after", "types"),
    [
        ("report", "create", None, {"id": 1}, ["report.created"]),
        (
            "report",
            "update",
            {"action_plan_submitted_date": None},
            {"action_plan_submitted_date": "2018-06-01"},
            ["action_plan.submitted"],
        ),
        (
            "report",
            "update",
            {"action_plan_submitted_date": "2018-06-01"},
            {"action_plan_submitted_date": "2018-06-02"},
            [],
        ),
        ("report", "update", {"title": "a"}, {"title": "b"}, []),
        (
            "progress_update",
            "create",
            None,
            {"id": 4, "recommendation_status": {"before": "not_started", "after": "in_progress"}},
            ["progress_update.created", "recommendation.status_changed"],
        ),
        (
            "progress_update",
            "create",
            None,
            {"id": 4, "recommendation_status": {"before": "in_progress", "after": "in_progress"}},
            ["progress_update.created"],
        ),
        ("evidence_link", "create", None, {"id": 2}, ["evidence_link.created"]),
        (
            "recommendation",
            "verified",
            {"status": "implemented"},
            {"status": "verified"},
            ["recommendation.decision_recorded", "recommendation.status_changed"],
        ),
        (
            "recommendation",
            "change_target_date",
            {"target_date": None},
            {"target_date": "2018-09-01"},
            ["recommendation.target_date_changed"],
        ),
        ("api_key", "create", None, {"id": 1}, []),
        ("webhook_endpoint", "create", None, {"id": 1}, []),
    ],
)
def test_events_for_change(entity, action, before, after, types):
    events = events_for_change(entity=entity, action=action, before=before, after=after)
    assert [e.type for e in events] == types
    assert all(e.type in EVENT_TYPES for e in events)


def test_the_schedule_is_followed_with_jitter():
    rand = random.Random(1)
    for made, delay in enumerate(DEFAULT_RETRY_SCHEDULE[1:], start=1):
        decided = outcome(
            status_code=500,
            attempts_made=made,
            schedule=DEFAULT_RETRY_SCHEDULE,
            now=NOW,
            failing_since=NOW,
            rand=rand,
        )
        wait = (decided.next_attempt_at - NOW).total_seconds()
        assert delay * (1 - JITTER) <= wait <= delay * (1 + JITTER)
        assert not decided.succeeded and not decided.disable_endpoint
    last = outcome(
        status_code=None,
        attempts_made=len(DEFAULT_RETRY_SCHEDULE),
        schedule=DEFAULT_RETRY_SCHEDULE,
        now=NOW,
        failing_since=NOW,
    )
    assert last.next_attempt_at is None and not last.disable_endpoint


@pytest.mark.parametrize(
    ("status", "failing_for", "succeeded", "disabled", "again"),
    [
        (200, None, True, False, False),
        (204, timedelta(days=6), True, False, False),
        (410, None, False, True, False),
        (500, timedelta(days=4, hours=23), False, False, True),
        (500, timedelta(days=5), False, True, False),
        (None, timedelta(days=5, seconds=1), False, True, False),
        (301, None, False, False, True),  # redirects are not followed: a failure
    ],
)
def test_outcomes(status, failing_for, succeeded, disabled, again):
    decided = outcome(
        status_code=status,
        attempts_made=1,
        schedule=DEFAULT_RETRY_SCHEDULE,
        now=NOW,
        failing_since=None if failing_for is None else NOW - failing_for,
    )
    assert (decided.succeeded, decided.disable_endpoint, decided.next_attempt_at is not None) == (
        succeeded,
        disabled,
        again,
    )


def test_retry_after_is_honoured_when_longer():
    decided = outcome(
        status_code=503,
        attempts_made=1,
        schedule=(0, 5),
        now=NOW,
        failing_since=NOW,
        retry_after_header="120",
    )
    assert decided.next_attempt_at == NOW + timedelta(seconds=120)
    assert retry_after("Mon, 05 Jan 2026 09:10:00 GMT", NOW) == timedelta(minutes=10)
    assert retry_after("soon", NOW) is None
    assert retry_after("999999999", NOW) == timedelta(hours=10)


@pytest.mark.parametrize("text", ["", "a,b", "5,-1"])
def test_bad_schedules_are_refused(text):
    with pytest.raises(ValueError):
        parse_schedule(text)


@pytest.mark.parametrize(
    ("address", "allowed", "ok"),
    [
        ("93.184.216.34", "", True),
        ("2606:2800:220:1:248:1893:25c8:1946", "", True),
        ("127.0.0.1", "", False),
        ("10.1.2.3", "", False),
        ("172.16.0.1", "", False),
        ("192.168.0.1", "", False),
        ("169.254.169.254", "", False),
        ("100.64.0.1", "", False),  # carrier-grade NAT
        ("0.0.0.0", "", False),
        ("224.0.0.1", "", False),
        ("::1", "", False),
        ("fd00::1", "", False),
        ("fe80::1", "", False),
        ("::ffff:127.0.0.1", "", False),  # IPv4-mapped loopback
        ("127.0.0.1", "127.0.0.0/8", True),
        ("::ffff:127.0.0.1", "127.0.0.0/8", True),
        ("10.1.2.3", "127.0.0.0/8", False),
    ],
)
def test_addresses(address, allowed, ok):
    assert address_allowed(ipaddress.ip_address(address), parse_networks(allowed)) is ok


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.org/",
        "file:///etc/passwd",
        "http://",
        "https://user:pw@example.org/",
        "http://exa mple.org/",
        "http://example.org:99999/",
        "javascript:alert(1)",
        "http://example.org/" + "a" * 2000,
        "https://\u0430pple.com/hook",  # Cyrillic a, then Latin: a look-alike
        "https://example.org/\u202egnp.exe",  # a bidi override
        "https://exa\u200bmple.org/",  # an invisible character
        "https://example.org/<script>",
        "https://user@example.org/",
        "http://a..b/",
    ],
)
def test_refused_urls(url):
    with pytest.raises(RefusedUrl):
        target(url)


URLS = [
    "HTTPS://Example.ORG:443/Hook",
    "http://127.0.0.1:8080/caf\u00e9?q=\u00e9",
    "https://b\u00fccher.example/hook",
    "http://[::1]:9/x",
    "http://localhost/x",
    "https://\u0430pple.com/",
    "https://example.org/\u202e",
    "ftp://example.org/",
    "https://u:p@example.org/",
    "https://example.org/a b",
]


@pytest.mark.parametrize("url", URLS)
def test_webhook_urls_follow_the_common_url_rules(url):
    """One implementation: a webhook URL is refused exactly when the common rules refuse it,
    and is kept as they normalise it; only which addresses it may reach is its own."""
    try:
        common = http_url(url)
    except UnsafeUrl:
        with pytest.raises(RefusedUrl):
            target(url)
        return
    assert (target(url).url, target(url).host, target(url).port) == (common.url, common.host, common.port)


def test_a_webhook_url_is_normalised():
    assert target("HTTPS://B\u00fccher.Example:443/caf\u00e9").url == "https://xn--bcher-kva.example/caf%C3%A9"
    assert target("http://127.0.0.1:8080").url == "http://127.0.0.1:8080/"


def test_target_and_every_address_checked():
    assert target("HTTPS://Example.org/hook").host == "example.org"
    assert target("https://example.org/hook").port == 443
    assert target("http://[::1]:8080/").host == "::1"
    with pytest.raises(RefusedUrl):
        check_addresses(
            "mixed.example", [ipaddress.ip_address("93.184.216.34"), ipaddress.ip_address("10.0.0.1")], ()
        )
    with pytest.raises(RefusedUrl):
        check_addresses("nothing.example", [], ())


@given(st.ip_addresses())
def test_only_global_addresses_pass_without_allowed_networks(address):
    if address_allowed(address, ()):
        mapped = getattr(address, "ipv4_mapped", None)
        assert (mapped or address).is_global
