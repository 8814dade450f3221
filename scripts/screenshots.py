"""Regenerate docs/screenshots/portfolio.png and report.png (``make screenshots``).

Serves the Kirklees review from a new, seeded SQLite database in a temporary folder,
signs in as CHFT's editor in headless Chromium (Debian's, as the browser tests use) and
photographs the portfolio and the report pages for fixed dates, so the pictures change
only when the pages do.
"""

import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
OUT = ROOT / "docs" / "screenshots"
CHROMIUM = os.environ.get("RECTRACK_CHROMIUM", "/usr/bin/chromium")
HOST = "127.0.0.1"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = [
    ("portfolio.png", "/?as_of=2018-07-02", True),
    ("report.png", "/reports/1?as_of=2018-06-06", False),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _run(env: dict[str, str], *args: str) -> str:
    return subprocess.run(
        [str(BIN / "rectrack"), *args], env=env, cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout


def _wait_until_ready(base_url: str, server: subprocess.Popen) -> None:
    for _ in range(600):
        if server.poll() is not None:
            raise SystemExit("the server stopped before it was ready")
        try:
            if httpx.get(base_url + "/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit("the server did not become ready")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RECTRACK_")}
        env.update(
            RECTRACK_DATABASE_URL=f"sqlite:///{folder}/screenshots.db",
            RECTRACK_SECRET_KEY=secrets.token_urlsafe(32),
            RECTRACK_LOG_LEVEL="warning",
        )
        _run(env, "migrate")
        _run(env, "seed")
        editor = ["--role", "editor", "--organisation", "CHFT", "--name", "CHFT safeguarding team"]
        key = _run(env, "keys", "create", *editor)
        port = _free_port()
        base_url = f"http://{HOST}:{port}"
        server = subprocess.Popen(
            [str(BIN / "uvicorn"), "app.main:app", "--host", HOST, "--port", str(port), "--no-access-log"],
            env=env,
            cwd=ROOT,
        )
        try:
            _wait_until_ready(base_url, server)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
                page = browser.new_page(viewport={"width": 1280, "height": 1400}, locale="en-GB")
                here = base_url + "/"
                page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(here) else r.abort())
                page.goto(base_url + "/sign-in")
                page.get_by_label("API key").fill(key.strip())
                page.get_by_role("button", name="Sign in").click()
                page.get_by_role("heading", name="Portfolio", level=1).wait_for()
                for name, path, full_page in SHOTS:
                    page.goto(base_url + path)
                    page.screenshot(path=OUT / name, full_page=full_page)
                    print(f"wrote {OUT.relative_to(ROOT) / name}")
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()
