"""The dashboard's pages and its sign-in, through the application as create_app builds it.

Browsers sign in with a key and get a session cookie; API clients still send the key in
Authorization and get problem documents. The browser tests (tests/e2e/test_browser.py) drive
the same pages in Chromium.
"""

import re
from datetime import timedelta
from http.cookies import SimpleCookie

import pytest

from app.clock import FixedClock
from app.services import sessions

API = "/api/v1"
CSP = "default-src 'self'; frame-ancestors 'none'"


@pytest.fixture
def browser(served):
    """A caller without a key that keeps its cookies and does not follow redirects, like a
    browser before it signs in."""
    served.follow_redirects = False
    return served


def _sign_in_token(browser) -> str:
    page = browser.get("/sign-in")
    assert page.status_code == 200
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def sign_in(browser, key: str, *, next_path: str = "/"):
    token = _sign_in_token(browser)
    return browser.post("/sign-in", data={"api_key": key, "csrf_token": token, "next": next_path})


def _set_cookie(response, name: str) -> SimpleCookie:
    for header in response.headers.get_list("set-cookie"):
        cookie = SimpleCookie()
        cookie.load(header)
        if name in cookie:
            return cookie[name]
    raise AssertionError(f"no Set-Cookie for {name}: {response.headers.get_list('set-cookie')}")


def _is_html_page(response):
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-security-policy"].startswith(CSP)
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"


def test_a_browser_without_a_session_is_sent_to_sign_in_and_an_api_client_gets_401(browser, seeded, problem):
    response = browser.get("/reports/1?as_of=2018-06-06")
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=%2Freports%2F1%3Fas_of%3D2018-06-06"
    problem(browser.get(f"{API}/reports"), 401, code="key_required")


def test_signing_in_sets_a_strict_http_only_expiring_cookie_and_goes_back(
    browser, make_key, kirklees, settings
):
    report_page = f"/reports/{kirklees['report']['id']}"
    response = sign_in(browser, make_key("viewer"), next_path=report_page)
    assert response.status_code == 303
    assert response.headers["location"] == report_page
    cookie = _set_cookie(response, sessions.SESSION_COOKIE)
    assert cookie["httponly"] is True
    assert cookie["samesite"].lower() == "strict"
    assert not cookie["secure"]  # plain http here: a Secure cookie would never come back
    assert int(cookie["max-age"]) == settings.session_hours * 3600
    page = browser.get(report_page)
    assert page.status_code == 200
    _is_html_page(page)
    assert "Kirklees" in page.text


@pytest.mark.parametrize(
    "base_url, trust, forwarded, secure",
    [
        ("https://testserver", False, None, True),
        ("http://testserver", False, "https", False),  # not trusted unless the operator says so
        ("http://testserver", True, "https", True),
        ("https://testserver", True, "http", False),
    ],
)
def test_the_cookie_is_secure_behind_https(
    app, browser, settings, make_key, seeded, base_url, trust, forwarded, secure
):
    app.state.settings = settings.model_copy(update={"trust_forwarded_proto": trust})
    browser.base_url = base_url
    browser.headers.update({"X-Forwarded-Proto": forwarded} if forwarded else {})
    form = browser.get("/sign-in")
    # The form's own cookie is Secure here too; the browser behind the proxy would send it.
    held = _set_cookie(form, "rectrack_sign_in")
    assert bool(held["secure"]) is secure
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    response = browser.post(
        "/sign-in",
        data={"api_key": make_key("viewer"), "csrf_token": token, "next": "/"},
        headers={"Cookie": f"rectrack_sign_in={held.value}"},
    )
    assert response.status_code == 303
    assert bool(_set_cookie(response, sessions.SESSION_COOKIE)["secure"]) is secure


def test_a_wrong_key_or_a_form_from_elsewhere_signs_nobody_in(browser, make_key, seeded):
    wrong = sign_in(browser, "rtk_00000000_not-a-key")
    assert wrong.status_code == 401
    _is_html_page(wrong)
    assert "not valid" in wrong.text
    key = make_key("viewer")
    forged = browser.post("/sign-in", data={"api_key": key, "csrf_token": "guessed", "next": "/"})
    assert forged.status_code == 403
    assert sessions.SESSION_COOKIE not in forged.headers.get("set-cookie", "")
    assert browser.get("/").status_code == 303


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example", "reports"])
def test_sign_in_only_goes_back_to_this_site(browser, make_key, seeded, target):
    response = sign_in(browser, make_key("viewer"), next_path=target)
    assert response.headers["location"] == "/"


def test_a_tampered_cookie_is_no_session(browser, make_key, seeded, problem):
    sign_in(browser, make_key("viewer"))
    token = browser.cookies[sessions.SESSION_COOKIE]
    payload, signature = token.split(".")
    browser.cookies.set(sessions.SESSION_COOKIE, f"{payload}x.{signature}")
    assert browser.get("/").status_code == 303
    problem(browser.get(f"{API}/summary"), 401)


