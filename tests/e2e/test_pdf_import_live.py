"""A real server keeps answering while it reads a PDF: extraction runs in a child process, off the event loop."""

import threading
import time
from pathlib import Path

import httpx

URL = "/api/v1/reports/import"


def _extraction_children(server_pid: int) -> list[int]:
    """Ids of the server's children reading a PDF (python -m app.importer.pdf_text)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == server_pid and b"app.importer.pdf_text" in command:
            found.append(int(entry.name))
    return found


def test_other_requests_are_answered_while_a_pdf_is_read(live_server, report_pdfs):
    data = report_pdfs["kirklees"].data
    answer: dict = {}

    def upload() -> None:
        with httpx.Client(timeout=120) as client:
            answer["response"] = client.post(
                live_server.url(URL),
                content=data,
                headers={**live_server.headers, "Content-Type": "application/pdf"},
                params={"dry_run": "true"},
            )

    uploader = threading.Thread(target=upload)
    uploader.start()
    answered_during_extraction = 0
    with httpx.Client(timeout=30, headers=live_server.headers) as client:
        for _ in range(2000):  # bounded: until the PDF has been read
            if not uploader.is_alive():
                break
            if not _extraction_children(live_server.process.pid):
                time.sleep(0.005)
                continue
            response = client.get(live_server.url("/api/v1/reports"))
            assert response.status_code == 200, response.text
            if _extraction_children(live_server.process.pid):  # still reading after the answer came
                answered_during_extraction += 1
    uploader.join(timeout=120)
    response = answer["response"]
    assert response.status_code == 200, response.text
    assert response.json()["outcome"] == "unchanged"  # the server's database was seeded
    assert answered_during_extraction >= 3, live_server.log()
    assert _extraction_children(live_server.process.pid) == []  # no child outlives its request
