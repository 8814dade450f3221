"""Synthetic rectrack portfolios for the benchmarks, loaded with bulk inserts.

    python bench/generate.py --url sqlite:///bench/results/work/s.db --scale S
    python bench/generate.py --url postgresql://u:p@127.0.0.1:5432/db --scale L --manifest m.json

The database must be empty; it is migrated first with ``app.db.migrations.upgrade``
(the only thing that creates tables). Rows are built in Python, deterministically
from ``--seed``, then written table by table: ``COPY ... FROM STDIN`` on
PostgreSQL, one ``executemany`` per batch on SQLite (values go through each
column's own SQLAlchemy bind processor, so they are stored exactly as the
application would store them).

Invariants kept, so that the stored roll-ups agree with what the services would
have computed had every row come through the API:

* organisation codes are unique (case-insensitively);
* ``report.action_plan_due_date`` comes from ``app.domain.deadlines.action_plan_due_date``
  with ``app.services.calendars.calendar_for`` (cached per received date, days and calendar);
* ``recommendation.due_date`` is ``target_date`` or the report's action-plan due date,
  and ``original_target_date`` (when the column exists) the first target date;
* ``recommendation_owner.status`` is the status of the owner's latest progress update
  (by ``reported_on``, then id) and ``recommendation.status`` their roll-up
  (``app.domain.status.roll_up``), except for recommendations an assurer has closed
  (``verified`` / ``closed_not_implemented``), which get an ``assurance_decision`` row
  when that table exists;
* every ``reported_on`` is before ``TODAY`` (2026-11-01); query "as of" that date;
* an owner is only ``implemented`` with at least one http(s) evidence link, dated before
  the update that says so.

Audit events are not written: the portfolio is "imported", not typed in.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, create_engine, func, inspect, select, text  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

from app.db.engine import normalise_database_url  # noqa: E402
from app.domain.deadlines import action_plan_due_date  # noqa: E402
from app.domain.status import roll_up  # noqa: E402
from app.services import tallies  # noqa: E402
from app.services.calendars import calendar_for  # noqa: E402

GENERATOR_VERSION = 1
TODAY = date(2026, 11, 1)  # every reported_on is before this; ask questions "as of" it
FIRST_RECEIVED = date(2019, 1, 7)
LAST_RECEIVED = date(2026, 10, 16)
CREATED = datetime(2018, 1, 2, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Scale:
    name: str
    reports: int
    recommendations: int
    progress_updates: int
    evidence_links: int
    organisations: int


SCALES: dict[str, Scale] = {
    "tiny": Scale("tiny", 6, 80, 400, 80, 10),
    "S": Scale("S", 40, 1_000, 10_000, 2_000, 30),
    "M": Scale("M", 400, 10_000, 100_000, 20_000, 120),
    "L": Scale("L", 2_000, 50_000, 500_000, 100_000, 400),
}

# -- vocabulary ------------------------------------------------------------------

PLACES = (  # noqa: SIM905
    "Kirklees Calderdale Leeds Bradford Wakefield Barnsley Sheffield Rotherham Doncaster York Hull "
    "Lincoln Derby Nottingham Leicester Coventry Walsall Dudley Sandwell Wolverhampton Stoke "
    "Stafford Cheshire Wirral Sefton Knowsley Liverpool Salford Bolton Wigan Oldham Rochdale Bury "
    "Stockport Tameside Trafford Cumbria Durham Gateshead Sunderland Newcastle Northumberland "
    "Middlesbrough Hartlepool Darlington Norfolk Suffolk Essex Kent Surrey Sussex Hampshire Dorset "
    "Devon Cornwall Somerset Wiltshire Gloucester Bristol Swindon Reading Slough Oxford Buckingham "
    "Luton Bedford Peterborough Cambridge Northampton Warwick Worcester Hereford Shropshire Telford "
    "Croydon Lambeth Southwark Hackney Islington Camden Barnet Enfield Haringey Ealing Brent Harrow "
    "Hillingdon Hounslow Richmond Kingston Merton Sutton Bromley Bexley Greenwich Lewisham Newham "
    "Redbridge Havering Glasgow Edinburgh Dundee Aberdeen Fife Highland Belfast Derry Armagh Newry"
).split()
SCOTTISH = {"Glasgow", "Edinburgh", "Dundee", "Aberdeen", "Fife", "Highland"}
NORTHERN_IRISH = {"Belfast", "Derry", "Armagh", "Newry"}

# kind -> (share, code prefix, name suffix)
KINDS = {
    "nhs_trust": (0.28, "R", "NHS Trust"),
    "foundation_trust": (0.25, "RF", "NHS Foundation Trust"),
    "ccg": (0.14, "C", "Clinical Commissioning Group"),
    "local_authority": (0.16, "LA", "Council"),
    "community_interest_company": (0.06, "CIC", "Community Healthcare CIC"),
    "charity": (0.05, "CH", "Children's Charity"),
    "nhs_england_region": (0.03, "NHSE", "NHS England region"),
    "other": (0.03, "X", "Partnership"),
}
REGULATORS = (
    ("Care Quality Commission", "cqc", 0.45),
    ("Ofsted", "ofsted", 0.2),
    ("Joint Targeted Area Inspection", "jtai", 0.1),
    ("Safeguarding Children Partnership", "scr", 0.15),
    ("Internal Audit", "audit", 0.1),
)
TITLES = (
    "Review of health services for children looked after and safeguarding in {place}",
    "Inspection of local authority children's services: {place}",
    "Joint targeted area inspection of the multi-agency response to neglect in {place}",
    "Serious case review: Child {letter}, {place}",
    "Internal audit of safeguarding supervision, {place}",
    "Local area SEND inspection: {place}",
)
SECTIONS = (
    "Early help",
    "Children in need and child protection",
    "Looked after children",
    "Leadership and management",
    "Governance",
    "Health visiting and school nursing",
    "Maternity and midwifery",
    "Emergency departments",
    "Child and adolescent mental health services",
    "Adult mental health and substance misuse",
    "Sexual health",
    "Training and supervision",
)
VERBS = ("ensure", "review", "strengthen", "audit", "improve", "evidence", "embed", "monitor")
OBJECTS = (
    "that the voice of the child is recorded in every assessment",
    "the quality of referrals to children's social care",
    "the timeliness of initial health assessments for looked after children",
    "information sharing between midwifery and health visiting teams",
    "safeguarding supervision arrangements for frontline staff",
    "the use of chronologies in complex cases",
    "the recording of risk for young people attending the emergency department",
    "transition planning from children's to adult mental health services",
    "compliance with the think family approach",
    "oversight of actions from strategy meetings",
)
NARRATIVES = (
    "Audit completed; findings reported to the safeguarding committee.",
    "Action plan agreed with commissioners; training scheduled.",
    "Policy revised and circulated to all teams.",
    "Re-audit shows improvement; further work on recording needed.",
    "Supervision model rolled out across the service.",
    "Delayed by staffing pressures; revised timeline agreed.",
)
AUTHORS = ("Named nurse for safeguarding", "Designated doctor", "Head of safeguarding", "Service manager")

# Owner status mix by the age of the report (years since receipt): (not_started, in_progress, implemented).
# Tuned so that about a third of recommendations are open and about a quarter overdue.
STATUS_BY_AGE = ((0.25, (0.5, 0.45, 0.05)), (1.0, (0.15, 0.55, 0.3)), (3.0, (0.04, 0.3, 0.66)))
STATUS_OLD = (0.01, 0.1, 0.89)
OWNER_COUNTS = ((1, 0.58), (2, 0.28), (3, 0.1), (4, 0.04))


def _local_ref_position(ref: str) -> int:
    parts = [int("".join(ch for ch in part if ch.isdigit()) or 0) for part in ref.split(".")[:3]]
    parts += [0] * (3 - len(parts))
    return parts[0] * 1_000_000 + parts[1] * 1_000 + parts[2]


def _ref_position_rule():
    """The application's order key for a ref ("4.10" after "4.9")."""
    try:
        from app.services.recommendations import ref_position
    except Exception:  # the service module is mid-edit: the same rule, kept here
        return _local_ref_position
    return ref_position