def test_a_session_ends_when_it_expires(app, browser, make_key, seeded, clock, settings):
    sign_in(browser, make_key("viewer"))
    app.state.clock = FixedClock(
        at=clock.now() + timedelta(hours=settings.session_hours) - timedelta(seconds=1)
    )
    assert browser.get("/").status_code == 200
    app.state.clock = FixedClock(at=clock.now() + timedelta(hours=settings.session_hours))
    assert browser.get("/").status_code == 303


def test_revoking_the_key_ends_its_sessions(client, browser, make_key, seeded, problem):
    key = make_key("viewer")
    sign_in(browser, key)
    assert browser.get("/").status_code == 200
    assert browser.get(f"{API}/summary").status_code == 200
    listed = client.get(f"{API}/keys", params={"limit": 200}).json()["items"]
    key_id = next(k["id"] for k in listed if key.startswith(k["prefix"]))
    assert client.post(f"{API}/keys/{key_id}/revoke").status_code == 200
    assert browser.get("/").status_code == 303
    problem(browser.get(f"{API}/summary"), 401)


def test_a_session_reads_the_api_but_never_writes_through_it(browser, make_key, seeded, problem):
    sign_in(browser, make_key("admin"))
    assert browser.get(f"{API}/organisations").status_code == 200
    created = browser.post(f"{API}/organisations", json={"code": "NEW", "name": "New", "kind": "other"})
    problem(created, 401, code="key_required")


def test_signing_out_needs_the_page_s_token_and_ends_the_session(browser, make_key, seeded):
    sign_in(browser, make_key("viewer"))
    page = browser.get("/")
    token = re.search(r'action="/sign-out".*?name="csrf_token" value="([^"]+)"', page.text, re.S).group(1)
    refused = browser.post("/sign-out", data={"csrf_token": "not-it"})
    assert refused.status_code == 403
    assert browser.get("/").status_code == 200
    done = browser.post("/sign-out", data={"csrf_token": token})
    assert done.status_code == 303 and done.headers["location"] == "/sign-in"
    assert _set_cookie(done, sessions.SESSION_COOKIE)["max-age"] == "0"
    assert browser.get("/").status_code == 303


def test_anonymous_reads_open_the_dashboard_without_signing_in(app, browser, settings, kirklees):
    app.state.settings = settings.model_copy(update={"anonymous_reads": True})
    page = browser.get("/")
    assert page.status_code == 200
    assert "Reading without signing in" in page.text
    assert browser.get(f"/reports/{kirklees['report']['id']}").status_code == 200


def test_pages_show_the_figures_for_the_date_asked(browser, make_key, kirklees):
    sign_in(browser, make_key("viewer"))
    report_page = f"/reports/{kirklees['report']['id']}"
    before = browser.get(report_page, params={"as_of": "2018-06-05"})
    after = browser.get(report_page, params={"as_of": "2018-06-06"})
    assert re.search(r'id="overdue-count">0<', before.text)
    assert re.search(r'id="overdue-count">25<', after.text)
    assert after.text.count('class="rag rag-red">Red<') == 25  # RAG in words, not colour alone
    first = kirklees["recommendations"]["1.1"]["id"]
    assert f'href="/recommendations/{first}?as_of=2018-06-06"' in after.text  # links keep the date


def test_an_editor_sees_its_own_organisation_s_items_marked(browser, make_key, seeded, kirklees):
    sign_in(browser, make_key("editor", "CHFT"))
    page = browser.get(f"/reports/{kirklees['report']['id']}")
    owned = sorted(
        ref for ref, r in kirklees["recommendations"].items() if "CHFT" in {o["code"] for o in r["owners"]}
    )
    marked = re.findall(
        r'<tr class="mine">\s*<th scope="row"><a href="/recommendations/\d+">([\d.]+)</a>', page.text
    )
    assert sorted(marked) == owned and owned


def test_every_page_renders_for_a_signed_in_viewer(browser, make_key, seeded, kirklees):
    sign_in(browser, make_key("viewer"))
    recommendation = kirklees["recommendations"]["3.1"]
    owner = recommendation["owners"][0]
    for path, expected in [
        ("/", "Portfolio"),
        (f"/reports/{kirklees['report']['id']}", "How the action-plan deadline is counted"),
        (f"/organisations/{owner['organisation_id']}", owner["name"]),
        (f"/recommendations/{recommendation['id']}", recommendation["text"][:60]),
    ]:
        page = browser.get(path)
        assert page.status_code == 200, path
        _is_html_page(page)
        assert expected in page.text, path
        assert "<svg" in page.text or path.startswith("/recommendations"), path


