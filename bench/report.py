"""The markdown report (docs/benchmarks.md): the run's settings, the datasets, one table per engine × scale.

Everything below ``HISTORY_MARKER`` in an existing report (written by hand: what bounds each
target, the before and after of each change) is kept when the report is rewritten.
"""

from __future__ import annotations

import os
import platform
import socket
import subprocess
from contextlib import suppress
from pathlib import Path

from bench import ROOT
from bench.scenarios import DEFAULT_AS_OF, MIX, mix_bound
from bench.targets import targets, verdict

ENGINE_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def machine() -> dict:
    cpu = "?"
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory_kb = 0
    with suppress(OSError, ValueError):
        memory_kb = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(memory_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "hostname": socket.gethostname(),
    }


def commit(report: Path | None = None) -> dict:
    """HEAD, and whether the tree differs from it (the report this run rewrites aside)."""

    def git(*args: str) -> str:
        # --no-optional-locks: read only, not even an index refresh
        result = subprocess.run(
            ["git", "--no-optional-locks", *args], cwd=ROOT, capture_output=True, text=True
        )
        return result.stdout.strip() if result.returncode == 0 else ""

    changed = git("diff", "--name-only", "HEAD").splitlines()  # staged or not, tracked files only
    if report is not None:
        changed = [path for path in changed if (ROOT / path).resolve() != report.resolve()]
    return {
        "hash": git("rev-parse", "HEAD") or "unknown",
        "subject": git("log", "-1", "--format=%s"),
        "dirty": bool(changed),
    }


def _fmt(value, digits: int = 1) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}"


def _load_warning(results: dict) -> str:
    """Other work on the machine skews every figure: say so when there was some."""
    seen = [c[k] for c in results["cells"] for k in ("loadavg_start", "loadavg_end") if k in c]
    if not seen:
        return ""
    text = f" 1-minute load average during the run: {min(seen):g} to {max(seen):g}"
    if max(seen) > 0.5 * (results["machine"]["nproc"] or 1):
        text += " (other processes were competing for the CPUs: treat the figures as noisy)"
    return text + "."


