"""Action-plan rows and formula-injection safety: pure, no database."""

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from types import SimpleNamespace

import pytest
from openpyxl import load_workbook

from app.domain.spreadsheet import (
    ACTION_PLAN_COLUMNS,
    HEADERS,
    NO_ACTIVITY,
    CellKind,
    OwnerActivity,
    action_plan_rows,
    report_details,
    safe_text,
    typed_cell,
)
from app.domain.status import OwnerStatus, Status
from app.services.exports import render_csv, render_xlsx


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('=HYPERLINK("https://evil.example","Click")', '\'=HYPERLINK("https://evil.example","Click")'),
        ("+1", "'+1"),
        ("-2", "'-2"),
        ("@SUM(1)", "'@SUM(1)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("\uff1d1+1", "'\uff1d1+1"),  # a full-width equals sign
        ("=", "'="),
        ("'=already quoted", "'=already quoted"),
        ("Ensure that =this= is fine", "Ensure that =this= is fine"),
        ("4.8", "4.8"),
        ("", ""),
        (None, ""),
        (" =1+1", " =1+1"),
        ("Line one\nLine two", "Line one\nLine two"),
    ],
)
def test_text_that_could_run_as_a_formula_gets_a_leading_quote(text, expected):
    assert safe_text(text) == expected


def test_unrepresentable_control_characters_go_before_the_check():
    # Removing \x01 afterwards would leave a bare formula.
    assert safe_text("\x01=1+1") == "'=1+1"
    assert safe_text("a\x00b\x1fc\x0bd") == "abcd"
    assert safe_text("tab\there") == "tab\there"


def test_enums_become_their_values():
    assert safe_text(Status.IN_PROGRESS) == "in_progress"


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        (CellKind.DATE, date(2018, 6, 4), date(2018, 6, 4)),
        (CellKind.DATE, None, None),
        (CellKind.INTEGER, 0, 0),
        (CellKind.INTEGER, -2, -2),  # a typed number is never neutralised
        (CellKind.INTEGER, None, None),
        (CellKind.TEXT, "-2", "'-2"),
        (CellKind.TEXT, None, ""),
    ],
)
def test_typed_cells(kind, value, expected):
    assert typed_cell(kind, value) == expected
    assert type(typed_cell(kind, value)) is type(expected)


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        (CellKind.DATE, "=2018-06-04"),
        (CellKind.DATE, 20180604),
        (CellKind.INTEGER, "=1+1"),
        (CellKind.INTEGER, 1.5),
        (CellKind.INTEGER, True),
    ],
)
def test_date_and_number_cells_refuse_anything_else(kind, value):
    with pytest.raises(TypeError):
        typed_cell(kind, value)


@dataclass
class Owner:
    organisation_id: int
    code: str
    name: str
    status: str = OwnerStatus.NOT_STARTED


@dataclass
class View:
    id: int
    ref: str
    text: str = "Ensure that practitioners are trained."
    status: str = Status.NOT_STARTED
    owners: list[Owner] = field(default_factory=list)
    target_date: date | None = None
    effective_due_date: date = date(2018, 6, 4)
    days_overdue: int = 28
    working_days_overdue: int = 20
    rag: str = "red"


def test_one_row_per_recommendation_and_owner_in_order():
    views = [
        View(1, "1.1", owners=[Owner(10, "MYHT", "Mid Yorkshire", OwnerStatus.IN_PROGRESS)]),
        View(
            2,
            "6.1",
            status=Status.IN_PROGRESS,
            owners=[
                Owner(11, "SWYPFT", "South West Yorkshire", OwnerStatus.IN_PROGRESS),
                Owner(12, "CHFT", "Calderdale and Huddersfield", OwnerStatus.IMPLEMENTED),
                Owner(10, "MYHT", "Mid Yorkshire", OwnerStatus.IN_PROGRESS),
            ],
            target_date=date(2018, 9, 28),
            effective_due_date=date(2018, 9, 28),
            days_overdue=0,
            working_days_overdue=0,
            rag="green",
        ),
    ]
    activity = {
        (1, 10): OwnerActivity(last_update=date(2018, 6, 1), evidence_links=0),
        (2, 12): OwnerActivity(last_update=date(2018, 6, 10), evidence_links=2),
    }
    rows = list(action_plan_rows(views, activity))
    assert [(r[0], r[2]) for r in rows] == [
        ("1.1", "MYHT"),
        ("6.1", "SWYPFT"),
        ("6.1", "CHFT"),
        ("6.1", "MYHT"),
    ]
    as_dicts = [dict(zip(HEADERS, r, strict=True)) for r in rows]
    assert as_dicts[0] == {
        "Reference": "1.1",
        "Recommendation": "Ensure that practitioners are trained.",
        "Owner": "MYHT",
        "Owner name": "Mid Yorkshire",
        "Owner status": "in_progress",
        "Recommendation status": "not_started",
        "Target date": None,
        "Effective due date": date(2018, 6, 4),
        "Days overdue": 28,
        "Working days overdue": 20,
        "RAG": "red",
        "Last update": date(2018, 6, 1),
        "Evidence links": 0,
    }
    chft = as_dicts[2]
    assert chft["Owner status"] == "implemented" and chft["Recommendation status"] == "in_progress"
    assert chft["Last update"] == date(2018, 6, 10) and chft["Evidence links"] == 2
    assert chft["Target date"] == date(2018, 9, 28)
    # An owner with no activity: blank last update, no evidence.
    assert as_dicts[1]["Last update"] is None and as_dicts[1]["Evidence links"] == 0