def test_pages_answer_304_until_something_changes(browser, client, make_key, seeded, kirklees):
    sign_in(browser, make_key("viewer"))
    report_page = f"/reports/{kirklees['report']['id']}"
    first = browser.get(report_page)
    etag = first.headers["etag"]
    assert browser.get(report_page, headers={"If-None-Match": etag}).status_code == 304
    assert browser.get(f"{report_page}?as_of=2018-06-06", headers={"If-None-Match": etag}).status_code == 200
    recommendation = kirklees["recommendations"]["1.1"]
    written = client.post(
        f"{API}/recommendations/{recommendation['id']}/progress-updates",
        json={
            "organisation_code": recommendation["owners"][0]["code"],
            "author": "Lead",
            "narrative": "Started",
            "status": "in_progress",
            "reported_on": "2018-06-01",
        },
    )
    assert written.status_code == 201, written.text
    again = browser.get(report_page, headers={"If-None-Match": etag})
    assert again.status_code == 200 and again.headers["etag"] != etag


def test_missing_things_and_bad_dates_are_html_pages(browser, make_key, seeded):
    sign_in(browser, make_key("viewer"))
    missing = browser.get("/reports/2147483647")
    assert missing.status_code == 404
    _is_html_page(missing)
    bad = browser.get("/", params={"as_of": "2018-02-30"})
    assert bad.status_code == 422
    _is_html_page(bad)


BROWSER_ACCEPTS = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.mark.parametrize(
    ("method", "path", "status", "title", "says"),
    [
        ("GET", "/no-such-page", 404, "Not found", "There is no resource at /no-such-page."),
        ("GET", "/reports/abc", 404, "Not found", "There is no resource at /reports/abc."),  # no id
        ("GET", "/recommendations/0", 404, "Not found", "There is no resource at /recommendations/0."),
        (
            "GET",
            "/organisations/9999999999",
            404,
            "Not found",
            "There is no resource at /organisations/9999999999.",
        ),
        ("GET", "/?as_of=" + "9" * 41, 422, "Invalid request", "query.as_of"),  # too long for a date
        ("PUT", "/", 405, "Method not allowed", "PUT is not allowed on /."),
    ],
)
def test_a_browser_is_shown_an_error_page_where_no_page_answers(
    browser, make_key, seeded, method, path, status, title, says
):
    sign_in(browser, make_key("viewer"))
    response = browser.request(method, path, headers=BROWSER_ACCEPTS)
    assert response.status_code == status, response.text
    _is_html_page(response)
    assert says in response.text
    assert f"<h1>{title}</h1>" in response.text
    assert 'href="/"' in response.text  # a way back
    if status == 405:
        assert response.headers["allow"] == "GET, HEAD"


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/no-such-page", {}, 404),  # an API client asks for JSON, or for anything
        ("/reports/abc", {"Accept": "application/json"}, 422),
        (f"{API}/no-such-thing", BROWSER_ACCEPTS, 404),  # the API answers a browser as it answers anyone
        (f"{API}/reports/abc", BROWSER_ACCEPTS, 422),
    ],
)
def test_api_clients_and_the_api_itself_still_answer_with_problems(
    browser, make_key, seeded, problem, path, headers, status
):
    sign_in(browser, make_key("viewer"))
    problem(browser.get(path, headers=headers), status)


def test_docs_are_served_from_this_server(browser):
    for path in ("/docs", "/redoc"):
        page = browser.get(path)
        assert page.status_code == 200
        assert page.headers["content-security-policy"].startswith("default-src 'self';")
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert "script-src" not in page.headers["content-security-policy"]  # no inline script allowed
        assert page.headers["x-content-type-options"] == "nosniff"
        assert "://" not in page.text  # nothing from another host
        for asset in re.findall(r'(?:src|href)="(/[^"]+)"', page.text):
            fetched = browser.get(asset)
            assert fetched.status_code == 200, asset
            assert fetched.headers["x-content-type-options"] == "nosniff"


def test_html_routes_stay_out_of_the_openapi_document(browser):
    paths = browser.get("/openapi.json").json()["paths"]
    assert all(path.startswith(API) or path in ("/healthz", "/readyz", "/metrics") for path in paths)


def test_a_page_for_a_past_date_says_which_entries_came_after_it(browser, client, make_key, kirklees):
    rec = kirklees["recommendations"]["1.1"]
    update = {
        "author": "a",
        "narrative": "Audit booked.",
        "status": "in_progress",
        "organisation_code": "MYHT",
    }
    posted = client.post(
        f"{API}/recommendations/{rec['id']}/progress-updates", json={**update, "reported_on": "2018-06-20"}
    )
    assert posted.status_code == 201, posted.text
    sign_in(browser, make_key("viewer"))
    page = f"/recommendations/{rec['id']}"
    row = r'<td>20 June 2018( <span class="later">after ([^<]+)</span>)?</td>'
    assert re.search(row, browser.get(page, params={"as_of": "2018-06-19"}).text).group(2) == "19 June 2018"
    assert re.search(row, browser.get(page, params={"as_of": "2018-06-20"}).text).group(1) is None
    assert re.search(row, browser.get(page).text).group(1) is None  # today: nothing is later
