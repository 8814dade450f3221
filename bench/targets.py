"""The targets of ``targets.toml`` and their verdicts: '✅ …' met, '❌ …' not, '– …' not judged (the run
it compares with was not made), '' where none applies."""

from __future__ import annotations

import tomllib
from functools import cache

from bench import BENCH

TARGETS_FILE = BENCH / "targets.toml"


@cache
def targets() -> tuple[dict, ...]:
    return tuple(tomllib.loads(TARGETS_FILE.read_text())["target"])


def _rows(cell: dict | None) -> dict[str, dict]:
    return {row["key"]: row for row in (cell or {}).get("rows", []) if not row.get("skipped")}


class NotRun(Exception):
    """The run a measure compares with was not made: the check is not judged."""


def _measure(name: str, row: dict, cell: dict, s_cell: dict | None) -> float | None:
    if name == "lost":
        return (row.get("writes") or {}).get("lost")
    if name == "vs_b":  # taken within each round, then the rounds' median (bench/rounds.py)
        if "b" not in _rows(cell):
            raise NotRun("(b)")
        return row.get("vs_b")
    if name == "p50_vs_S":
        s_row = _rows(s_cell).get(row.get("key", ""))
        if not s_row:
            raise NotRun("S")
        if not s_row.get("p50_ms") or row.get("p50_ms") is None:
            return None
        return row["p50_ms"] / s_row["p50_ms"]
    return row.get(name)


def _holds(check: dict, value: float | None, engine: str) -> bool:
    if value is None:
        return False
    for side in ("min", "max"):
        bound = check.get(side)
        if isinstance(bound, dict):
            bound = bound.get(engine)
        if bound is None:
            continue
        if (side == "min" and value < bound) or (side == "max" and value > bound):
            return False
    return True


def verdict(engine: str, scale: str, key: str, row: dict, cell: dict, s_cell: dict | None) -> str:
    """Every target of scenario ``key`` (or "memory", with ``row`` the cell) at this scale."""
    if row.get("skipped"):
        return ""
    marks = []
    for target in targets():
        if target["scenario"] != key or scale not in target.get("scales", [scale]):
            continue
        ok, missing = True, []
        for check in target["checks"]:
            try:
                ok &= _holds(check, _measure(check["measure"], row, cell, s_cell), engine)
            except NotRun as reference:
                missing.append(str(reference))
        if missing:
            marks.append(f"– {target['label']} (not judged: no {', '.join(missing)} run)")
        else:
            marks.append(f"{'✅' if ok else '❌'} {target['label']}")
    return "; ".join(marks)
