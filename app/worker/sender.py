"""One HTTP attempt of a delivery, outside any database transaction.

The host is resolved here, every address is checked, and the request goes to the checked
address itself (with the Host header and TLS server name of the URL), so a DNS answer that
changes between the check and the connection cannot point the request elsewhere.
"""

import ipaddress
from urllib.parse import urlsplit, urlunsplit

import httpx

from app.clock import Clock
from app.domain.webhook_urls import Network, RefusedUrl
from app.services.webhook_network import checked_target
from app.services.webhook_secrets import signature_header
from app.services.webhooks import AttemptResult, DeliveryJob

USER_AGENT = "rectrack-webhooks/1"


def _elapsed_ms(clock: Clock, started) -> int:
    return max(int((clock.now() - started).total_seconds() * 1000), 0)


def send(job: DeliveryJob, *, timeout: float, allowed: tuple[Network, ...], clock: Clock) -> AttemptResult:
    started = clock.now()
    if not job.secrets:
        return AttemptResult(started, 0, error="the signing secret cannot be decrypted: rotate it")
    try:
        where, addresses = checked_target(job.url, allowed)
    except RefusedUrl as refused:
        return AttemptResult(started, _elapsed_ms(clock, started), error=f"refused: {refused}")
    address = addresses[0]
    parts = urlsplit(where.url)
    literal = f"[{address}]" if address.version == 6 else str(address)
    connect_to = urlunsplit(parts._replace(netloc=f"{literal}:{where.port}"))
    timestamp = clock.now()
    headers = {
        "host": parts.netloc,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": job.message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signature_header(
            secrets_=job.secrets, message_id=job.message_id, timestamp=timestamp, body=job.body
        ),
    }
    extensions = {}
    if where.scheme == "https" and not _is_ip(where.host):
        extensions["sni_hostname"] = where.host
    try:
        with (
            httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client,
            client.stream(
                "POST", connect_to, content=job.body.encode(), headers=headers, extensions=extensions
            ) as response,
        ):
            # The body is not read: a receiver's answer is its status (and Retry-After).
            return AttemptResult(
                started,
                _elapsed_ms(clock, started),
                status_code=response.status_code,
                retry_after=response.headers.get("retry-after"),
            )
    except httpx.HTTPError as error:
        return AttemptResult(
            started, _elapsed_ms(clock, started), error=f"{type(error).__name__}: {error}"[:500]
        )


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
