"""Before the load: one request of each kind (sizes, ETag, statuses, idempotency), and each alone."""

from __future__ import annotations

import json
import secrets
import time

from bench.after_write import WRITES, after_writes
from bench.processes import http
from bench.scenarios import SUMMARY, overdue_path, progress_body, progress_path


def preflight(base: str, auth: dict, manifest: dict, as_of: str) -> dict:
    """One request of each kind before the load: sizes, ETag, status codes, idempotency.

    The reads right after writes first (``after_writes``, which leave answers in memory), then
    the reads, then the writes (which change what the summaries say, so the probes of (c) and
    (d) find their answers not yet computed: "first ms"), then the ETag that (a) polls with,
    still current when it does."""
    info: dict = {"after_writes": after_writes(base, auth, manifest["write_targets"][-WRITES:])}
    checks = {
        "report_summary": f"/api/v1/reports/{manifest['report_ids'][0]}/summary",
        "overdue": overdue_path(as_of),
        "overdue_today": overdue_path(None),
        "detail": f"/api/v1/recommendations/{manifest['recommendation_ids'][0]}",
    }
    for name, path in checks.items():
        status, _, body = http("GET", base + path, auth)
        info[f"{name}_status"] = status
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}: {body[:300]!r}")
        if name.startswith("overdue"):
            info[f"{name}_total"] = json.loads(body).get("total")
            info[f"{name}_bytes"] = len(body)
    rec_id, code = manifest["write_targets"][0]
    headers = {
        **auth,
        "Content-Type": "application/json",
        "Idempotency-Key": f"bench-preflight-{secrets.token_hex(8)}",
    }
    url = base + progress_path(rec_id)
    first = http("POST", url, headers, progress_body(code))
    info["post_status"] = first[0]
    if first[0] != 201:
        raise RuntimeError(f"POST {url} answered {first[0]}: {first[2][:300]!r}")
    again = http("POST", url, headers, progress_body(code))
    info["idempotency_replayed"] = again[0] in (200, 201) and _json_id(again[2]) == _json_id(first[2])
    status, _, _ = http("GET", base + SUMMARY)
    info["anonymous_summary_status"] = status
    status, headers, body = http("GET", base + SUMMARY, auth)
    if status != 200:
        raise RuntimeError(f"GET {SUMMARY} answered {status}: {body[:300]!r}")
    info["summary_bytes"] = len(body)
    etag = next((v for k, v in headers.items() if k.lower() == "etag"), None)
    info["etag"] = etag
    if etag:
        status, _, _ = http("GET", base + SUMMARY, {**auth, "If-None-Match": etag})
        info["conditional_status"] = status
    return info


def _json_id(body: bytes):
    try:
        return json.loads(body).get("id")
    except (ValueError, AttributeError):
        return None


def unloaded_ms(base: str, probe: tuple | None, auth: dict, timeout: float = 120.0) -> dict:
    """One request at a time, no other load: the median of up to three (one when it is slow)."""
    if probe is None:
        return {}
    method, path, headers, body = probe
    times, statuses = [], []
    for _ in range(3):
        fresh = dict(headers)
        if method == "POST":
            fresh["Idempotency-Key"] = f"bench-probe-{secrets.token_hex(8)}"
        started = time.perf_counter()
        try:
            status, _, _ = http(method, base + path, {**auth, **fresh}, body, timeout=timeout)
        except (TimeoutError, OSError):
            return {"alone_ms": None, "alone_note": f"> {timeout:g} s"}
        times.append((time.perf_counter() - started) * 1000)
        statuses.append(status)
        if times[-1] > 2000:
            break
    first = times[0]  # the first time this request is asked: nothing cached for it yet
    times.sort()
    median = times[len(times) // 2]
    return {"alone_ms": round(median, 1), "first_ms": round(first, 1), "alone_statuses": statuses}