def _row(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"


HISTORY_MARKER = "<!-- Below: written by hand, kept by bench/run.py when it rewrites the part above. -->"


def kept_history(path: Path) -> str:
    """The hand-written part of an existing report (the before and after of each change), if any."""
    if not path.exists():
        return ""
    text = path.read_text()
    at = text.find(HISTORY_MARKER)
    return text[at:] if at >= 0 else ""


def _label(key: str) -> str:
    """A scenario's key as the report's titles write it."""
    return "d′" if key == "d_today" else key


def _after_writes_note(after: dict) -> str:
    """``bench.after_write``'s medians, in a sentence."""

    def reads(case: str) -> str:
        ms = after[case]
        return (
            f"the portfolio summary {_fmt(ms['summary'])} ms, the report's summary "
            f"{_fmt(ms['report_summary'])}, the overdue page {_fmt(ms['overdue_today'])}, "
            f"the detail {_fmt(ms['detail'])}"
        )

    return (
        f"right after a write, alone (the median of {after['writes']}): after a progress update that "
        f"moves its owner's status, {reads('moved')}; after one that restates it, {reads('restated')}; "
        f"asked again, {reads('again')}"
    )


def _mix_note(cell: dict) -> str | None:
    """(g) against the bound its parts give (``mix_bound``): at the rates they reached alone in the
    same run, and with writes at the write ceiling's rate."""
    rates = {row["key"]: row["rps"] for row in cell.get("rows", []) if not row.get("skipped")}
    bound, b, g = mix_bound(rates), rates.get("b"), rates.get("g")
    if not (bound and b and g):
        return None
    parts = ", ".join(f"({_label(key)}) {count}" for key, count in MIX)
    note = (
        f"g: its parts alone in this run bound the mix at {_fmt(bound)} requests/s, {bound / b:.2f} × (b) "
        f"(1 ÷ Σ share ÷ requests/s alone; in ten requests {parts})"
    )
    ceiling = cell.get("write_ceiling", {}).get("rps")
    if ceiling:
        with_ceiling = mix_bound({**rates, "f": ceiling})
        note += (
            f"; with writes at the write ceiling's rate, {_fmt(with_ceiling)}, {with_ceiling / b:.2f} × (b)"
        )
    return note + f". (g) ran at {g / bound:.2f} of the first."


def _writes_note(label: str, writes: dict, rate: float, cell: dict) -> str:
    rounds = cell.get("rounds", 1)
    over, median = (f" over the {rounds} rounds", ", the rounds' median") if rounds > 1 else ("", "")
    return (
        f"{label}: {writes['acknowledged_201']:,} answered 201{over} ({_fmt(rate)} writes/s{median}), "
        f"{writes['rows_added']:,} rows added, lost {writes['lost']}"
    )


def _rounds_line(rounds: int) -> str:
    if rounds < 2:
        return "- **Rounds:** one: every figure is of a single run."
    return (
        f"- **Rounds:** {rounds}: every scenario, then both ceilings, measured in turn {rounds} times, "
        "the API started afresh each round. The tables show the rounds' medians; each ratio is the "
        "median of the ratios taken within each round (to that round's ceiling or (b)), and the "
        "note under each table gives them round by round. First ms is the first round's. Errors, "
        "requests and writes are summed over the rounds; peak memory is the highest of any round."
    )


def _rounds_note(cell: dict) -> str | None:
    """The ratio each ratio target is judged on, round by round (the table shows their median)."""
    if cell.get("rounds", 1) < 2:
        return None
    rows = {row["key"]: row for row in cell.get("rows", []) if not row.get("skipped")}
    parts = []
    for target in targets():
        row = rows.get(target["scenario"])
        for check in target["checks"] if row else []:
            name = check["measure"]
            if name not in ("ratio", "vs_b"):
                continue
            values = [one.get(name) for one in row.get("rounds", [])]
            if not values or None in values:
                continue
            against = "(b)" if name == "vs_b" else f"{row.get('ceiling', 'read')} ceiling"
            parts.append(f"({_label(row['key'])}) {', '.join(f'{v:.2f}' for v in values)} × {against}")
    if not parts:
        return None
    return f"by round, each taken within its round: {'; '.join(parts)}"


def render_markdown(results: dict) -> str:
    m, c, load = results["machine"], results["commit"], results["load"]
    lines = [
        "# Benchmarks",
        "",
        "Written by `bench/run.py` (`make bench`); do not edit by hand: run it again. Raw figures: "
        "`bench/results/*.json` (not committed). The before and after of each optimisation are "
        "at the end, below the tables.",
        "",
        f"- **Command:** `{results.get('command', 'bench/run.py')}`",
        f"- **Date:** {results['date']}",
        f"- **Commit:** `{c['hash'][:12]}` {c['subject']}"
        + (" (with uncommitted changes)" if c["dirty"] else ""),
        f"- **Machine:** {m['nproc']} CPUs ({m['cpu']}), {m['memory_gib']} GiB RAM, Linux {m['kernel']}, "
        f"Python {m['python']}; load generator, API and database share it." + _load_warning(results),
        f"- **Load:** wrk {load['wrk_version']} over loopback, {load['threads']} threads, "
        f"{load['connections']} connections, {load['duration_s']:g} s per scenario after a "
        f"{load['warmup_s']:g} s warm-up, request timeout {load['timeout_s']:g} s. Latencies are wrk's "
        "(from the client, loopback included).",
        f"- **API:** `rectrack serve` (uvicorn `app.main:app`) with {results['workers']} worker(s), "
        "`RECTRACK_ENVIRONMENT=production`, a random `RECTRACK_SECRET_KEY`, JSON access log at `info` "
        "(to a file), other settings at their defaults"
        + (
            f" plus {', '.join(f'`{k}={v}`' for k, v in results['server_env'].items())}"
            if results["server_env"]
            else ""
        )
        + ".",
        _rounds_line(results.get("rounds", 1)),
        f"- **Auth:** {results.get('auth_summary', '?')}",
        "- **Ceilings:** measured in each round right after the API, under the same uvicorn worker "
        "count and the same wrk settings. Read: `bench/ceiling_read.py`, a bare FastAPI `async def` "
        "route (no worker-thread hop) answering a constant JSON body exactly as large as that run's "
        "portfolio summary (pre-encoded; no middleware, no database). Write: `bench/ceiling_write.py`, "
        "(f)'s very requests answered by a minimal FastAPI app: the same JSON body validated by pydantic, "
        "the key's HMAC looked up in memory, then one transaction of five SQLAlchemy Core statements "
        "(lock the row, insert the update, update the owner, bump the row's version, insert an audit "
        "row) on the application's own engine and the same database; a sync route (one thread hop), no "
        "middleware, the GIL handed over every millisecond as in the API's processes. "
        '"vs ceiling" is requests per second divided by the ceiling\'s: the write '
        "ceiling's for (f), the read ceiling's for the others.",
        f"- **Data:** `bench/generate.py`, seed {results['seed']}; every progress update is dated before "
        f"{DEFAULT_AS_OF}. (d) asks as of {results['as_of']}; "
        f"the server's today was {results['server_today']}"
        + (
            ", so (d) is answered from the progress history (a past date), and (d′) shows the same page "
            "as of today, from the stored statuses."
            if results["as_of"] < results["server_today"]
            else "."
        ),
        "- **Errors:** answers other than 2xx/3xx plus socket errors (connect, read, write, timeout). "
        "**Peak RSS:** resident memory high-water mark of the API process tree during the scenario. "
        "**Alone:** one request with nothing else running (median of up to three, before the load): "
        "the latency without queueing. **First:** the first of those: for a list or summary, the "
        "answer computed from the database (later ones come from the answer cache until the next "
        "write). **API CPU, DB CPU:** CPU time (user + system) used during the run by the API process "
        "tree and by the PostgreSQL server's processes (SQLite works inside the API), per answered "
        "request: what bounds a scenario that keeps a CPU busy. Between scenarios the API is given "
        "time to finish what wrk "
        "abandoned at the end of a run, and restarted if it cannot.",
    ]
    if results.get("postgres"):
        lines.append(f"- **PostgreSQL:** {results['postgres']}")
    lines += [
        "",
        "## Datasets",
        "",
        "| engine | scale | reports | recommendations | owners | progress updates | evidence links "
        "| overdue on " + DEFAULT_AS_OF + " | generation (s) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for cell in results["cells"]:
        ds = cell.get("dataset")
        if not ds:
            continue
        n = ds["counts"]
        lines.append(
            _row(
                ENGINE_NAMES[cell["engine"]],
                cell["scale"],
                *(_fmt(n[t]) for t in ("report", "recommendation", "recommendation_owner")),
                *(_fmt(n[t]) for t in ("progress_update", "evidence_link")),
                _fmt(ds["overdue_as_of_generation_day"]),
                _fmt(float(ds["timings"]["wall"])),
            )
        )
    s_cells = {cell["engine"]: cell for cell in results["cells"] if cell["scale"] == "S"}
    for cell in results["cells"]:
        engine, scale = cell["engine"], cell["scale"]
        lines += ["", f"## {ENGINE_NAMES[engine]}, scale {scale}", ""]
        if cell.get("error"):
            lines += [f"**Failed:** {cell['error'].splitlines()[0][:300]}", ""]
            if not cell.get("rows"):
                continue
        lines += [
            "| scenario | req/s | p50 ms | p99 ms | errors | vs ceiling | peak RSS MB | alone ms | first ms "
            "| API CPU ms | DB CPU ms | target |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
        ]
        unanswered = f"> {results['load']['duration_s']:g} s"
        for row in cell.get("rows", []):
            if row.get("skipped"):
                lines.append(_row(row["title"], row["skipped"], *[""] * 10))
                continue
            judged = verdict(engine, scale, row["key"], row, cell, s_cells.get(engine))
            lines.append(
                _row(
                    row["title"],
                    _fmt(row["rps"]),
                    unanswered if row["p50_ms"] is None else _fmt(row["p50_ms"], 2),
                    unanswered if row["p99_ms"] is None else _fmt(row["p99_ms"], 2),
                    _fmt(row["errors"]),
                    _fmt(row.get("ratio"), 2),
                    _fmt(row.get("peak_rss_mb")),
                    row.get("alone_note") or _fmt(row.get("alone_ms")),
                    row.get("alone_note") or _fmt(row.get("first_ms")),
                    _fmt(row.get("api_cpu_ms"), 2),
                    _fmt(row.get("database_cpu_ms"), 2),
                    judged,
                )
            )
        ceilings = (
            ("ceiling", "read ceiling: bare FastAPI, constant {body_bytes:,}-byte body"),
            ("write_ceiling", "write ceiling: minimal FastAPI, five Core statements"),
        )
        for name, title in ceilings:
            ceiling = cell.get(name)
            if ceiling:
                lines.append(
                    _row(
                        title.format(**ceiling),
                        _fmt(ceiling["rps"]),
                        _fmt(ceiling["p50_ms"], 2),
                        _fmt(ceiling["p99_ms"], 2),
                        _fmt(ceiling["errors"]),
                        "1.00",
                        *[""] * 6,
                    )
                )
        notes = []
        info = cell.get("preflight", {})
        if info:
            notes.append(
                f"portfolio summary {info['summary_bytes']:,} bytes; "
                f"ETag {'present' if info.get('etag') else 'absent'}"
                + (f", If-None-Match → {info.get('conditional_status')}" if info.get("etag") else "")
                + "; Idempotency-Key replay "
                + ("honoured" if info.get("idempotency_replayed") else "not honoured (it made a second row)")
                + f"; overdue as of {results['as_of']}: {_fmt(info.get('overdue_total'))}, as of today: "
                f"{_fmt(info.get('overdue_today_total'))}"
            )
        if info.get("after_writes"):
            notes.append(_after_writes_note(info["after_writes"]))
        for row in cell.get("rows", []):
            if row["key"] == "a" and row.get("counters"):
                answered = sum(row["counters"].get(k, 0) for k in ("s2xx", "s3xx", "s4xx", "s5xx"))
                notes.append(f"a: {row['counters'].get('s3xx', 0):,} of {answered:,} answers were 304")
            writes = row.get("writes")
            if writes:
                notes.append(
                    _writes_note(row["key"], writes, row["write_rps"], cell)
                    + f", in flight at the end {writes['unacknowledged']}"
                )
            if row.get("requests") == 0:
                notes.append(f"{row['key']}: no request was answered within the {unanswered[2:]} run")
            if row.get("after", {}).get("restarted"):
                notes.append(
                    f"{row['key']}: the API was still working on requests wrk had given up on "
                    f"{row['after']['settled_s']} s later, so it was restarted before the next scenario"
                )
            if row.get("server_5xx"):
                notes.append(
                    f"{row['key']}: the API logged {row['server_5xx']} answers during the run or after wrk "
                    "stopped (see the server log)"
                )
            if row.get("error_kinds"):
                sample = f" e.g. `{row['error_samples'][0][:120]}`" if row.get("error_samples") else ""
                notes.append(f"{row['key']} errors: {row['error_kinds']}{sample}")
        for note in (_mix_note(cell), _rounds_note(cell)):
            if note:
                notes.append(note)
        write_ceiling = cell.get("write_ceiling")
        if write_ceiling:
            writes = write_ceiling["writes"]
            notes.append(_writes_note("write ceiling", writes, write_ceiling["write_rps"], cell))
        memory = verdict(engine, scale, "memory", cell, cell, s_cells.get(engine))
        if cell.get("peak_rss_mb") is not None:
            notes.append(f"API peak RSS over the run {cell['peak_rss_mb']} MB {memory}".rstrip())
        if notes:
            lines += [""] + [f"- {note}" for note in notes]
    lines.append("")
    return "\n".join(lines)
