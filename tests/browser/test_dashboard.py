"""The dashboard and the API docs in Chromium, against a real server on a seeded database."""

import re

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.conftest import LiveServer

CSP_START = "default-src 'self'"


def _secure_headers(headers: dict[str, str]) -> None:
    csp = headers["content-security-policy"]
    assert csp.startswith(CSP_START), csp
    assert "frame-ancestors 'none'" in csp, csp
    assert "script-src" not in csp and "'unsafe-eval'" not in csp, csp  # scripts: 'self' only
    assert headers["x-content-type-options"] == "nosniff"


def test_sign_in_with_a_key_and_see_the_kirklees_review(page: Page, live_server: LiveServer, api_key: str):
    response = page.goto(live_server.url("/"))
    assert page.url == live_server.url("/sign-in?next=%2F")
    _secure_headers(response.headers)
    page.get_by_label("API key").fill("rtk_00000000_wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not valid")
    page.get_by_label("API key").fill(api_key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Portfolio", level=1)).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("Safeguarding in Kirklees"))).to_be_visible()
    expect(page.get_by_text("Signed in as")).to_contain_text("e2e tests")


def test_a_report_as_of_6_june_2018_shows_all_25_overdue(signed_in: Page):
    page = signed_in
    page.get_by_role("link", name=re.compile("Safeguarding in Kirklees")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Kirklees")
    page.get_by_label("Figures as of").fill("2018-06-06")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"/reports/\d+\?as_of=2018-06-06$"))
    expect(page.locator("#overdue-count")).to_have_text("25")
    rows = page.locator("table#recommendations tbody tr")
    expect(rows).to_have_count(25)
    expect(page.locator("table#recommendations .rag", has_text="Red")).to_have_count(25)
    expect(page.locator("#action-plan-state")).to_contain_text("Overdue")


def test_open_a_recommendation_then_sign_out(signed_in: Page, live_server: LiveServer):
    page = signed_in
    page.get_by_role("link", name=re.compile("Safeguarding in Kirklees")).click()
    page.get_by_role("link", name="1.1", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Recommendation 1.1")
    expect(page.get_by_role("heading", name="Progress by owner")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(live_server.url("/sign-in"))
    page.goto(live_server.url("/reports/1"))
    expect(page).to_have_url(re.compile(r"/sign-in\?next="))


def test_a_mistyped_address_shows_an_error_page_with_a_way_back(signed_in: Page, live_server: LiveServer):
    page = signed_in
    for address, heading in (("/reports/kirklees", "Not found"), ("/no-such-page", "Not found")):
        response = page.goto(live_server.url(address))
        assert response.status == 404
        assert response.headers["content-type"].startswith("text/html")
        _secure_headers(response.headers)
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        expect(page.get_by_role("alert")).to_contain_text(f"There is no resource at {address}.")
    page.get_by_role("link", name="Back to the portfolio").click()
    expect(page.get_by_role("heading", name="Portfolio", level=1)).to_be_visible()


def test_every_page_sends_its_security_headers_and_breaks_no_rule_of_them(
    signed_in: Page, live_server: LiveServer
):
    page = signed_in
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    for path in ("/", "/reports/1", "/organisations/1", "/recommendations/1", "/sign-in", "/docs"):
        response = page.goto(live_server.url(path))
        assert response.status == 200, path
        _secure_headers(response.headers)
    page.wait_for_selector(".opblock")
    assert refused == []


def test_swagger_ui_authorizes_with_the_key_and_tries_a_get_and_a_post(
    page: Page, live_server: LiveServer, api_key: str
):
    page.goto(live_server.url("/docs"))
    expect(page.locator(".opblock").first).to_be_visible()
    assert page.locator(".opblock").count() > 20
    page.locator("button.authorize").click()
    page.locator(".modal-ux input[type=text], .modal-ux input[type=password]").first.fill(api_key)
    page.locator(".modal-ux .auth-btn-wrapper button.authorize").click()
    expect(page.locator(".modal-ux")).to_contain_text("Authorized")
    page.locator(".modal-ux .auth-btn-wrapper button.btn-done").click()

    summary = page.locator("#operations-summaries-portfolio_summary")
    summary.locator(".opblock-summary").click()
    summary.get_by_role("button", name="Try it out").click()
    summary.get_by_role("button", name="Execute").click()
    expect(summary.locator(".live-responses-table tr.response .response-col_status").first).to_have_text(
        "200"
    )
    expect(summary.locator(".live-responses-table .microlight").first).to_contain_text('"reports": 1')

    page.reload()  # persistAuthorization: the key is still there
    expect(page.locator(".opblock").first).to_be_visible()
    create = page.locator("#operations-organisations-create_organisation")
    create.locator(".opblock-summary").click()
    create.get_by_role("button", name="Try it out").click()
    create.locator("textarea.body-param__text").fill(
        '{"code": "TRYIT", "name": "Tried in the docs", "kind": "other"}'
    )
    create.get_by_role("button", name="Execute").click()
    expect(create.locator(".live-responses-table tr.response .response-col_status").first).to_have_text("201")


def test_redoc_renders_the_operations(page: Page, live_server: LiveServer):
    response = page.goto(live_server.url("/redoc"))
    _secure_headers(response.headers)
    expect(page.get_by_role("heading", name=re.compile("^rectrack"))).to_be_visible()
    expect(page.get_by_text("The whole portfolio as of a date").first).to_be_attached()


def test_the_keyboard_alone_changes_the_date(signed_in: Page):
    page = signed_in
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to the main content")).to_be_focused()
    page.get_by_label("Figures as of").focus()
    page.keyboard.type("06062018")  # a date field takes the day, month and year typed in turn
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/\?as_of=2018-06-06$"))
    expect(page.locator("#reports tbody tr").first).to_contain_text("Overdue")


def test_a_past_date_marks_the_progress_reported_after_it(signed_in: Page, live_server: LiveServer):
    page = signed_in
    recommendations = httpx.get(
        live_server.url("/api/v1/recommendations"), params={"limit": 100}, headers=live_server.headers
    ).json()["items"]
    first = next(r for r in recommendations if r["ref"] == "1.1")
    posted = httpx.post(
        live_server.url(f"/api/v1/recommendations/{first['id']}/progress-updates"),
        json={
            "author": "Safeguarding lead",
            "narrative": "Legibility audit booked.",
            "status": "in_progress",
            "organisation_code": "MYHT",
            "reported_on": "2019-03-01",
        },
        headers=live_server.headers,
    )
    assert posted.status_code == 201, posted.text
    page.goto(live_server.url(f"/recommendations/{first['id']}"))
    row = page.locator("table.progress tr", has_text="Legibility audit booked.")
    expect(row).to_be_visible()
    expect(row.locator(".later")).to_have_count(0)  # today: nothing is after the date shown
    page.get_by_label("Figures as of").fill("2019-01-01")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"\?as_of=2019-01-01$"))
    expect(row.locator(".later")).to_have_text("after 1 January 2019")
    expect(page.get_by_role("heading", name=re.compile(r"\(MYHT\)"))).to_contain_text("Not started")