def _stamp(day: date, rng: random.Random) -> datetime:
    return datetime.combine(day, dtime(8, 0), tzinfo=UTC) + timedelta(minutes=rng.randrange(0, 600))


def _split(total: int, parts: int, rng: random.Random, sigma: float = 0.6) -> list[int]:
    """``total`` split into ``parts`` positive, lumpy (log-normal) counts that add up exactly."""
    if parts <= 0:
        return []
    counts = [1] * parts
    rest = total - parts
    if rest > 0:
        weights = [rng.lognormvariate(0, sigma) for _ in range(parts)]
        for index, extra in Counter(rng.choices(range(parts), weights=weights, k=rest)).items():
            counts[index] += extra
    return counts


@dataclass
class Tables:
    """Rows to insert, per table, as tuples in the order of ``columns``."""

    columns: dict[str, tuple[str, ...]]
    rows: dict[str, list[tuple]]

    def add(self, table: str, row: tuple) -> None:
        self.rows[table].append(row)


COLUMNS: dict[str, tuple[str, ...]] = {
    "organisation": ("id", "code", "name", "kind", "created_at", "updated_at"),
    "report": (
        "id",
        "slug",
        "title",
        "regulator",
        "area",
        "review_start_date",
        "review_end_date",
        "published_date",
        "received_date",
        "working_days_allowed",
        "calendar",
        "action_plan_due_date",
        "action_plan_submitted_date",
        "source_url",
        "created_at",
        "updated_at",
    ),
    "report_action_plan_organisation": ("report_id", "organisation_id"),
    "recommendation": (
        "id",
        "report_id",
        "ref",
        "position",
        "text",
        "section",
        "status",
        "target_date",
        "original_target_date",
        "due_date",
        "created_at",
        "updated_at",
    ),
    "recommendation_owner": (
        "id",
        "recommendation_id",
        "organisation_id",
        "position",
        "status",
        "updated_at",
    ),
    "recommendation_citation": ("id", "recommendation_id", "paragraph", "section"),
    "progress_update": (
        "id",
        "recommendation_id",
        "organisation_id",
        "author",
        "narrative",
        "status",
        "reported_on",
        "created_at",
    ),
    "evidence_link": (
        "id",
        "recommendation_id",
        "organisation_id",
        "progress_update_id",
        "url",
        "title",
        "description",
        "created_at",
    ),
    "assurance_decision": (
        "id",
        "recommendation_id",
        "decision",
        "reason",
        "decided_on",
        "api_key_id",
        "created_at",
    ),
    "target_date_revision": (
        "id",
        "recommendation_id",
        "old_date",
        "new_date",
        "reason",
        "organisation_id",
        "api_key_id",
        "created_at",
    ),
}
# Parents before children.
TABLE_ORDER = tuple(COLUMNS)