def test_a_recommendation_without_owners_still_has_its_row():
    (row,) = action_plan_rows([View(3, "9.9")], {})
    cells = dict(zip(HEADERS, row, strict=True))
    assert cells["Reference"] == "9.9" and cells["Owner"] == "" and cells["Evidence links"] is None
    assert cells["Effective due date"] == date(2018, 6, 4)


def test_every_text_of_a_row_is_neutralised_and_no_typed_cell_is():
    hostile = View(
        4,
        "1.1",
        text='=HYPERLINK("https://evil.example","x")',
        owners=[Owner(1, "-X", "@Evil Trust", OwnerStatus.NOT_STARTED)],
        days_overdue=3,
    )
    (row,) = action_plan_rows([hostile], {(4, 1): OwnerActivity(date(2018, 6, 1), 1)})
    for column, cell in zip(ACTION_PLAN_COLUMNS, row, strict=True):
        if column.kind is CellKind.TEXT:
            assert isinstance(cell, str) and not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
        else:
            assert cell is None or isinstance(cell, date | int)
    assert row[1].startswith("'=HYPERLINK") and row[2] == "'-X" and row[3] == "'@Evil Trust"


def test_report_details_are_typed_and_neutralised():
    details = dict(
        report_details(
            title="=cmd|' /C calc'!A0",
            slug="kirklees-clas-2018",
            regulator="Care Quality Commission",
            as_of=date(2018, 6, 5),
            action_plan_due_date=date(2018, 6, 4),
            rows=43,
        )
    )
    assert details["Report"] == "'=cmd|' /C calc'!A0"
    assert details["As of"] == date(2018, 6, 5) and details["Rows"] == 43


def test_csv_has_a_bom_crlf_and_neutralised_text_only():
    rows = list(
        action_plan_rows(
            [
                View(
                    5,
                    "2.1",
                    text='-2 "quoted", with commas\nand a new line',
                    owners=[Owner(1, "Locala", "Locala")],
                )
            ],
            {(5, 1): OwnerActivity(date(2018, 6, 1), 3)},
        )
    )
    body = render_csv(rows)
    assert body.startswith(b"\xef\xbb\xbf")
    text = body.decode("utf-8-sig")
    assert text.endswith("\r\n") and text.split("\r\n", 1)[0] == ",".join(HEADERS)
    header, record = list(csv.reader(io.StringIO(text, newline="")))
    assert header == list(HEADERS)
    cells = dict(zip(header, record, strict=True))
    assert cells["Recommendation"] == '\'-2 "quoted", with commas\nand a new line'
    assert cells["Effective due date"] == "2018-06-04" and cells["Last update"] == "2018-06-01"
    assert cells["Days overdue"] == "28" and cells["Evidence links"] == "3" and cells["Target date"] == ""


def test_xlsx_cells_are_typed_and_text_never_a_formula():
    report = SimpleNamespace(
        title="+Report", slug="r", regulator="CQC", action_plan_due_date=date(2018, 6, 4)
    )
    as_of = SimpleNamespace(day=date(2018, 7, 2))
    rows = list(
        action_plan_rows(
            [View(6, "1.1", text="@SUM(1)", owners=[Owner(1, "MYHT", "Mid Yorkshire")])],
            {(6, 1): NO_ACTIVITY},
        )
    )
    workbook = load_workbook(io.BytesIO(render_xlsx(report, as_of, rows)))
    sheet = workbook["Action plan"]
    assert [c.value for c in sheet[1]] == list(HEADERS)
    data = sheet[2]
    assert data[1].value == "'@SUM(1)" and data[1].data_type == "s"
    assert (
        isinstance(data[7].value, datetime) and data[7].is_date and data[7].value.date() == date(2018, 6, 4)
    )
    assert data[8].value == 28 and data[8].data_type == "n"
    about = {row[0].value: row[1].value for row in workbook["About"].iter_rows()}
    assert about["Report"] == "'+Report" and about["As of"].date() == date(2018, 7, 2)