@dataclass
class Manifest:
    """What the load generator needs to know about a generated portfolio."""

    scale: str
    seed: int
    generator_version: int
    today: str
    counts: dict[str, int]
    report_ids: list[int]
    recommendation_ids: list[int]
    # (recommendation id, owner code) pairs on open recommendations: progress can be posted there.
    write_targets: list[tuple[int, str]]
    overdue_as_of_today: int
    owner_status_mix: dict[str, int]
    recommendation_status_mix: dict[str, int]
    timings: dict[str, float]


def build(scale: Scale, seed: int) -> tuple[Tables, dict]:
    """Every row of a portfolio of ``scale``, deterministically from ``seed``."""
    rng = random.Random(seed)
    tables = Tables(columns=COLUMNS, rows={name: [] for name in COLUMNS})
    info: dict = {}

    # -- organisations -----------------------------------------------------------
    kinds = list(KINDS)
    kind_weights = [KINDS[k][0] for k in kinds]
    organisations: list[tuple[int, str, str]] = []  # (id, code, place)
    for index in range(scale.organisations):
        kind = rng.choices(kinds, weights=kind_weights)[0]
        _, prefix, suffix = KINDS[kind]
        place = PLACES[index % len(PLACES)]
        org_id = index + 1
        code = f"{prefix}{org_id:04d}"  # the number alone keeps codes unique
        name = f"{place} {suffix}" + (f" {index // len(PLACES) + 1}" if index >= len(PLACES) else "")
        tables.add("organisation", (org_id, code, name, kind, CREATED, CREATED))
        organisations.append((org_id, code, place))
    # A few organisations own a lot (a regional trust), most own a little.
    popularity = [1.0 / math.sqrt(i + 1) for i in range(len(organisations))]
    rng.shuffle(popularity)
    code_of = {org_id: code for org_id, code, _ in organisations}

    # -- reports -------------------------------------------------------------------
    span = (LAST_RECEIVED - FIRST_RECEIVED).days
    received_dates = sorted(
        FIRST_RECEIVED + timedelta(days=rng.randrange(span + 1)) for _ in range(scale.reports)
    )
    per_report = _split(scale.recommendations, scale.reports, rng)
    due_cache: dict[tuple[date, int, str], date] = {}
    regulator_weights = [r[2] for r in REGULATORS]

    ref_position = _ref_position_rule()
    rec_id = owner_id = citation_id = 0
    owners: list[list] = []  # [owner id, rec id, org id, final status, received, report age]
    recommendation_rows: list[list] = []
    open_targets: list[tuple[int, str]] = []
    rec_status_mix: Counter = Counter()
    rec_owner_index: dict[int, list[int]] = defaultdict(list)
    revision_candidates: list[tuple[int, date, date, int]] = []

    for report_index, received in enumerate(received_dates):
        report_id = report_index + 1
        regulator, regulator_slug, _ = rng.choices(REGULATORS, weights=regulator_weights)[0]
        system = (
            rng.sample(organisations, k=min(len(organisations), rng.randint(2, 8)))
            if rng.random() < 0.3
            else _weighted_sample(organisations, popularity, rng.randint(2, 8), rng)
        )
        place = system[0][2]
        calendar = (
            "scotland"
            if place in SCOTTISH
            else "northern-ireland"
            if place in NORTHERN_IRISH
            else rng.choices(("england-and-wales", "scotland", "northern-ireland"), (0.9, 0.06, 0.04))[0]
        )
        working_days = rng.choices((20, 30, 60, 10), (0.7, 0.15, 0.1, 0.05))[0]
        key = (received, working_days, calendar)
        due = due_cache.get(key)
        if due is None:
            due = due_cache[key] = action_plan_due_date(received, working_days, calendar_for(calendar))
        submitted = None
        if due < TODAY and rng.random() < 0.85:
            submitted = min(due + timedelta(days=rng.randint(-12, 25)), TODAY - timedelta(days=1))
            submitted = max(submitted, received + timedelta(days=1))
        elif due >= TODAY and rng.random() < 0.2:
            submitted = received + timedelta(days=rng.randint(1, max(1, (TODAY - received).days - 1)))
        review_end = received - timedelta(days=rng.randint(20, 90))
        title = rng.choice(TITLES).format(place=place, letter=chr(65 + report_index % 26))
        slug = f"{regulator_slug}-{place.lower()}-{received.year}-{report_id:05d}"
        tables.add(
            "report",
            (
                report_id,
                slug,
                title,
                regulator,
                place,
                review_end - timedelta(days=rng.randint(3, 20)),
                review_end,
                received - timedelta(days=rng.randint(0, 10)),
                received,
                working_days,
                calendar,
                due,
                submitted,
                f"https://reports.example.org/{slug}.pdf",
                _stamp(received, rng),
                _stamp(submitted or received, rng),
            ),
        )
        age = (TODAY - received).days / 365.25
        mix = next((m for limit, m in STATUS_BY_AGE if age < limit), STATUS_OLD)
        report_owner_ids: set[int] = set()
        count = per_report[report_index]
        per_section = rng.randint(3, 8)
        for position in range(count):
            rec_id += 1
            section_no, item_no = divmod(position, per_section)
            ref = f"{section_no + 1}.{item_no + 1}"
            section = SECTIONS[(report_index + section_no) % len(SECTIONS)]
            n_owners = min(len(system), rng.choices(*zip(*OWNER_COUNTS, strict=True))[0])
            chosen = rng.sample(system, k=n_owners)
            statuses = [rng.choices(("not_started", "in_progress", "implemented"), mix)[0] for _ in chosen]
            status = roll_up(statuses).value
            if status == "implemented" and age > 1 and rng.random() < 0.4:
                status = "verified"
            elif status != "implemented" and age > 3 and rng.random() < 0.05:
                status = "closed_not_implemented"
            target = None
            if rng.random() < 0.55:
                target = received + timedelta(days=rng.randint(60, 540))
            original = target
            if target is not None and rng.random() < 0.12:
                original = target - timedelta(days=rng.randint(30, 120))
                revision_candidates.append((rec_id, original, target, chosen[0][0]))
            text_ = (
                f"{chosen[0][2]} partners should {rng.choice(VERBS)} {rng.choice(OBJECTS)}"
                f" ({section.lower()}, recommendation {ref})."
            )
            stamp = _stamp(received, rng)
            recommendation_rows.append(
                [
                    rec_id,
                    report_id,
                    ref,
                    ref_position(ref),
                    text_,
                    section,
                    status,
                    target,
                    original,
                    target or due,
                    stamp,
                    stamp,
                ]
            )
            rec_status_mix[status] += 1
            for owner_position, ((org_id, _code, _place), owner_status) in enumerate(
                zip(chosen, statuses, strict=True)
            ):
                owner_id += 1
                owners.append([owner_id, rec_id, org_id, owner_status, received, age, owner_position])
                rec_owner_index[rec_id].append(len(owners) - 1)
                report_owner_ids.add(org_id)
            if status not in ("verified", "closed_not_implemented"):
                open_targets.append((rec_id, code_of[chosen[0][0]]))
            for paragraph in sorted(rng.sample(range(1, 40), k=rng.choice((1, 1, 1, 2)))):
                citation_id += 1
                tables.add(
                    "recommendation_citation",
                    (citation_id, rec_id, f"{section_no + 3}.{paragraph}", section),
                )
        for org_id in sorted(report_owner_ids):
            tables.add("report_action_plan_organisation", (report_id, org_id))

    # -- progress updates: each owner's history ends in its chosen status -----------
    minimum = [0 if o[3] == "not_started" else (2 if o[3] == "implemented" else 1) for o in owners]
    budget = scale.progress_updates - sum(minimum)
    counts = list(minimum)
    if budget > 0:
        weights = [(0.15 if o[3] == "not_started" else 1.0) * (1.0 + o[5]) for o in owners]
        for index, extra in Counter(rng.choices(range(len(owners)), weights=weights, k=budget)).items():
            counts[index] += extra
    update_id = 0
    last_update: dict[int, tuple[int, date]] = {}  # owner index -> (id, reported_on) of its latest update
    owner_updates: dict[int, list[tuple[int, date]]] = {}
    implemented_update_day: dict[int, date] = {}
    for index, (_oid, rid, org_id, final, received, _age, _pos) in enumerate(owners):
        k = counts[index]
        if k == 0:
            continue
        first = received + timedelta(days=1)
        days = (TODAY - first).days  # reported_on < TODAY
        dates = sorted(first + timedelta(days=rng.randrange(days)) for _ in range(k))
        if final == "not_started":
            sequence = ["not_started"] * k
        else:
            sequence = ["in_progress"] * k
            if k >= 3 and rng.random() < 0.3:
                sequence[0] = "not_started"
            if final == "implemented":
                sequence[-1] = "implemented"
        ids = []
        for reported_on, status in zip(dates, sequence, strict=True):
            update_id += 1
            ids.append(update_id)
            tables.add(
                "progress_update",
                (
                    update_id,
                    rid,
                    org_id,
                    rng.choice(AUTHORS),
                    rng.choice(NARRATIVES),
                    status,
                    reported_on,
                    _stamp(reported_on, rng),
                ),
            )
        owner_updates[index] = list(zip(ids, dates, strict=True))
        last_update[index] = (ids[-1], dates[-1])
        if final == "implemented":
            implemented_update_day[index] = dates[-1]
        # The stored owner status is the latest update's (ids ascend with the dates).
        assert sequence[-1] == final
    for index, (oid, rid, org_id, final, received, _age, position) in enumerate(owners):
        updated = last_update.get(index, (None, received))[1]
        tables.add("recommendation_owner", (oid, rid, org_id, position, final, _stamp(updated, rng)))

    # -- evidence: at least one per implemented owner, dated before it said so -------
    implemented = [i for i, o in enumerate(owners) if o[3] == "implemented"]
    in_progress = [i for i, o in enumerate(owners) if o[3] == "in_progress"]
    evidence_total = max(scale.evidence_links, len(implemented))
    chosen_owners = list(implemented)
    rest = evidence_total - len(chosen_owners)
    pool = implemented + in_progress
    if rest > 0 and pool:
        chosen_owners += rng.choices(
            pool, weights=[3 if owners[i][3] == "implemented" else 1 for i in pool], k=rest
        )
    per_owner_links: Counter = Counter()
    for link_id, index in enumerate(chosen_owners, start=1):
        _oid, rid, org_id, _final, received, _age, _pos = owners[index]
        per_owner_links[index] += 1
        latest = (
            implemented_update_day.get(index) or last_update.get(index, (None, TODAY - timedelta(days=1)))[1]
        )
        window = max(0, (latest - received).days - 1)
        day = received + timedelta(days=1 + rng.randrange(window)) if window else latest
        cites = None
        if index in owner_updates and rng.random() < 0.4:
            # cite one of the owner's updates reported on or before the evidence date
            candidates = [u for u, d in owner_updates[index] if d <= day]
            cites = rng.choice(candidates) if candidates else None
        tables.add(
            "evidence_link",
            (
                link_id,
                rid,
                org_id,
                cites,
                f"https://evidence.example.org/r{rid}/o{org_id}/{per_owner_links[index]}.pdf",
                f"Evidence {per_owner_links[index]} for recommendation {rid}",
                None,
                _stamp(day, rng),
            ),
        )

    # -- recommendations, assurance decisions, target date revisions --------------------
    decision_id = 0
    for row in recommendation_rows:
        rid, status = row[0], row[6]
        last_days = [last_update[i][1] for i in rec_owner_index[rid] if i in last_update]
        if last_days:
            row[11] = _stamp(max(last_days), rng)  # updated when the last owner reported
        if status in ("verified", "closed_not_implemented"):
            after = max(last_days, default=row[10].date())
            room = (TODAY - after).days - 1
            decided = after + timedelta(days=1 + rng.randrange(room)) if room > 0 else after
            decision_id += 1
            tables.add(
                "assurance_decision",
                (
                    decision_id,
                    rid,
                    status,
                    "Assured by commissioners" if status == "verified" else "Superseded by a later review",
                    decided,
                    None,
                    _stamp(decided, rng),
                ),
            )
            row[11] = _stamp(decided, rng)
        tables.add("recommendation", tuple(row))
    for revision_id, (rid, old, new, org_id) in enumerate(revision_candidates, start=1):
        when = _stamp(min(old, TODAY - timedelta(days=1)), rng)
        tables.add(
            "target_date_revision",
            (revision_id, rid, old, new, "Revised after staffing pressures", org_id, None, when),
        )

    # -- what the load generator needs --------------------------------------------------
    overdue_today = sum(
        1
        for row in recommendation_rows
        if row[9] < TODAY and row[6] not in ("implemented", "verified", "closed_not_implemented")
    )
    sample = random.Random(seed + 1)
    info["report_ids"] = sorted(sample.sample(range(1, scale.reports + 1), k=min(500, scale.reports)))
    info["recommendation_ids"] = sample.sample(range(1, rec_id + 1), k=min(2000, rec_id))
    info["write_targets"] = sample.sample(open_targets, k=min(5000, len(open_targets)))
    info["overdue_as_of_today"] = overdue_today
    info["owner_status_mix"] = dict(Counter(o[3] for o in owners))
    info["recommendation_status_mix"] = dict(rec_status_mix)
    return tables, info


def _weighted_sample(population: Sequence, weights: Sequence[float], k: int, rng: random.Random) -> list:
    """``k`` distinct items, drawn with the given weights."""
    k = min(k, len(population))
    cumulative = []
    total = 0.0
    for weight in weights:
        total += weight
        cumulative.append(total)
    picked: dict[int, None] = {}
    while len(picked) < k:
        picked.setdefault(bisect_left(cumulative, rng.random() * total), None)
    return [population[i] for i in picked]


# -- loading ---------------------------------------------------------------------------


def _existing_columns(engine: Engine) -> dict[str, set[str]]:
    inspector = inspect(engine)
    columns = {name: inspector.get_columns(name) for name in inspector.get_table_names()}
    for table, mine in COLUMNS.items():
        for column in columns.get(table, []):
            needed = not column["nullable"] and column.get("default") is None
            if needed and column["name"] not in mine and column.get("autoincrement") is not True:
                raise SystemExit(
                    f"generate: {table}.{column['name']} is NOT NULL without a default and the generator "
                    "does not know it yet: teach bench/generate.py (COLUMNS and build)"
                )
    return {name: {c["name"] for c in cols} for name, cols in columns.items()}


def _model_tables() -> dict:
    from sqlmodel import SQLModel

    import app.models  # noqa: F401  (registers every table)

    return SQLModel.metadata.tables


def _project(table: str, columns: tuple[str, ...], rows: list[tuple], present: set[str]):
    """Only the columns the migrated schema has (the schema is being extended as we speak)."""
    keep = [i for i, c in enumerate(columns) if c in present]
    if len(keep) == len(columns):
        return columns, rows
    return tuple(columns[i] for i in keep), [tuple(r[i] for i in keep) for r in rows]


def _insert_sqlite(connection, table, columns, rows, batch: int = 20_000) -> None:
    model = _model_tables().get(table)
    dialect = connection.dialect
    processors = []
    for name in columns:
        column = model.c[name] if model is not None and name in model.c else None
        processors.append(column.type._cached_bind_processor(dialect) if column is not None else None)
    sql = f'INSERT INTO "{table}" ({", ".join(columns)}) VALUES ({", ".join("?" * len(columns))})'
    cursor = connection.connection.driver_connection.cursor()
    active = [(i, p) for i, p in enumerate(processors) if p is not None]
    for start in range(0, len(rows), batch):
        chunk = rows[start : start + batch]
        if active:
            converted = []
            for row in chunk:
                values = list(row)
                for i, processor in active:
                    if values[i] is not None:
                        values[i] = processor(values[i])
                converted.append(values)
            chunk = converted
        cursor.executemany(sql, chunk)
    cursor.close()


def _insert_postgresql(connection, table, columns, rows) -> None:
    raw = connection.connection.driver_connection  # psycopg 3
    with raw.cursor() as cursor, cursor.copy(f'COPY "{table}" ({", ".join(columns)}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(row)


# The dates from which the stored statuses answer "as of" questions (as the
# migration that added them backfills them).
EVENT_DATE_BACKFILL = (
    """UPDATE recommendation_owner SET last_reported_on = (
        SELECT max(p.reported_on) FROM progress_update p
        WHERE p.recommendation_id = recommendation_owner.recommendation_id
          AND p.organisation_id = recommendation_owner.organisation_id)""",
    """UPDATE recommendation SET last_event_on = (
        SELECT max(day) FROM (
            SELECT o.last_reported_on AS day FROM recommendation_owner o
            WHERE o.recommendation_id = recommendation.id
            UNION ALL
            SELECT d.decided_on FROM assurance_decision d WHERE d.recommendation_id = recommendation.id
        ) AS events)""",
)


def load(url: str, tables: Tables) -> dict[str, float]:
    """Insert every row; returns seconds per table."""
    engine = create_engine(normalise_database_url(url), poolclass=NullPool)
    present = _existing_columns(engine)
    missing = [t for t in ("organisation", "report", "recommendation", "progress_update") if t not in present]
    if missing:
        raise SystemExit(f"generate: the database is not migrated (no {', '.join(missing)} table)")
    timings: dict[str, float] = {}
    try:
        with engine.connect() as connection:
            sqlite = engine.dialect.name == "sqlite"
            if sqlite:
                connection.exec_driver_sql("PRAGMA synchronous=OFF")
            if connection.scalar(select(func.count()).select_from(text("report"))):
                raise SystemExit(
                    "generate: the database already has reports; give an empty, migrated database"
                )
            connection.rollback()
            with connection.begin():
                for table in TABLE_ORDER:
                    rows = tables.rows[table]
                    if table not in present:
                        if rows and table not in ("assurance_decision", "target_date_revision"):
                            raise SystemExit(f"generate: table {table} is missing")
                        continue  # optional tables of a newer schema
                    if not rows:
                        continue
                    columns, projected = _project(table, tables.columns[table], rows, present[table])
                    started = time.perf_counter()
                    (_insert_sqlite if sqlite else _insert_postgresql)(connection, table, columns, projected)
                    timings[table] = round(time.perf_counter() - started, 3)
                if "last_reported_on" in present.get("recommendation_owner", set()):
                    started = time.perf_counter()
                    for statement in EVENT_DATE_BACKFILL:
                        connection.exec_driver_sql(statement)
                    timings["_event_dates"] = round(time.perf_counter() - started, 3)
                if "recommendation_tally" in present:
                    # The counts the services keep in step, counted here as the migration does.
                    started = time.perf_counter()
                    tallies.rebuild(connection)
                    timings["_tallies"] = round(time.perf_counter() - started, 3)
                if not sqlite:
                    for table in TABLE_ORDER:
                        if table in present and "id" in present[table]:
                            connection.exec_driver_sql(
                                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                f'coalesce((SELECT max(id) FROM "{table}"), 0) + 1, false)'
                            )
        started = time.perf_counter()
        if engine.dialect.name == "postgresql":
            # What autovacuum would have done by the time a portfolio this size exists.
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql("VACUUM ANALYZE")
        else:
            # The application never runs ANALYZE on SQLite, so neither do we; just fold the WAL in.
            with engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        timings["_finish"] = round(time.perf_counter() - started, 3)
    finally:
        engine.dispose()
    return timings


INVARIANT_QUERIES = {
    "owner status is not its latest update's": """
        SELECT count(*) FROM recommendation_owner o
        WHERE o.status <> coalesce((
            SELECT u.status FROM progress_update u
            WHERE u.recommendation_id = o.recommendation_id AND u.organisation_id = o.organisation_id
            ORDER BY u.reported_on DESC, u.id DESC LIMIT 1), 'not_started')""",
    "open recommendation status is not the least advanced owner's": """
        SELECT count(*) FROM recommendation r
        WHERE r.status NOT IN ('verified', 'closed_not_implemented')
          AND r.status <> coalesce((
            SELECT CASE min(CASE o.status WHEN 'not_started' THEN 0 WHEN 'in_progress' THEN 1 ELSE 2 END)
                   WHEN 0 THEN 'not_started' WHEN 1 THEN 'in_progress' ELSE 'implemented' END
            FROM recommendation_owner o WHERE o.recommendation_id = r.id), 'not_started')""",
    "implemented owner without evidence": """
        SELECT count(*) FROM recommendation_owner o
        WHERE o.status = 'implemented' AND NOT EXISTS (
            SELECT 1 FROM evidence_link e
            WHERE e.recommendation_id = o.recommendation_id AND e.organisation_id = o.organisation_id)""",
    "due date is not target date or action-plan due date": """
        SELECT count(*) FROM recommendation r JOIN report p ON p.id = r.report_id
        WHERE r.due_date <> coalesce(r.target_date, p.action_plan_due_date)""",
    "progress reported on or after TODAY": f"""
        SELECT count(*) FROM progress_update WHERE reported_on >= '{TODAY.isoformat()}'""",
    "evidence that is not http(s)": """
        SELECT count(*) FROM evidence_link WHERE url NOT LIKE 'http://%' AND url NOT LIKE 'https://%'""",
    "duplicate organisation codes": """
        SELECT count(*) - count(DISTINCT lower(code)) FROM organisation""",
}


def check(url: str) -> dict[str, int]:
    """Rows breaking each invariant (all zero for a generated portfolio, before any write)."""
    engine = create_engine(normalise_database_url(url), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return {
                name: connection.execute(text(sql)).scalar_one() for name, sql in INVARIANT_QUERIES.items()
            }
    finally:
        engine.dispose()


def generate(url: str, scale: Scale, seed: int = 20261101, migrate: bool = True) -> Manifest:
    from app.db.migrations import upgrade

    timings: dict[str, float] = {}
    started = time.perf_counter()
    if migrate:
        upgrade(url)
    timings["migrate"] = round(time.perf_counter() - started, 3)
    started = time.perf_counter()
    tables, info = build(scale, seed)
    timings["build"] = round(time.perf_counter() - started, 3)
    started = time.perf_counter()
    per_table = load(url, tables)
    timings["insert"] = round(time.perf_counter() - started, 3)
    timings.update({f"insert.{k}": v for k, v in per_table.items()})
    timings["total"] = round(timings["migrate"] + timings["build"] + timings["insert"], 3)
    return Manifest(
        scale=scale.name,
        seed=seed,
        generator_version=GENERATOR_VERSION,
        today=TODAY.isoformat(),
        counts={name: len(rows) for name, rows in tables.rows.items()},
        timings=timings,
        **info,
    )


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", required=True, help="database URL (empty; migrated here)")
    parser.add_argument("--scale", choices=list(SCALES), default="S")
    parser.add_argument("--seed", type=int, default=20261101)
    parser.add_argument("--manifest", type=Path, help="write the manifest (JSON) here")
    parser.add_argument("--no-migrate", action="store_true", help="the database is already migrated")
    parser.add_argument(
        "--check", action="store_true", help="only check the invariants of a generated database"
    )
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.check:
        broken = check(args.url)
        print(json.dumps(broken, indent=2))
        return 1 if any(broken.values()) else 0
    manifest = generate(args.url, SCALES[args.scale], args.seed, migrate=not args.no_migrate)
    summary = {k: v for k, v in asdict(manifest).items() if k in ("scale", "counts", "timings")}
    print(json.dumps(summary, indent=2), file=sys.stderr)
    if args.manifest:
        args.manifest.parent.mkdir(parents=True, exist_ok=True)
        args.manifest.write_text(json.dumps(asdict(manifest)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
